package quality_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/quality"
	"github.com/kessel-city/kessel/simulators"
)

// TestRealSDS011 runs the tests over a week of a real Sensor.Community
// SDS011 (sensor 15092, November 2018): the clean series is flagged
// little, and faults put into it (a spike, a stuck run, an impossible
// value) are flagged where they are, value by value.
func TestRealSDS011(t *testing.T) {
	dir := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "timeseries", "sensor-community-archive")
	files, _ := filepath.Glob(filepath.Join(dir, "*_sds011_sensor_15092.csv"))
	if len(files) == 0 {
		testenv.Missing(t, "shared Sensor.Community archive absent in %s", dir)
	}
	var ps []simulators.Point
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := simulators.ReadSeries(f, "P1", nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p...)
	}
	sensor := quality.Options{Sensor: func(string) string { return "sds011" }}
	clean := flags(quality.New(quality.Config{}, sensor), ps)
	var bad int
	for _, f := range clean {
		if f == quality.Suspect || f == quality.Fail {
			bad++
		}
	}
	if len(ps) < 2000 || bad*100 > len(ps) { // at most 1 % of real data flagged
		t.Errorf("%d of %d real values flagged suspect or fail", bad, len(ps))
	}
	t.Logf("%d values, %d flagged in the real series", len(ps), bad)

	// Faults at known places: i=500 a spike, 1000 an impossible value,
	// 1500.. a stuck sensor repeating one value 100 times.
	faulty := append([]simulators.Point(nil), ps...)
	faulty[500].Value = faulty[499].Value + 400
	faulty[1000].Value = 1500
	for i := 1500; i < 1600; i++ {
		faulty[i].Value = 17.3
	}
	got := flags(quality.New(quality.Config{}, sensor), faulty)
	for _, tc := range []struct {
		i    int
		want quality.Flag
	}{{500, quality.Fail}, {1000, quality.Fail}, {1550, quality.Suspect}, {1599, quality.Fail}, {1700, clean[1700]}} {
		if got[tc.i] != tc.want {
			t.Errorf("value %d (%v): flag %v, want %v", tc.i, faulty[tc.i].Value, got[tc.i], tc.want)
		}
	}
}

func flags(c *quality.Checker, ps []simulators.Point) []quality.Flag {
	out := make([]quality.Flag, len(ps))
	for i, p := range ps {
		r := kessel.Reading{Device: "esp8266-15092", Kind: "air_quality", Time: p.Time, Values: map[string]float64{"pm10": p.Value}}
		c.Check(&r, p.Time.Add(time.Minute))
		out[i] = quality.FlagOf(r.Values, "pm10")
	}
	return out
}
