package kessel_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kessel-city/kessel"
)

// TestExceedanceDaysRuleValidation: the compliance rule reads from JSON
// with its count, takes > as its only op, and names each bad field.
func TestExceedanceDaysRuleValidation(t *testing.T) {
	var r kessel.Rule
	if err := json.Unmarshal([]byte(`{"id":"pm10-days","kind":"air_quality","field":"pm10","condition":"exceedance_days","threshold":50,"count":30}`), &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil || r.Count != 30 || r.Op != ">" {
		t.Fatalf("valid rule: %v (count %d, op %q)", err, r.Count, r.Op)
	}
	if b, _ := json.Marshal(r); !strings.Contains(string(b), `"count":30`) {
		t.Errorf("JSON form lost the count: %s", b)
	}
	clear := 1.0
	for _, tc := range []struct {
		name   string
		change func(*kessel.Rule)
		field  string
	}{
		{"no field", func(r *kessel.Rule) { r.Field = "" }, "field"},
		{"other op", func(r *kessel.Rule) { r.Op = ">=" }, "op"},
		{"no threshold", func(r *kessel.Rule) { r.Threshold = 0 }, "threshold"},
		{"no count", func(r *kessel.Rule) { r.Count = 0 }, "count"},
		{"count beyond a year", func(r *kessel.Rule) { r.Count = 367 }, "count"},
		{"window", func(r *kessel.Rule) { r.Window = 1 }, "window"},
		{"clear", func(r *kessel.Rule) { r.Clear = &clear }, "window"},
		{"for", func(r *kessel.Rule) { r.For = 1 }, "for"},
		{"area", func(r *kessel.Rule) { r.Area, r.District = true, "Mitte" }, "area"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := kessel.Rule{ID: "pm10-days", Kind: "air_quality", Field: "pm10", Condition: kessel.CondExceedanceDays, Threshold: 50, Count: 30}
			tc.change(&bad)
			err := bad.Validate()
			if kessel.ErrorCode(err) != kessel.EINVALID || !strings.Contains(kessel.ErrorMessage(err), tc.field+":") {
				t.Errorf("%v, want EINVALID naming %s", err, tc.field)
			}
		})
	}
}
