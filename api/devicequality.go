package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/kessel-city/kessel"
)

// FlagCounter counts a device's stored quality flags (influx.Client):
// per field, flag and window of length every ending at to.
type FlagCounter interface {
	FlagCounts(ctx context.Context, device string, from, to time.Time, every time.Duration) ([]kessel.FlagCount, error)
}

// qualityPeriods are the spans GET /devices/{id}/quality reports on.
var qualityPeriods = []struct {
	name string
	days int
}{{"day", 1}, {"week", 7}, {"month", 30}}

// qualityShare is a device's quality over one period: how many values
// had a flag (missing ones not counted), the share of them passing (flag
// 1 or 2; null without values), the count per flag, and the same per field.
type qualityShare struct {
	From    time.Time             `json:"from"`
	To      time.Time             `json:"to"`
	Values  int                   `json:"values"`
	Passing *float64              `json:"passing"`
	Flags   map[string]int        `json:"flags"`
	Fields  map[string]fieldShare `json:"fields,omitempty"`
}

type fieldShare struct {
	Values  int      `json:"values"`
	Passing *float64 `json:"passing"`
}

// handleDeviceQuality serves a device's share of passing values over the
// last day, week and month (30 days), from the stored flags.
func (s *server) handleDeviceQuality() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _, err := s.lookup(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		fc, ok := s.readings.(FlagCounter)
		if !ok {
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "stored quality flags are not available on this instance"))
			return
		}
		to := s.opts.Now().UTC()
		counts, err := fc.FlagCounts(r.Context(), d.ID, to.Add(-30*24*time.Hour), to, 24*time.Hour)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		periods := map[string]qualityShare{}
		for _, p := range qualityPeriods {
			periods[p.name] = shareOf(counts, to.Add(-time.Duration(p.days)*24*time.Hour), to)
		}
		s.encode(w, r, struct {
			Device  string                  `json:"device"`
			Periods map[string]qualityShare `json:"periods"`
		}{d.ID, periods}, reply{cache: cacheHistory})
	})
}

// shareOf sums the counts of windows starting in [from, to).
func shareOf(counts []kessel.FlagCount, from, to time.Time) qualityShare {
	q := qualityShare{From: from, To: to, Flags: map[string]int{}}
	pass, fieldPass := 0, map[string]int{}
	for _, c := range counts {
		if c.Start.Before(from) || !c.Start.Before(to) {
			continue
		}
		q.Flags[strconv.Itoa(int(c.Flag))] += c.Count
		if c.Flag == kessel.FlagMissing {
			continue
		}
		if q.Fields == nil {
			q.Fields = map[string]fieldShare{}
		}
		fs := q.Fields[c.Field]
		fs.Values += c.Count
		q.Values += c.Count
		if c.Flag.Passing() {
			pass += c.Count
			fieldPass[c.Field] += c.Count
		}
		q.Fields[c.Field] = fs
	}
	q.Passing = ratio(pass, q.Values)
	for f, fs := range q.Fields {
		fs.Passing = ratio(fieldPass[f], fs.Values)
		q.Fields[f] = fs
	}
	return q
}

func ratio(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	r := float64(n) / float64(of)
	return &r
}
