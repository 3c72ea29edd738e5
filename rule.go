package kessel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Conditions a rule can test.
const (
	CondThreshold = "threshold" // the latest value
	CondMean      = "mean"      // mean over Window
	CondMax       = "max"       // max over Window
	CondMin       = "min"       // min over Window
	CondRate      = "rate"      // change over Window (latest minus oldest)
	CondSilence   = "silence"   // no reading for Silence
	// CondExceedanceDays: the days of the calendar year whose daily mean
	// of Field is above Threshold reached Count (see ExceedanceDaysRule).
	CondExceedanceDays = "exceedance_days"
	// CondQuality holds while a device's readings have a value that
	// failed quality control or is stuck (flat line): a maintenance
	// alert. Field, when set, narrows it to one field; Kind may be empty
	// (every kind).
	CondQuality = "quality"
)

// Rule selects devices and says when their readings make an alert. Its
// fields are read from YAML and JSON under the same names; in JSON the
// durations are Go duration strings ("24h", see MarshalJSON).
type Rule struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name,omitempty"`
	Kind     string   `yaml:"kind" json:"kind"`                   // device kind; required
	Devices  []string `yaml:"devices" json:"devices,omitempty"`   // scope: these devices only
	District string   `yaml:"district" json:"district,omitempty"` // scope: devices in this district
	// Area makes one alert for the whole District: the condition is tested
	// on the mean of the latest values of its public devices of Kind.
	Area  bool   `yaml:"area" json:"area,omitempty"`
	Field string `yaml:"field" json:"field,omitempty"` // not for silence

	Condition string        `yaml:"condition" json:"condition"`
	Op        string        `yaml:"op" json:"op,omitempty"` // >, >=, <, <=
	Threshold float64       `yaml:"threshold" json:"threshold"`
	Window    time.Duration `yaml:"window" json:"window,omitempty"`
	Silence   time.Duration `yaml:"silence" json:"silence,omitempty"`
	// Clear, when set, is the threshold the value must cross back over
	// before a firing alert resolves (hysteresis).
	Clear *float64 `yaml:"clear" json:"clear,omitempty"`

	For           time.Duration     `yaml:"for" json:"for,omitempty"`
	KeepFiringFor time.Duration     `yaml:"keep_firing_for" json:"keep_firing_for,omitempty"`
	Severity      string            `yaml:"severity" json:"severity,omitempty"`     // info, warning, critical
	Visibility    Visibility        `yaml:"visibility" json:"visibility,omitempty"` // public or internal
	Labels        map[string]string `yaml:"labels" json:"labels,omitempty"`
	Summary       string            `yaml:"summary" json:"summary,omitempty"`

	// Count is, for exceedance_days, the number of days that fires.
	Count int `yaml:"count" json:"count,omitempty"`

	// IncludeSuspect makes the rule evaluate values quality control
	// flagged suspect (3) as well; by default a rule sees passing values
	// only (flag 1 or 2, or none). Failed values (4) never count.
	IncludeSuspect bool `yaml:"include_suspect" json:"include_suspect,omitempty"`
}

// Validate checks a rule and returns an EINVALID error naming the rule and
// the field at fault.
func (r *Rule) Validate() error {
	bad := func(field, format string, args ...any) error {
		return Errorf(EINVALID, "rule %q: %s: %s", r.ID, field, fmt.Sprintf(format, args...))
	}
	if !ValidDeviceID(r.ID) {
		return bad("id", "%s", DeviceIDRule)
	}
	if !ValidFieldName(r.Kind) && !(r.Condition == CondQuality && r.Kind == "") {
		return bad("kind", "a device kind such as air_quality is required")
	}
	switch r.Condition {
	case CondQuality:
		if r.Field != "" && !ValidFieldName(r.Field) {
			return bad("field", "%q is not a field name", r.Field)
		}
		if r.Area {
			return bad("area", "a quality rule is per device")
		}
	case CondThreshold, CondMean, CondMax, CondMin, CondRate:
		if !ValidFieldName(r.Field) {
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
	case CondExceedanceDays:
		if err := r.validateExceedanceDays(); err != nil {
			return err
		}
	case CondSilence:
		if r.Silence <= 0 {
			return bad("silence", "a duration such as 30m is required")
		}
	default:
		return bad("condition", "use threshold, mean, max, min, rate, silence, exceedance_days or quality, not %q", r.Condition)
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
		r.Visibility = Internal
	}
	if _, err := ParseVisibility(string(r.Visibility)); err != nil {
		return bad("visibility", "use public or internal")
	}
	if r.Area && (r.District == "" || r.Condition == CondSilence) {
		return bad("area", "an area rule needs a district and a value condition")
	}
	for _, d := range r.Devices {
		if !ValidDeviceID(d) {
			return bad("devices", "%q is not a device id", d)
		}
	}
	return nil
}

// ruleFields is Rule without its methods, for the JSON form.
type ruleFields Rule

// ruleJSON is the JSON form: Rule's fields, with the durations as strings
// shadowing (being shallower than) Rule's time.Duration fields of the same
// names.
type ruleJSON struct {
	*ruleFields
	Window        string `json:"window,omitempty"`
	Silence       string `json:"silence,omitempty"`
	For           string `json:"for,omitempty"`
	KeepFiringFor string `json:"keep_firing_for,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON writes durations as Go duration strings.
func (r Rule) MarshalJSON() ([]byte, error) {
	return json.Marshal(ruleJSON{(*ruleFields)(&r), durString(r.Window), durString(r.Silence), durString(r.For), durString(r.KeepFiringFor)})
}

// UnmarshalJSON reads durations such as "24h"; unknown keys are errors.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var fields ruleFields
	j := ruleJSON{ruleFields: &fields}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Errorf(EINVALID, "rule: %v", err)
	}
	parse := func(field, s string, d *time.Duration) error {
		if s == "" {
			*d = 0
			return nil
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return Errorf(EINVALID, "rule %q: %s: %q is not a duration such as 15m or 24h", fields.ID, field, s)
		}
		*d = v
		return nil
	}
	for _, p := range []struct {
		name, s string
		d       *time.Duration
	}{{"window", j.Window, &fields.Window}, {"silence", j.Silence, &fields.Silence}, {"for", j.For, &fields.For}, {"keep_firing_for", j.KeepFiringFor, &fields.KeepFiringFor}} {
		if err := parse(p.name, p.s, p.d); err != nil {
			return err
		}
	}
	*r = Rule(fields)
	return nil
}
