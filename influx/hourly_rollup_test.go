package influx_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/airquality"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// TestHourlyMeansOutliveRawReadings: the EU statistics of two devices over
// a CET year boundary are computed from HourlyMeans while every raw
// reading is stored; then the hours in [since, final) are rolled up and
// their raw readings deleted (as the raw retention would), and the same
// statistics come back: raw readings before since (stored before rolling
// up began), the rollups in between and raw readings after the
// watermark's Final. Without the watermark the deleted hours are missing,
// so the check can fail. One device changes district within an hour (two
// rollup series for that hour), the other has a day of 17 hourly values
// (no daily mean).
func TestHourlyMeansOutliveRawReadings(t *testing.T) {
	srv := influxtest.Start(t)
	c, err := influx.New(influx.Options{URL: srv.URL, Bucket: "raw/autogen", HourBucket: "kessel/rollup_1h", DayBucket: "kessel/rollup_1d", RecordBucket: "kessel/records"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	if err := c.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 12, 30, 23, 0, 0, 0, time.UTC) // 31 December 00:00 CET
	end := start.Add(72 * time.Hour)
	var rs []kessel.Reading
	for at, i := start, 0; at.Before(end); at, i = at.Add(20*time.Minute), i+1 {
		district := "Mitte"
		if at.After(start.Add(30*time.Hour + 10*time.Minute)) {
			district = "Nord" // within the hour from 30 h on: two series
		}
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", District: district, Time: at,
			Values: map[string]float64{"pm10": float64(20 + (i*17)%61), "no2": float64(5 + (i*7)%29)}})
		if h := at.Sub(start).Hours(); h < 24 || h >= 31 { // the second day has 17 hours
			rs = append(rs, kessel.Reading{Device: "air-2", Kind: "air_quality", District: "Nord", Time: at, Values: map[string]float64{"pm10": float64(40 + (i*13)%31)}})
		}
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	devices, fields := []string{"air-1", "air-2"}, []string{"pm10", "no2"}
	read := func() map[string]float64 {
		t.Helper()
		got, err := c.HourlyMeans(ctx, devices, fields, start, end)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, r := range got {
			for f, v := range r.Values {
				k := r.Device + " " + f + " " + r.Time.UTC().Format(time.RFC3339)
				if _, dup := out[k]; dup {
					t.Errorf("hour %s twice", k)
				}
				out[k] = v
			}
		}
		return out
	}
	want := read()
	if len(want) != 72*2+72-7 {
		t.Fatalf("%d hourly values from raw readings, want %d", len(want), 72*2+72-7)
	}
	since, final := start.Add(5*time.Hour), start.Add(60*time.Hour)
	if _, err := c.ComputeHours(ctx, since, final); err != nil {
		t.Fatal(err)
	}
	if err := srv.Query(t, "raw", "DELETE WHERE time >= '"+since.Format(time.RFC3339)+"' AND time < '"+final.Format(time.RFC3339)+"'"); err != nil {
		t.Fatal(err)
	}
	if err := c.SaveRollupMark(ctx, kessel.RollupMark{}); err != nil {
		t.Fatal(err)
	}
	if n := len(read()); n >= len(want) {
		t.Fatalf("without a watermark, %d hourly values after the raw readings were deleted: the delete did not work", n)
	}
	if err := c.SaveRollupMark(ctx, kessel.RollupMark{Since: since, Final: final, Done: final.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got := read()
	if len(got) != len(want) {
		t.Errorf("%d hourly values with rollups, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-9 {
			t.Errorf("%s: %v (present %v), want %v", k, g, ok, w)
		}
	}
	compareStats(t, want, got)
}

// compareStats computes each device's and pollutant's statistics for both
// CET years from both sets of hourly values and compares them.
func compareStats(t *testing.T, want, got map[string]float64) {
	t.Helper()
	hours := func(m map[string]float64, device, field string) []airquality.Hour {
		var hs []airquality.Hour
		for k, v := range m {
			var d, f, at string
			if n, _ := fmt.Sscan(k, &d, &f, &at); n == 3 && d == device && f == field {
				ts, _ := time.Parse(time.RFC3339, at)
				hs = append(hs, airquality.Hour{Start: ts, Mean: v})
			}
		}
		return hs
	}
	days := 0
	for _, year := range []int{2025, 2026} {
		for _, d := range []string{"air-1", "air-2"} {
			for _, p := range []string{airquality.PM10, airquality.NO2} {
				w := airquality.Compute(year, p, kessel.Reference, hours(want, d, p), true)
				g := airquality.Compute(year, p, kessel.Reference, hours(got, d, p), true)
				days += w.Days
				if w.Hours != g.Hours || w.Days != g.Days || w.IncompleteDays != g.IncompleteDays || len(w.Assessments) != len(g.Assessments) {
					t.Errorf("%d %s %s: %+v, want %+v", year, d, p, g, w)
					continue
				}
				for i, a := range w.Assessments {
					if b := g.Assessments[i]; math.Abs(a.Value-b.Value) > 1e-9 || a.Status != b.Status {
						t.Errorf("%d %s %s: %+v, want %+v", year, d, p, b, a)
					}
				}
			}
		}
	}
	if days != 6+2 { // air-1: 3 days of pm10 and of no2; air-2: not 1 January (17 hours)
		t.Errorf("%d daily means in all, want 8", days)
	}
}
