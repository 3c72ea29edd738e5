package main

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/airquality"
)

// hourlyMeans reads hourly means of stored readings (influx.Client).
type hourlyMeans interface {
	HourlyMeans(ctx context.Context, devices, fields []string, from, to time.Time) ([]kessel.Reading, error)
}

// Each HourlyMeans call of the counter covers at most this many devices
// and days, so that a year of hourly means (from rollups, or raw readings
// where there are none yet) is read in parts InfluxDB answers within its
// timeout.
const (
	countBatch = 50
	countSpan  = 31 * 24 * time.Hour
)

// exceedanceCounter counts the alert engine's exceedance days by the EU
// rules of package airquality, from the hourly means of stored readings.
// Days that ended more than a day ago are settled: counted once and
// remembered, so that a check every few minutes reads only the last two
// days, and the whole year only on the first check after a start.
type exceedanceCounter struct {
	store hourlyMeans
	mu    sync.Mutex
	done  map[countKey]settledDays
}

type countKey struct {
	device, field string
	threshold     float64
	year          int
}

// settledDays are the exceedance days before through (a CET midnight).
type settledDays struct {
	through time.Time
	days    int
}

func newExceedanceCounter(store hourlyMeans) *exceedanceCounter {
	return &exceedanceCounter{store: store, done: map[countKey]settledDays{}}
}

// ExceedanceDays implements alert.ExceedanceCounter.
func (c *exceedanceCounter) ExceedanceDays(ctx context.Context, devices []string, field string, threshold float64, at time.Time) (map[string]int, error) {
	year := airquality.YearOf(at)
	from, to := airquality.YearSpan(year)
	local := at.In(airquality.CET)
	settle := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, airquality.CET) // days before yesterday are final
	if settle.Before(from) {
		settle = from
	}
	if end := settle.AddDate(0, 0, 2); end.Before(to) { // through today (CET): nothing later is counted yet
		to = end
	}
	out := map[string]int{}
	groups := map[int64][]string{} // devices by the end of their settled days
	c.mu.Lock()
	for k := range c.done {
		if k.year < year {
			delete(c.done, k)
		}
	}
	for _, d := range devices {
		s, ok := c.done[countKey{d, field, threshold, year}]
		if !ok {
			s.through = from
		}
		groups[s.through.UnixNano()] = append(groups[s.through.UnixNano()], d)
	}
	c.mu.Unlock()
	for start, devs := range groups {
		hours, err := c.read(ctx, devs, field, time.Unix(0, start).In(airquality.CET), to)
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			settled, open := 0, 0
			for _, day := range airquality.DailyMeans(year, hours[d]) {
				if day.Mean == nil || *day.Mean <= threshold {
					continue
				}
				if date, _ := time.ParseInLocation(time.DateOnly, day.Date, airquality.CET); date.Before(settle) {
					settled++
				} else {
					open++
				}
			}
			k := countKey{d, field, threshold, year}
			c.mu.Lock()
			s := c.done[k]
			if settle.After(s.through) {
				s.days, s.through = s.days+settled, settle
				c.done[k] = s
			} else {
				open += settled
			}
			c.mu.Unlock()
			if n := s.days + open; n > 0 {
				out[d] = n
			}
		}
	}
	return out, nil
}

// read returns the devices' hourly values of field in [from, to), read
// in parts of countBatch devices and countSpan.
func (c *exceedanceCounter) read(ctx context.Context, devices []string, field string, from, to time.Time) (map[string][]airquality.Hour, error) {
	hours := map[string][]airquality.Hour{}
	for batch := range slices.Chunk(devices, countBatch) {
		for start := from; start.Before(to); start = start.Add(countSpan) {
			end := start.Add(countSpan)
			if end.After(to) {
				end = to
			}
			rs, err := c.store.HourlyMeans(ctx, batch, []string{field}, start, end)
			if err != nil {
				return nil, err
			}
			for _, rd := range rs {
				if v, ok := rd.Values[field]; ok {
					hours[rd.Device] = append(hours[rd.Device], airquality.Hour{Start: rd.Time, Mean: v})
				}
			}
		}
	}
	return hours, nil
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

// deviceClass is a device's measurement class in the registry
// (indicative for a device it does not know).
func (a *app) deviceClass(id string) kessel.MeasurementClass {
	d, _, _ := a.reg.Get(id)
	return d.Class()
}
