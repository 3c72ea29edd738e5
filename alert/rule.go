// Package alert evaluates alert rules over the readings stream: thresholds
// on raw values or window aggregates, rates of change and silence, with a
// state machine modelled on Prometheus' rules/alerting.go (pending, firing,
// resolved; for, keep_firing_for) plus a separate clear condition.
// Evaluation is a pure function of the clock and the inputs.
package alert

import (
	"fmt"
	"slices"
	"time"

	"github.com/kessel-city/kessel"
)

// Conditions a rule can test.
const (
	CondThreshold = "threshold" // the latest value
	CondMean      = "mean"      // mean over Window
	CondMax       = "max"       // max over Window
	CondMin       = "min"       // min over Window
	CondRate      = "rate"      // change over Window (latest minus oldest)
	CondSilence   = "silence"   // no reading for Silence
)

// Rule selects devices and says when their readings make an alert.
type Rule struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"`     // device kind; required
	Devices  []string `yaml:"devices"`  // scope: these devices only
	District string   `yaml:"district"` // scope: devices in this district
	Field    string   `yaml:"field"`    // not for silence

	Condition string        `yaml:"condition"`
	Op        string        `yaml:"op"` // >, >=, <, <=
	Threshold float64       `yaml:"threshold"`
	Window    time.Duration `yaml:"window"`
	Silence   time.Duration `yaml:"silence"`
	// Clear, when set, is the threshold the value must cross back over
	// before a firing alert resolves (hysteresis).
	Clear *float64 `yaml:"clear"`

	For           time.Duration     `yaml:"for"`
	KeepFiringFor time.Duration     `yaml:"keep_firing_for"`
	Severity      string            `yaml:"severity"`   // info, warning, critical
	Visibility    kessel.Visibility `yaml:"visibility"` // public or internal
	Labels        map[string]string `yaml:"labels"`
	Summary       string            `yaml:"summary"`
}

// Validate checks a rule and returns an EINVALID error naming the rule and
// the field at fault.
func (r *Rule) Validate() error {
	bad := func(field, format string, args ...any) error {
		return kessel.Errorf(kessel.EINVALID, "rule %q: %s: %s", r.ID, field, fmt.Sprintf(format, args...))
	}
	if !kessel.ValidDeviceID(r.ID) {
		return bad("id", "use 1-128 letters, digits, '.', '_', ':' or '-'")
	}
	if !kessel.ValidFieldName(r.Kind) {
		return bad("kind", "a device kind such as air_quality is required")
	}
	switch r.Condition {
	case CondThreshold, CondMean, CondMax, CondMin, CondRate:
		if !kessel.ValidFieldName(r.Field) {
			return bad("field", "a field name such as pm10 is required")
		}
		if !slices.Contains([]string{">", ">=", "<", "<="}, r.Op) {
			return bad("op", "use >, >=, < or <=, not %q", r.Op)
		}
		if r.Condition != CondThreshold && r.Window <= 0 {
			return bad("window", "%s needs a window such as 24h", r.Condition)
		}
		if r.Window > 7*24*time.Hour {
			return bad("window", "at most 7 days")
		}
	case CondSilence:
		if r.Silence <= 0 {
			return bad("silence", "a duration such as 30m is required")
		}
	default:
		return bad("condition", "use threshold, mean, max, min, rate or silence, not %q", r.Condition)
	}
	if r.For < 0 || r.KeepFiringFor < 0 {
		return bad("for", "durations must not be negative")
	}
	if r.Severity == "" {
		r.Severity = "warning"
	}
	if !slices.Contains([]string{"info", "warning", "critical"}, r.Severity) {
		return bad("severity", "use info, warning or critical, not %q", r.Severity)
	}
	if r.Visibility == "" {
		r.Visibility = kessel.Internal
	}
	if _, err := kessel.ParseVisibility(string(r.Visibility)); err != nil {
		return bad("visibility", "use public or internal")
	}
	for _, d := range r.Devices {
		if !kessel.ValidDeviceID(d) {
			return bad("devices", "%q is not a device id", d)
		}
	}
	return nil
}

// applies reports whether the rule covers a reading's device.
func (r *Rule) applies(rd *kessel.Reading) bool {
	return rd.Kind == r.Kind &&
		(len(r.Devices) == 0 || slices.Contains(r.Devices, rd.Device)) &&
		(r.District == "" || r.District == rd.District)
}

func compare(op string, v, t float64) bool {
	switch op {
	case ">":
		return v > t
	case ">=":
		return v >= t
	case "<":
		return v < t
	case "<=":
		return v <= t
	}
	return false
}

// cleared reports whether value v has crossed back over the rule's clear
// threshold (or, without one, whether the condition no longer holds).
func (r *Rule) cleared(v float64, holds bool) bool {
	if r.Clear == nil {
		return !holds
	}
	switch r.Op {
	case ">", ">=":
		return v < *r.Clear
	default:
		return v > *r.Clear
	}
}

// Step advances an alert given whether its condition holds and whether it
// is cleared at time now. It is pure. notify is true on the transitions
// people are told about: to firing, and firing to resolved.
func Step(a kessel.Alert, r *Rule, holds, cleared bool, value float64, now time.Time) (next kessel.Alert, notify bool) {
	a.Value = value
	if holds {
		a.LastTrue = now
		a.KeepFiringSince = time.Time{}
	}
	switch a.State {
	case kessel.Inactive:
		if !holds {
			return a, false
		}
		a.State, a.ActiveAt, a.ResolvedAt, a.FiredAt = kessel.Pending, now, time.Time{}, time.Time{}
		a.AckedBy, a.AckedAt = "", time.Time{}
		fallthrough
	case kessel.Pending:
		if !holds {
			a.State = kessel.Inactive // never fired: nobody is told
			return a, false
		}
		if now.Sub(a.ActiveAt) >= r.For {
			a.State, a.FiredAt = kessel.Firing, now
			return a, true
		}
		return a, false
	case kessel.Firing:
		if !cleared {
			return a, false
		}
		if r.KeepFiringFor > 0 {
			// As Prometheus does: keep firing for KeepFiringFor after the
			// condition first stopped holding.
			if a.KeepFiringSince.IsZero() {
				a.KeepFiringSince = now
			}
			if now.Sub(a.KeepFiringSince) < r.KeepFiringFor {
				return a, false
			}
		}
		a.State, a.ResolvedAt, a.KeepFiringSince = kessel.Inactive, now, time.Time{}
		return a, true
	}
	return a, false
}
