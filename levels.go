package kessel

import (
	"maps"
	"math"
	"slices"
	"unicode/utf8"
)

// Level is a warning level a device declares for one of its fields, such
// as a river gauge's flood warning stages ("Meldestufe 1" at 250 cm): a
// value at or above Value has reached the level.
type Level struct {
	Name  string  `json:"name" yaml:"name"`
	Value float64 `json:"value" yaml:"value"`
}

// MaxLevels is how many levels one field may have.
const MaxLevels = 8

// ValidateLevels returns nil when levels maps field names to at most
// MaxLevels levels each, with distinct names of 1-64 printable characters
// and finite values in strictly increasing order; else an EINVALID error
// naming the first fault.
func ValidateLevels(levels map[string][]Level) error {
	for _, f := range slices.Sorted(maps.Keys(levels)) {
		if err := ValidateFieldName(f); err != nil {
			return Errorf(EINVALID, "levels: %s", ErrorMessage(err))
		}
		ls := levels[f]
		if len(ls) == 0 || len(ls) > MaxLevels {
			return Errorf(EINVALID, "levels of %s: give 1 to %d levels", f, MaxLevels)
		}
		for i, l := range ls {
			switch {
			case l.Name == "" || utf8.RuneCountInString(l.Name) > 64 || !printable(l.Name):
				return Errorf(EINVALID, "levels of %s: level %d needs a name of 1-64 printable characters", f, i+1)
			case slices.ContainsFunc(ls[:i], func(o Level) bool { return o.Name == l.Name }):
				return Errorf(EINVALID, "levels of %s: the name %q appears twice", f, l.Name)
			case math.IsNaN(l.Value) || math.IsInf(l.Value, 0):
				return Errorf(EINVALID, "levels of %s: level %q needs a finite value", f, l.Name)
			case i > 0 && l.Value <= ls[i-1].Value:
				return Errorf(EINVALID, "levels of %s: values must increase (%q at %g follows %g)", f, l.Name, l.Value, ls[i-1].Value)
			}
		}
	}
	return nil
}

// Reached returns the index of the highest level v has reached, or -1
// below the first.
func Reached(levels []Level, v float64) int {
	i := -1
	for j, l := range levels {
		if v >= l.Value {
			i = j
		}
	}
	return i
}

// printable reports whether s is valid UTF-8 without control characters
// (C0, DEL or C1).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return false
		}
	}
	return true
}
