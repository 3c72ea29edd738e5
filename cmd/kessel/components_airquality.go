package main

import (
	"context"
	"slices"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/airquality"
)

// hourlyMeans reads hourly means of stored readings (influx.Client).
type hourlyMeans interface {
	HourlyMeans(ctx context.Context, devices, fields []string, from, to time.Time) ([]kessel.Reading, error)
}

// exceedanceCounter counts the alert engine's exceedance days by the EU
// rules of package airquality, from the hourly means of stored readings.
type exceedanceCounter struct{ store hourlyMeans }

// ExceedanceDays implements alert.ExceedanceCounter.
func (c exceedanceCounter) ExceedanceDays(ctx context.Context, devices []string, field string, threshold float64, at time.Time) (map[string]int, error) {
	year := airquality.YearOf(at)
	from, to := airquality.YearSpan(year)
	out := map[string]int{}
	for batch := range slices.Chunk(devices, 500) {
		rs, err := c.store.HourlyMeans(ctx, batch, []string{field}, from, to)
		if err != nil {
			return nil, err
		}
		hours := map[string][]airquality.Hour{}
		for _, rd := range rs {
			if v, ok := rd.Values[field]; ok {
				hours[rd.Device] = append(hours[rd.Device], airquality.Hour{Start: rd.Time, Mean: v})
			}
		}
		for d, hs := range hours {
			if n := airquality.ExceedanceDays(year, hs, threshold); n > 0 {
				out[d] = n
			}
		}
	}
	return out, nil
}

// alertsSince is how far back alert states are restored: a week, or to
// the start of the year (CET) when an exceedance_days rule may have fired
// months ago and must not fire again.
func alertsSince(rules []kessel.Rule, now time.Time) time.Time {
	since := now.Add(-7 * 24 * time.Hour)
	for _, r := range rules {
		if r.Condition == kessel.CondExceedanceDays {
			if y := airquality.YearStart(airquality.YearOf(now)); y.Before(since) {
				return y
			}
			return since
		}
	}
	return since
}
