// Package quality checks every reading the way the QARTOD manuals of the
// U.S. Integrated Ocean Observing System do: per value, a gross range test
// (what the quantity and sensor can physically report), a climatological
// range test (what is plausible here, configured per kind, district or
// device), a spike test, a rate of change test, a flat line test (a stuck
// sensor) and a timing test (late, out of order or a conflicting duplicate).
// The result is one flag per value (Pass, NotEvaluated, Suspect, Fail,
// Missing), stored beside the value as the annotation field "qc.<field>",
// with "qct.<field>" naming the tests that flagged it (see
// kessel.FlagPrefix). Raw values are never changed: sensor corrections
// (correct.go) are written beside them as "cor.<field>", and the
// correction's name and version go into kessel.Reading.Correction.
//
// The package is pure: no I/O, no clock of its own, no globals. A Checker
// keeps a small, bounded history per device and field in memory; see
// Checker for its size and what a restart forgets.
package quality

import (
	"strings"

	"github.com/kessel-city/kessel"
)

// Flag is a QARTOD quality flag (kessel.Flag).
type Flag = kessel.Flag

// The QARTOD flags (UNESCO 2013, IOOS QARTOD manuals).
const (
	Pass         = kessel.FlagPass
	NotEvaluated = kessel.FlagNotEvaluated
	Suspect      = kessel.FlagSuspect
	Fail         = kessel.FlagFail
	Missing      = kessel.FlagMissing
)

// worse combines a test's result into the aggregate flag as QARTOD does:
// the worst result wins; any test that ran beats "not evaluated".
func worse(agg, x Flag) Flag {
	switch {
	case x == NotEvaluated:
		return agg
	case agg == NotEvaluated:
		return x
	case x > agg:
		return x
	}
	return agg
}

// Test is a set of the tests, as bits (kessel.QCTests); a value's "qct."
// annotation holds the tests that found it suspect or failed.
type Test uint8

// The tests.
const (
	GrossRange Test = 1 << iota
	Climatology
	Spike
	RateOfChange
	FlatLine
	Timing
)

// String names the tests in t, comma-separated ("gross_range,flat_line").
func (t Test) String() string { return strings.Join(kessel.QCTestNames(int(t)), ",") }

// Annotation prefixes of a reading's Values.
const (
	FlagPrefix       = kessel.FlagPrefix
	TestsPrefix      = kessel.TestsPrefix
	CorrectionPrefix = kessel.CorrectedPrefix
)

// Passing reports whether a value with flag f counts as good data by default.
func Passing(f Flag) bool { return f.Passing() }

// FlagOf returns the flag stored with field in values, 0 when none.
func FlagOf(values map[string]float64, field string) Flag { return kessel.FlagOf(values, field) }
