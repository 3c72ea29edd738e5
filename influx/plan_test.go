package influx_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestWholeDayHistoryIncludingToday: a day's count (every=24h, fn=count)
// over a window that reaches into today counts the readings in the
// window, whatever the rollups cover. Rolling up began yesterday at noon
// (Since), as when Kessel started then with readings already stored: the
// readings of yesterday morning are in no rollup, and yesterday's daily
// rollup holds only its afternoon, so yesterday comes from raw readings
// (the planner took it from that daily rollup, and a day that ended
// before rolling up began came back empty). Each window counts only the
// readings in [from, to), as raw aggregation does, and is labelled with
// its start; the district series of the device's district likewise.
func TestWholeDayHistoryIncludingToday(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	yesterday := today.Add(-24 * time.Hour)
	// One reading every 20 minutes from yesterday 00:10 to now.
	var rs []kessel.Reading
	for at := yesterday.Add(10 * time.Minute); at.Before(now); at = at.Add(20 * time.Minute) {
		rs = append(rs, kessel.Reading{Device: "air-1", Kind: "air_quality", District: "Mitte", Time: at, Values: map[string]float64{"pm10": 10}})
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	count := func(from, to time.Time) int {
		n := 0
		for _, r := range rs {
			if !r.Time.Before(from) && r.Time.Before(to) {
				n++
			}
		}
		return n
	}
	hour := now.Truncate(time.Hour)
	since := yesterday.Add(12 * time.Hour)
	if _, err := c.ComputeHours(ctx, since, hour); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ComputeDays(ctx, yesterday, today); err != nil {
		t.Fatal(err)
	}
	marks := []struct {
		name  string
		mark  kessel.RollupMark
		rolls bool // yesterday and today by hour is served from rollups in part
	}{
		{"never rolled up", kessel.RollupMark{}, false},
		{"rolled up to the last closed hour", kessel.RollupMark{Final: hour.Add(-time.Hour), Done: hour, Since: since}, true},
		{"rolled up to midnight", kessel.RollupMark{Final: today, Done: today, Since: since}, true},
		{"rolled up to yesterday 15:00", kessel.RollupMark{Final: since.Add(3 * time.Hour), Done: since.Add(3 * time.Hour), Since: since}, true},
	}
	spans := []struct {
		name     string
		from, to time.Time
		every    time.Duration
	}{
		{"last 24 hours by day", now.Add(-24 * time.Hour), now, 24 * time.Hour},
		{"yesterday and today by day", yesterday, now, 24 * time.Hour},
		{"today by day", today, now, 24 * time.Hour},
		{"today by day to tomorrow", today, today.Add(24 * time.Hour), 24 * time.Hour},
		{"since yesterday noon by day", yesterday.Add(12 * time.Hour), now.Add(time.Hour), 24 * time.Hour},
		{"last 24 hours by hour", now.Add(-24 * time.Hour), now, time.Hour},
		{"yesterday and today by hour", yesterday, now, time.Hour},
	}
	for _, m := range marks {
		if err := c.SaveRollupMark(ctx, m.mark); err != nil {
			t.Fatal(err)
		}
		for _, sp := range spans {
			t.Run(m.name+"/"+sp.name, func(t *testing.T) {
				q := kessel.HistoryQuery{Device: "air-1", From: sp.from, To: sp.to, Every: sp.every, Fn: "count"}
				got, err := c.History(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				served, _ := c.Resolve(ctx, q)
				want := map[string]int{}
				for w := sp.from.Truncate(sp.every); w.Before(sp.to); w = w.Add(sp.every) {
					if n := count(maxT(w, sp.from), minT(w.Add(sp.every), sp.to)); n > 0 {
						want[w.Format(time.RFC3339)] = n
					}
				}
				gotm := map[string]int{}
				for _, r := range got {
					gotm[r.Time.UTC().Format(time.RFC3339)] = int(r.Values["pm10"])
				}
				if rolled := served != kessel.ResolutionRaw; sp.name == "yesterday and today by hour" && rolled != m.rolls {
					t.Errorf("served %s", served)
				}
				if fmt.Sprint(gotm) != fmt.Sprint(want) {
					t.Errorf("served %s: counts %v, want %v", served, gotm, want)
				}
				ds, err := c.DistrictSeries(ctx, "Mitte", "air_quality", "pm10", q) // the district has air-1 alone
				if err != nil {
					t.Fatal(err)
				}
				clear(gotm)
				for _, r := range ds {
					gotm[r.Time.UTC().Format(time.RFC3339)] = int(r.Values["pm10"])
				}
				if fmt.Sprint(gotm) != fmt.Sprint(want) {
					t.Errorf("district series, served %s: counts %v, want %v", served, gotm, want)
				}
			})
		}
	}
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
