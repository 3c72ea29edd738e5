package influx_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestHourlyMeans writes readings of three devices around a year boundary
// (one of them changing district midway, so its points are two series)
// and reads back the hourly means of two of them.
func TestHourlyMeans(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Date(2025, 12, 31, 22, 0, 0, 0, time.UTC)
	var rs []kessel.Reading
	for i := range 6 { // 22:00, 22:20, 22:40, 23:00, 23:20, 23:40
		at := base.Add(time.Duration(i) * 20 * time.Minute)
		district := "Mitte"
		if i%2 == 1 {
			district = "Nord"
		}
		rs = append(rs,
			kessel.Reading{Device: "a", Kind: "air_quality", Time: at, District: district, Values: map[string]float64{"pm10": float64(10 * (i + 1)), "no2": 5}},
			kessel.Reading{Device: "b", Kind: "air_quality", Time: at.Add(time.Hour), Values: map[string]float64{"pm10": 1, "temperature": 3}},
			kessel.Reading{Device: "c", Kind: "air_quality", Time: at, Values: map[string]float64{"pm10": 1000}})
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	got, err := c.HourlyMeans(ctx, []string{"a", "b"}, []string{"pm10", "no2"}, base.Add(-time.Hour), base.Add(3*time.Hour+30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		device string
		hour   time.Time
	}
	want := map[key]map[string]float64{
		{"a", base}:                    {"pm10": 20, "no2": 5}, // (10+20+30)/3
		{"a", base.Add(time.Hour)}:     {"pm10": 50, "no2": 5}, // (40+50+60)/3
		{"b", base.Add(time.Hour)}:     {"pm10": 1},
		{"b", base.Add(2 * time.Hour)}: {"pm10": 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d hourly readings, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		w, ok := want[key{r.Device, r.Time.UTC()}]
		if !ok {
			t.Errorf("unexpected %s at %s: %v", r.Device, r.Time, r.Values)
			continue
		}
		if len(r.Values) != len(w) {
			t.Errorf("%s at %s: %v, want %v", r.Device, r.Time, r.Values, w)
		}
		for f, v := range w {
			if r.Values[f] != v {
				t.Errorf("%s at %s: %s = %v, want %v", r.Device, r.Time, f, r.Values[f], v)
			}
		}
	}
	for _, bad := range []struct {
		devices, fields []string
		from, to        time.Time
	}{
		{[]string{"a b"}, []string{"pm10"}, base, base.Add(time.Hour)},
		{[]string{"a"}, []string{"PM10"}, base, base.Add(time.Hour)},
		{[]string{"a"}, []string{"pm10"}, base, base.Add(time.Minute)},
	} {
		if _, err := c.HourlyMeans(ctx, bad.devices, bad.fields, bad.from, bad.to); kessel.ErrorCode(err) != kessel.EINVALID {
			t.Errorf("HourlyMeans(%v, %v, %s, %s): %v, want EINVALID", bad.devices, bad.fields, bad.from, bad.to, err)
		}
	}
}

// TestHourlyMeansPassingOnly: the hourly means (the EU air-quality
// statistics' input) take only the values quality control passed; a
// field without flags in the same hours is unchanged, and an hour whose
// values all failed has no mean. The same from raw readings and, once
// rolled up, from the hourly rollups (a reading written after the rollup
// shows that they, not the raw readings, answered).
func TestHourlyMeansPassingOnly(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var rs []kessel.Reading
	for i, v := range []struct {
		min        int
		pm10, flag float64 // flag 0: none stored
	}{{0, 10, 1}, {10, 900, 4}, {20, 60, 3}, {30, 20, 0}, {40, 30, 2}, {70, 800, 4}} {
		r := kessel.Reading{Device: "f", Kind: "air_quality", Time: base.Add(time.Duration(v.min) * time.Minute), Values: map[string]float64{"pm10": v.pm10, "no2": float64(i)}}
		if v.flag != 0 {
			r.Values["qc.pm10"] = v.flag
		}
		rs = append(rs, r)
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	rollUp := func(t *testing.T) {
		if _, err := c.ComputeHours(ctx, base, base.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := c.SaveRollupMark(ctx, kessel.RollupMark{Final: base.Add(2 * time.Hour), Done: base.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		late := kessel.Reading{Device: "f", Kind: "air_quality", Time: base.Add(50 * time.Minute), Values: map[string]float64{"pm10": 1000}}
		if err := c.WriteReadings(ctx, []kessel.Reading{late}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		before func(t *testing.T)
		fields []string
		want   map[time.Time]map[string]float64
	}{
		{"raw: one field", nil, []string{"pm10"}, map[time.Time]map[string]float64{base: {"pm10": 20}}}, // (10+20+30)/3
		{"raw: two fields", nil, []string{"pm10", "no2"}, map[time.Time]map[string]float64{base: {"pm10": 20, "no2": 2}, base.Add(time.Hour): {"no2": 5}}},
		{"rollups: one field", rollUp, []string{"pm10"}, map[time.Time]map[string]float64{base: {"pm10": 20}}},
		{"rollups: two fields", nil, []string{"pm10", "no2"}, map[time.Time]map[string]float64{base: {"pm10": 20, "no2": 2}, base.Add(time.Hour): {"no2": 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			got, err := c.HourlyMeans(ctx, []string{"f"}, tc.fields, base, base.Add(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d hours, want %d: %+v", len(got), len(tc.want), got)
			}
			for _, r := range got {
				if w := tc.want[r.Time.UTC()]; !maps.Equal(r.Values, w) {
					t.Errorf("%s: %v, want %v", r.Time, r.Values, w)
				}
			}
		})
	}
}
