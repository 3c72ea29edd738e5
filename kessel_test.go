package kessel_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kessel-city/kessel"
)

func TestValidNames(t *testing.T) {
	for _, tc := range []struct {
		id     string
		device bool
		field  bool
	}{
		{"air-0001", true, false},
		{"urn:dev:ow:10e2073a01080063", true, false},
		{"pm2_5", true, true},
		{"PM10", true, false},
		{"", false, false},
		{"-x", false, false},
		{"a b", false, false},
		{"a/b", false, false},
		{"+", false, false},
		{"#", false, false},
		{strings.Repeat("a", 64), true, true},
		{strings.Repeat("a", 65), true, false},
		{strings.Repeat("a", 128), true, false},
		{strings.Repeat("a", 129), false, false},
		{"ä", false, false},
	} {
		if got := kessel.ValidDeviceID(tc.id); got != tc.device {
			t.Errorf("ValidDeviceID(%q) = %v", tc.id, got)
		}
		if got := kessel.ValidFieldName(tc.id); got != tc.field {
			t.Errorf("ValidFieldName(%q) = %v", tc.id, got)
		}
	}
}

// FuzzValidNames checks the hand-written validators against the regular
// expressions that define them.
func FuzzValidNames(f *testing.F) {
	device := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	field := regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
	f.Add("air-1")
	f.Add("a:b.c_d-e")
	f.Fuzz(func(t *testing.T, s string) {
		if kessel.ValidDeviceID(s) != device.MatchString(s) {
			t.Fatalf("ValidDeviceID(%q) disagrees with its definition", s)
		}
		if kessel.ValidFieldName(s) != field.MatchString(s) {
			t.Fatalf("ValidFieldName(%q) disagrees with its definition", s)
		}
	})
}
