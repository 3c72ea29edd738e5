// Package alert evaluates alert rules over the readings stream: thresholds
// on raw values or window aggregates, rates of change and silence, with a
// state machine modelled on Prometheus' rules/alerting.go (pending, firing,
// resolved; for, keep_firing_for) plus a separate clear condition.
// Evaluation is a pure function of the clock and the inputs.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

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
	CondQuality   = kessel.CondQuality
)

// Rule is kessel.Rule.
type Rule = kessel.Rule

// applies reports whether the rule covers a reading's device.
func applies(r *Rule, rd *kessel.Reading) bool {
	return (rd.Kind == r.Kind || r.Kind == "") &&
		(len(r.Devices) == 0 || slices.Contains(r.Devices, rd.Device)) &&
		(r.District == "" || r.District == rd.District)
}

// admits reports whether the rule evaluates field's value of a reading by
// its quality flag: passing values (1, 2 or none), and suspect ones (3)
// for a rule with IncludeSuspect. It does not allocate.
func admits(r *Rule, rd *kessel.Reading) bool {
	f := kessel.FlagOf(rd.Values, r.Field)
	return f.Passing() || r.IncludeSuspect && f == kessel.FlagSuspect
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

// Fingerprint identifies the alert of a rule for a subject.
func Fingerprint(ruleID, subject string, labels map[string]string) string {
	h := sha256.New()
	h.Write([]byte(ruleID + "\x00" + subject))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte("\x00" + k + "=" + labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
