package alert_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
)

// TestRulesSeePassingValues: a threshold rule ignores values quality
// control flagged, unless include_suspect admits the suspect ones; failed
// values never count.
func TestRulesSeePassingValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flag    float64 // 0: no flag
		include bool
		fires   bool
	}{
		{"no flag (quality control off)", 0, false, true},
		{"pass", 1, false, true},
		{"not evaluated", 2, false, true},
		{"suspect (a spike)", 3, false, false},
		{"suspect with include_suspect", 3, true, true},
		{"fail", 4, false, false},
		{"fail with include_suspect", 4, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 50, IncludeSuspect: tc.include}
			e, err := alert.New([]alert.Rule{r}, alert.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rd := kessel.Reading{Device: "d1", Kind: "air_quality", Time: base, Values: map[string]float64{"pm10": 300}}
			if tc.flag != 0 {
				rd.Values["qc.pm10"] = tc.flag
			}
			e.EvaluateForTest([]kessel.Reading{rd})
			a, _ := e.Get(alert.Fingerprint("pm", "d1", nil))
			if fired := a.Status() == kessel.StatusFiring; fired != tc.fires {
				t.Fatalf("firing %v, want %v", fired, tc.fires)
			}
		})
	}
}

// TestMaintenanceAlert: a quality rule fires for a device whose value
// fails or sticks, internal, for its department, naming the test; it
// resolves when the values pass again and ignores readings without flags.
func TestMaintenanceAlert(t *testing.T) {
	r := alert.Rule{ID: "maintenance", Condition: alert.CondQuality, For: 2 * time.Minute, Summary: "sensor needs maintenance"}
	e, err := alert.New([]alert.Rule{r}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const flat, spike = 16, 4 // kessel.QCTests bits
	steps := []struct {
		values map[string]float64
		want   string
	}{
		{map[string]float64{"pm10": 5, "qc.pm10": 1}, "inactive"},
		{map[string]float64{"pm10": 5}, "inactive"},                                    // no flags: not evaluated
		{map[string]float64{"pm10": 900, "qc.pm10": 3, "qct.pm10": spike}, "inactive"}, // a suspect spike is no fault
		{map[string]float64{"pm10": 5, "qc.pm10": 3, "qct.pm10": flat}, "pending"},
		{map[string]float64{"pm10": 5, "qc.pm10": 3, "qct.pm10": flat}, "pending"},
		{map[string]float64{"pm10": 5, "qc.pm10": 4, "qct.pm10": flat, "humidity": 140, "qc.humidity": 4, "qct.humidity": 1}, "firing"},
		{map[string]float64{"pm10": 6, "qc.pm10": 1, "humidity": 50, "qc.humidity": 1}, "resolved"},
	}
	for i, s := range steps {
		e.EvaluateForTest([]kessel.Reading{{Device: "d1", Kind: "air_quality", Department: "umwelt", Time: base.Add(time.Duration(i) * time.Minute), Values: s.values}})
		a, _ := e.Get(alert.Fingerprint("maintenance", "d1", nil))
		if a.Status() != s.want {
			t.Fatalf("step %d: %s, want %s", i, a.Status(), s.want)
		}
		if s.want == "firing" {
			if a.Visibility != kessel.Internal || a.Department != "umwelt" || a.Value != 4 ||
				a.Summary != "sensor needs maintenance: humidity: gross_range; pm10: flat_line" {
				t.Fatalf("firing alert: %+v", a)
			}
		}
	}
	if err := (&alert.Rule{ID: "q", Condition: alert.CondQuality, Area: true, District: "x"}).Validate(); err == nil || !strings.Contains(err.Error(), "area") {
		t.Errorf("area quality rule accepted: %v", err)
	}
}
