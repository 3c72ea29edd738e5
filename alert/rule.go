// Package alert evaluates alert rules over the readings stream: thresholds
// on raw values or window aggregates, rates of change and silence, with a
// state machine modelled on Prometheus' rules/alerting.go (pending, firing,
// resolved; for, keep_firing_for) plus a separate clear condition.
// Evaluation is a pure function of the clock and the inputs.
package alert

import (
	"slices"
	"time"

	"github.com/kessel-city/kessel"
)

// Conditions, re-exported for readers of this package.
const (
	CondThreshold = kessel.CondThreshold
	CondMean      = kessel.CondMean
	CondMax       = kessel.CondMax
	CondMin       = kessel.CondMin
	CondRate      = kessel.CondRate
	CondSilence   = kessel.CondSilence
)

// Rule is kessel.Rule.
type Rule = kessel.Rule

// applies reports whether the rule covers a reading's device.
func applies(r *Rule, rd *kessel.Reading) bool {
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
func cleared(r *Rule, v float64, holds bool) bool {
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
