package main

import (
	"context"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/airquality"
)

// fakeHourly serves hourly means from a list and records each call's span.
type fakeHourly struct {
	rs    []kessel.Reading
	spans [][2]time.Time
}

func (f *fakeHourly) HourlyMeans(_ context.Context, devices, fields []string, from, to time.Time) ([]kessel.Reading, error) {
	f.spans = append(f.spans, [2]time.Time{from, to})
	var out []kessel.Reading
	for _, r := range f.rs {
		if !r.Time.Before(from) && r.Time.Before(to) && (r.Device == devices[0] || len(devices) > 1 && r.Device == devices[1]) {
			out = append(out, r)
		}
	}
	return out, nil
}

// TestExceedanceCounter: the first count reads the year, later ones only
// the days not yet settled, and the counts equal the EU rules' (a day of
// 17 hours does not count).
func TestExceedanceCounter(t *testing.T) {
	cet := func(m time.Month, d, h int) time.Time { return time.Date(2025, m, d, h, 0, 0, 0, airquality.CET) }
	src := &fakeHourly{}
	day := func(m time.Month, d, hours int) {
		for h := range hours {
			src.rs = append(src.rs, kessel.Reading{Device: "a", Time: cet(m, d, h).UTC(), Values: map[string]float64{"pm10": 80}})
		}
	}
	day(time.March, 1, 24)
	day(time.March, 5, 17) // too few hours
	day(time.March, 10, 24)
	day(time.March, 19, 24)
	day(time.March, 20, 18)
	c := newExceedanceCounter(src)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		at        time.Time
		want      int
		calls     int
		firstFrom time.Time
	}{
		{"first count reads the year", cet(time.March, 20, 12), 4, 3, airquality.YearStart(2025)},
		{"again: only yesterday and today", cet(time.March, 20, 13), 4, 1, cet(time.March, 19, 0)},
		{"next day: yesterday settles", cet(time.March, 21, 12), 4, 1, cet(time.March, 19, 0)},
		{"a new year counts from zero", time.Date(2026, 1, 1, 0, 30, 0, 0, airquality.CET), 0, 1, airquality.YearStart(2026)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src.spans = nil
			got, err := c.ExceedanceDays(ctx, []string{"a", "b"}, "pm10", 50, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if got["a"] != tc.want || got["b"] != 0 || len(src.spans) != tc.calls || !src.spans[0][0].Equal(tc.firstFrom) {
				t.Errorf("counts %v from %d calls %v; want a=%d from %d calls starting %v", got, len(src.spans), src.spans, tc.want, tc.calls, tc.firstFrom)
			}
		})
	}
}
