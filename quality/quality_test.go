package quality

import (
	"math"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

var base = time.Date(2026, 1, 10, 6, 0, 0, 0, time.UTC)

func ptr(v float64) *float64 { return &v }

// step is one reading of a sequence and the flags expected for its fields.
type step struct {
	at     time.Duration // after base
	late   time.Duration // arrived this long after at
	values map[string]float64
	flags  map[string]Flag
	tests  map[string]Test
}

func run(t *testing.T, c *Checker, r kessel.Reading, steps []step) {
	t.Helper()
	for i, s := range steps {
		rd := r
		rd.Time = base.Add(s.at)
		rd.Values = map[string]float64{}
		for k, v := range s.values {
			rd.Values[k] = v
		}
		c.Check(&rd, rd.Time.Add(s.late))
		for f, want := range s.flags {
			if got := FlagOf(rd.Values, f); got != want {
				t.Errorf("step %d: %s=%v flag %v (%v), want %v", i, f, rd.Values[f], got, Test(rd.Values[TestsPrefix+f]), want)
			}
			if want := s.tests[f]; Test(rd.Values[TestsPrefix+f]) != want {
				t.Errorf("step %d: %s tests %q, want %q", i, f, Test(rd.Values[TestsPrefix+f]), want)
			}
		}
		for k, v := range s.values {
			if rd.Values[k] != v {
				t.Errorf("step %d: raw %s changed from %v to %v", i, k, v, rd.Values[k])
			}
		}
	}
}

func pm(v float64) map[string]float64 { return map[string]float64{"pm10": v} }
func fl(f Flag) map[string]Flag       { return map[string]Flag{"pm10": f} }
func ts(t Test) map[string]Test       { return map[string]Test{"pm10": t} }

func TestChecker(t *testing.T) {
	flat := Quantity{Gross: rng(0, 1000), FlatSuspect: 3, FlatFail: 5}
	cfg := Config{LateAfter: time.Hour, Quantities: map[string]Quantity{"level": {Gross: rng(-5, 5), RatePerMinute: 1}, "flat": flat},
		Climate: []ClimateRange{{Kind: "air_quality", Field: "pm10", Max: ptr(300)},
			{Kind: "air_quality", District: "Mitte", Field: "pm10", Max: ptr(200)},
			{Kind: "air_quality", Device: "d1", Field: "pm10", Max: ptr(100)}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := time.Minute
	cases := []struct {
		name  string
		r     kessel.Reading
		steps []step
	}{
		{"gross range and first reading", kessel.Reading{Device: "a", Kind: "air_quality"}, []step{
			{at: 0, values: pm(20), flags: fl(Pass)},
			{at: m, values: pm(-1), flags: fl(Fail), tests: ts(GrossRange)},
			{at: 2 * m, values: pm(2500), flags: fl(Fail), tests: ts(GrossRange | Climatology)},
		}},
		{"climate range: kind, district, device", kessel.Reading{Device: "b", Kind: "air_quality", District: "Mitte"}, []step{
			{at: 0, values: pm(150), flags: fl(Pass)},
			{at: m, values: pm(250), flags: fl(Suspect), tests: ts(Climatology)},
		}},
		{"climate range: the device's own", kessel.Reading{Device: "d1", Kind: "air_quality", District: "Mitte"}, []step{
			{at: 0, values: pm(150), flags: fl(Suspect), tests: ts(Climatology)},
		}},
		{"climate range: another kind has none", kessel.Reading{Device: "e", Kind: "other"}, []step{
			{at: 0, values: pm(400), flags: fl(Pass)},
		}},
		{"an impossible value is not the past of the next", kessel.Reading{Device: "g", Kind: "x"}, []step{
			{at: 0, values: map[string]float64{"level": 0}, flags: map[string]Flag{"level": Pass}},
			{at: m, values: map[string]float64{"level": -999}, flags: map[string]Flag{"level": Fail}, tests: map[string]Test{"level": GrossRange}},
			{at: 2 * m, values: map[string]float64{"level": 0.5}, flags: map[string]Flag{"level": Pass}},
		}},
		{"spike", kessel.Reading{Device: "s", Kind: "air_quality"}, []step{
			{at: 0, values: pm(10), flags: fl(Pass)},
			{at: m, values: pm(12), flags: fl(Pass)},
			{at: 2 * m, values: pm(11), flags: fl(Pass)},
			{at: 3 * m, values: pm(60), flags: fl(Suspect), tests: ts(Spike)},
			{at: 4 * m, values: pm(250), flags: fl(Fail), tests: ts(Spike)},
			{at: 5 * m, values: pm(13), flags: fl(Pass)},
		}},
		{"rate of change", kessel.Reading{Device: "r", Kind: "x"}, []step{
			{at: 0, values: map[string]float64{"level": 0}, flags: map[string]Flag{"level": Pass}},
			{at: m, values: map[string]float64{"level": 3}, flags: map[string]Flag{"level": Suspect}, tests: map[string]Test{"level": RateOfChange}},
			{at: 5 * m, values: map[string]float64{"level": 4}, flags: map[string]Flag{"level": Pass}},
		}},
		{"flat line", kessel.Reading{Device: "f", Kind: "x"}, []step{
			{at: 0, values: map[string]float64{"flat": 7}, flags: map[string]Flag{"flat": Pass}},
			{at: m, values: map[string]float64{"flat": 7}, flags: map[string]Flag{"flat": Pass}},
			{at: 2 * m, values: map[string]float64{"flat": 7}, flags: map[string]Flag{"flat": Suspect}, tests: map[string]Test{"flat": FlatLine}},
			{at: 3 * m, values: map[string]float64{"flat": 7}, flags: map[string]Flag{"flat": Suspect}, tests: map[string]Test{"flat": FlatLine}},
			{at: 4 * m, values: map[string]float64{"flat": 7}, flags: map[string]Flag{"flat": Fail}, tests: map[string]Test{"flat": FlatLine}},
			{at: 5 * m, values: map[string]float64{"flat": 8}, flags: map[string]Flag{"flat": Pass}},
		}},
		{"no test known: not evaluated", kessel.Reading{Device: "n", Kind: "x"}, []step{
			{at: 0, values: map[string]float64{"mystery": 1}, flags: map[string]Flag{"mystery": Pass}},
		}},
		{"timing: late, out of order, conflicting duplicate, redelivery", kessel.Reading{Device: "t", Kind: "air_quality"}, []step{
			{at: 0, values: pm(20), flags: fl(Pass)},
			{at: 10 * m, late: 2 * time.Hour, values: pm(21), flags: fl(Suspect), tests: ts(Timing)},
			{at: 5 * m, values: pm(22), flags: fl(Suspect), tests: ts(Timing)},
			{at: 10 * m, values: pm(21), flags: fl(Suspect), tests: ts(Timing)}, // redelivered: as first flagged
			{at: 10 * m, values: pm(30), flags: fl(Suspect), tests: ts(Timing)},
			{at: 11 * m, values: pm(21), flags: fl(Pass)},
		}},
		{"missing", kessel.Reading{Device: "m", Kind: "air_quality"}, []step{
			{at: 0, values: map[string]float64{"pm10": 20, "pm25": 10}, flags: map[string]Flag{"pm10": Pass, "pm25": Pass}},
			{at: m, values: pm(20), flags: map[string]Flag{"pm10": Pass, "pm25": Missing}},
			{at: 2 * m, values: pm(20), flags: map[string]Flag{"pm10": Pass, "pm25": 0}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run(t, New(cfg, Options{}), tc.r, tc.steps)
		})
	}
}

// A field no table knows is "not evaluated" only when no test at all ran;
// the timing test runs on every value, so such a value passes it.
func TestNotEvaluatedWithoutTests(t *testing.T) {
	c := New(Config{}, Options{})
	r := kessel.Reading{Device: "x", Kind: "k", Time: base, Values: map[string]float64{"mystery": 1}}
	c.Check(&r, time.Time{})
	if got := FlagOf(r.Values, "mystery"); got != Pass {
		t.Fatalf("flag %v, want pass (timing ran)", got)
	}
}

// TestLateOffByDefault: without late_after, a backfill is not suspect.
func TestLateOffByDefault(t *testing.T) {
	c := New(Config{}, Options{})
	r := kessel.Reading{Device: "x", Kind: "air_quality", Time: base, Values: pm(20)}
	c.Check(&r, base.Add(72*time.Hour))
	if got := FlagOf(r.Values, "pm10"); got != Pass {
		t.Fatalf("a reading 3 days late: flag %v, want pass", got)
	}
}

func TestSensorGrossRange(t *testing.T) {
	c := New(Config{}, Options{Sensor: func(d string) string {
		if d == "sds" {
			return "sds011"
		}
		return ""
	}})
	for _, tc := range []struct {
		device string
		want   Flag
	}{{"sds", Fail}, {"other", Pass}} {
		r := kessel.Reading{Device: tc.device, Kind: "air_quality", Time: base, Values: pm(1500)}
		c.Check(&r, base)
		if got := FlagOf(r.Values, "pm10"); got != tc.want {
			t.Errorf("%s: pm10=1500 flag %v, want %v", tc.device, got, tc.want)
		}
	}
}

func TestCorrection(t *testing.T) {
	cfg := Config{Corrections: []Correction{{Name: "sds011_rh", Version: 2, Method: MethodKappaKohler, Kind: "air_quality",
		Sensor: "sds011", Fields: []string{"pm10", "pm25"}, Kappa: 0.4}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := New(cfg, Options{Sensor: func(string) string { return "sds011" }})
	for i, tc := range []struct {
		rh      float64
		want    float64 // corrected pm10 of raw 30, NaN for none
		correct string
	}{
		{0, 30, "sds011_rh/v2"},
		{50, 30 / (1 + 0.4/1.65), "sds011_rh/v2"},
		{90, 30 / (1 + 0.4/1.65*9), "sds011_rh/v2"},
		{96, math.NaN(), ""},  // above max_rh: no corrected value
		{120, math.NaN(), ""}, // humidity failed its gross range: not used
	} {
		r := kessel.Reading{Device: "c", Kind: "air_quality", Time: base.Add(time.Duration(i) * time.Hour),
			Values: map[string]float64{"pm10": 30, "humidity": tc.rh}}
		c.Check(&r, r.Time)
		got, ok := r.Values["cor.pm10"]
		if math.IsNaN(tc.want) != !ok || ok && math.Abs(got-tc.want) > 1e-9 || r.Correction != tc.correct {
			t.Errorf("rh %v: cor.pm10 %v (%v) correction %q, want %v %q", tc.rh, got, ok, r.Correction, tc.want, tc.correct)
		}
		if r.Values["pm10"] != 30 {
			t.Errorf("rh %v: raw pm10 changed to %v", tc.rh, r.Values["pm10"])
		}
	}
}

func TestEviction(t *testing.T) {
	c := New(Config{}, Options{MaxDevices: 2})
	for _, d := range []string{"a", "b", "c", "d"} {
		r := kessel.Reading{Device: d, Kind: "air_quality", Time: base, Values: pm(1)}
		c.Check(&r, base)
	}
	if n, ev := c.Devices(); n != 2 || ev != 2 {
		t.Fatalf("devices %d evicted %d, want 2 and 2", n, ev)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"climate without kind", Config{Climate: []ClimateRange{{Field: "pm10", Max: ptr(1)}}}},
		{"climate without bounds", Config{Climate: []ClimateRange{{Kind: "a", Field: "pm10"}}}},
		{"climate min above max", Config{Climate: []ClimateRange{{Kind: "a", Field: "pm10", Min: ptr(2), Max: ptr(1)}}}},
		{"quantity name", Config{Quantities: map[string]Quantity{"PM": {}}}},
		{"correction method", Config{Corrections: []Correction{{Name: "x", Version: 1, Method: "magic", Kind: "a", Fields: []string{"pm10"}, Kappa: 0.4}}}},
		{"correction version", Config{Corrections: []Correction{{Name: "x", Method: MethodKappaKohler, Kind: "a", Fields: []string{"pm10"}, Kappa: 0.4}}}},
		{"correction kappa", Config{Corrections: []Correction{{Name: "x", Version: 1, Method: MethodKappaKohler, Kind: "a", Fields: []string{"pm10"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); kessel.ErrorCode(err) != kessel.EINVALID {
				t.Fatalf("err %v, want EINVALID", err)
			}
		})
	}
}

// TestConcurrentCheck: ingest's decoders may check from several
// goroutines; run with -race.
func TestConcurrentCheck(t *testing.T) {
	c := New(Config{}, Options{MaxDevices: 8})
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				r := kessel.Reading{Device: string(rune('a' + (g*7+i)%12)), Kind: "air_quality", Time: base.Add(time.Duration(i) * time.Second), Values: pm(float64(i % 30))}
				c.Check(&r, r.Time)
				if FlagOf(r.Values, "pm10") == 0 {
					t.Error("a value without a flag")
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	if n, _ := c.Devices(); n > 8 {
		t.Errorf("%d devices kept, the bound is 8", n)
	}
}
