package kessel

import (
	"math"
	"strings"
	"testing"
)

func TestValidateLevels(t *testing.T) {
	many := make([]Level, MaxLevels+1)
	for i := range many {
		many[i] = Level{Name: "L", Value: float64(i)}
	}
	tests := []struct {
		name   string
		levels map[string][]Level
		want   string // "" = valid
	}{
		{"none", nil, ""},
		{"gauge stages", map[string][]Level{"level": {{"Meldestufe 1", 250}, {"Meldestufe 2", 320}}}, ""},
		{"bad field", map[string][]Level{"Level!": {{"a", 1}}}, "field"},
		{"reserved field", map[string][]Level{"time": {{"a", 1}}}, "reserved"},
		{"empty list", map[string][]Level{"level": {}}, "1 to 8"},
		{"too many", map[string][]Level{"level": many}, "1 to 8"},
		{"no name", map[string][]Level{"level": {{"", 1}}}, "name"},
		{"control character", map[string][]Level{"level": {{"a\nb", 1}}}, "name"},
		{"long name", map[string][]Level{"level": {{strings.Repeat("x", 65), 1}}}, "name"},
		{"NaN", map[string][]Level{"level": {{"a", math.NaN()}}}, "finite"},
		{"not increasing", map[string][]Level{"level": {{"a", 2}, {"b", 2}}}, "increase"},
		{"a name twice", map[string][]Level{"level": {{"Meldestufe 1", 250}, {"Meldestufe 1", 320}}}, "twice"},
		{"C1 control character", map[string][]Level{"level": {{"a\u0085b", 1}}}, "name"},
		{"not UTF-8", map[string][]Level{"level": {{"a\xffb", 1}}}, "name"},
		{"huge value", map[string][]Level{"level": {{"a", -math.MaxFloat64}, {"b", math.MaxFloat64}}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateLevels(tc.levels)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if got := Reached([]Level{{"a", 250}, {"b", 320}}, 300); got != 0 {
		t.Errorf("Reached(300) = %d, want 0", got)
	}
}
