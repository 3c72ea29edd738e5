package kessel_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

func TestValidateKind(t *testing.T) {
	for _, tc := range []struct {
		kind string
		ok   bool
	}{
		{"", true},
		{"air_quality", true},
		{"kessel", true},
		{"kessel_rules", false},
		{"kessel_usage", false},
		{"kessel_deadletters", false},
		{"kessel_anything", false},
		{"_internal", false},
		{"Air", false},
		{"a b", false},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			err := kessel.ValidateKind(tc.kind)
			if (err == nil) != tc.ok || (err != nil && kessel.ErrorCode(err) != kessel.EINVALID) {
				t.Fatalf("ValidateKind(%q) = %v, want ok=%v", tc.kind, err, tc.ok)
			}
			d := kessel.Device{ID: "d1", Kind: tc.kind}
			if err := d.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Device{Kind: %q}.Validate() = %v, want ok=%v", tc.kind, err, tc.ok)
			}
		})
	}
}

func TestValidateFieldName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"pm10", true},
		{"temperature", true},
		{"times", true},
		{"_start", false}, {"_stop", false}, {"_time", false}, {"_measurement", false},
		{"_field", false}, {"_value", false}, {"_anything", false},
		{"result", false}, {"table", false}, {"time", false},
		{"device", false}, {"district", false}, {"department", false}, {"source", false},
		{"lat", false}, {"lon", false}, {"empty", false},
		{"PM10", false}, {"", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := kessel.ValidateFieldName(tc.name); (err == nil) != tc.ok {
				t.Fatalf("ValidateFieldName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			}
		})
	}
	for _, name := range kessel.ReservedFields {
		if !kessel.ReservedField(name) {
			t.Errorf("ReservedField(%q) = false; it is listed in ReservedFields", name)
		}
	}
	for _, name := range kessel.TagKeys {
		if !kessel.ReservedField(name) {
			t.Errorf("tag key %q is not a reserved field", name)
		}
	}
}

func TestValidateTagValue(t *testing.T) {
	for _, tc := range []struct {
		name, v string
		ok      bool
	}{
		{"empty", "", true},
		{"plain", "Tiefbauamt", true},
		{"umlaut and space", "Amt für Umweltschutz", true},
		{"inner backslash", `a\b`, true},
		{"trailing backslash", `Tiefbau\`, false},
		{"backslash before comma", `a\,b`, false},
		{"backslash before space", `a\ b`, false},
		{"two inner backslashes", `a\\b`, true},
		{"newline", "Tief\nbau", false},
		{"carriage return", "Tiefbau\r", false},
		{"tab", "a\tb", false},
		{"nul", "a\x00b", false},
		{"del", "a\x7fb", false},
		{"invalid utf8", "a\xffb", false},
		{"too long", strings.Repeat("a", kessel.MaxTagValue+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := kessel.ValidateTagValue("department", tc.v); (err == nil) != tc.ok {
				t.Fatalf("ValidateTagValue(%q) = %v, want ok=%v", tc.v, err, tc.ok)
			}
			d := kessel.Device{ID: "d1", Department: tc.v}
			if err := d.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Device{Department: %q}.Validate() = %v, want ok=%v", tc.v, err, tc.ok)
			}
		})
	}
}

func TestValidateTimeAndValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
		ok   bool
	}{
		{"now", time.Now(), true},
		{"1970", time.Unix(0, 0), true},
		{"1677-09-01 wraps to 2262", time.Date(1677, 9, 1, 0, 0, 0, 0, time.UTC), false},
		{"0001-01-01 wraps to 1754", time.Time{}, false},
		{"2263", time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"min", kessel.MinTime, true},
		{"max", kessel.MaxTime, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := kessel.ValidateTime(tc.t); (err == nil) != tc.ok {
				t.Fatalf("ValidateTime(%s) = %v, want ok=%v", tc.t, err, tc.ok)
			}
		})
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if kessel.ValidateValue("x", v) == nil {
			t.Errorf("ValidateValue(%v) accepted", v)
		}
	}
	if err := kessel.ValidateValue("x", -1.5e300); err != nil {
		t.Errorf("ValidateValue(-1.5e300) = %v", err)
	}
}

// TestDeviceName: a device's name (from its meta topic, the API or the
// config) is at most MaxTagValue bytes of printable UTF-8; markup is
// text like any other (the pages show it as text).
func TestDeviceName(t *testing.T) {
	for _, tc := range []struct {
		name, v string
		ok      bool
	}{
		{"empty", "", true},
		{"plain", "Station am Tor", true},
		{"markup", `Pegel <img src=x onerror=alert(1)>`, true},
		{"longest", strings.Repeat("ä", kessel.MaxTagValue/2), true},
		{"too long", strings.Repeat("a", kessel.MaxTagValue+1), false},
		{"megabyte", strings.Repeat("a", 1<<20), false},
		{"newline", "Station\nam Tor", false},
		{"nul", "a\x00b", false},
		{"C1 control", "a\u0085b", false},
		{"invalid utf8", "a\xffb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := kessel.Device{ID: "d1", Name: tc.v}
			if err := d.Validate(); (err == nil) != tc.ok || (err != nil && kessel.ErrorCode(err) != kessel.EINVALID) {
				t.Fatalf("Device{Name: %.40q}.Validate() = %v, want ok=%v", tc.v, err, tc.ok)
			}
		})
	}
}

// TestDeviceLabels: at most MaxLabels labels, keys of 1-64 and values of
// at most MaxTagValue bytes, printable UTF-8 both.
func TestDeviceLabels(t *testing.T) {
	many := map[string]string{}
	for i := range kessel.MaxLabels + 1 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		ok     bool
	}{
		{"none", nil, true},
		{"river", map[string]string{"river": "Neckar", "floor": ""}, true},
		{"markup", map[string]string{"note": "<b>x</b>"}, true},
		{"too many", many, false},
		{"empty key", map[string]string{"": "x"}, false},
		{"long key", map[string]string{strings.Repeat("k", 65): "x"}, false},
		{"long value", map[string]string{"k": strings.Repeat("v", kessel.MaxTagValue+1)}, false},
		{"nul in key", map[string]string{"a\x00": "x"}, false},
		{"newline in value", map[string]string{"a": "x\ny"}, false},
		{"invalid utf8", map[string]string{"a": "\xff"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := kessel.Device{ID: "d1", Labels: tc.labels}
			if err := d.Validate(); (err == nil) != tc.ok || (err != nil && kessel.ErrorCode(err) != kessel.EINVALID) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
