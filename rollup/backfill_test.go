package rollup_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/rollup"
	"github.com/kessel-city/kessel/simulators"
)

// backfill writes three weeks of the simulator's air-quality devices, one
// reading each per 15 minutes, up to now, in two districts.
func backfill(t *testing.T, c *influx.Client, start, end time.Time) []string {
	t.Helper()
	fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: 4, Kinds: []string{"air_quality"}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var rs []kessel.Reading
	for i, d := range fleet {
		ids = append(ids, d.ID)
		district := []string{"Nord", "Süd"}[i%2]
		for ts := start; ts.Before(end); ts = ts.Add(15 * time.Minute) {
			rs = append(rs, kessel.Reading{Device: d.ID, Kind: d.Kind, District: district, Department: "umweltschutz", Time: ts, Values: d.Values(ts)})
		}
	}
	for i := 0; i < len(rs); i += 5000 {
		write(t, c, rs[i:min(i+5000, len(rs))])
	}
	return ids
}

// series is a history answer keyed by window start.
func series(t *testing.T, rs []kessel.Reading, err error, field string, start time.Time) map[time.Time]float64 {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	out := map[time.Time]float64{}
	for _, r := range rs {
		// InfluxDB 1.8's aggregateWindow answers a window before the
		// range's start, holding the point at the start a second time.
		if v, ok := r.Values[field]; ok && !r.Time.Before(start) {
			out[r.Time] = v
		}
	}
	return out
}

// TestHistoryFromRollupsAfterRawExpired: three weeks of simulated
// readings, rolled up; raw answers are taken, then the raw readings older
// than a week are deleted (InfluxDB's own retention enforcement runs only
// every 30 minutes and drops whole shards, so the test deletes them) and
// the raw retention set to 7 days. The same history requests (device
// and district, hourly and daily, mean, min, max, count, sum) are then
// served from the rollups with the same figures, raw requests for the
// deleted weeks answer EGONE naming the rollups, and resolution=1h
// serves only rollups.
func TestHistoryFromRollupsAfterRawExpired(t *testing.T) {
	srv := influxtest.Start(t)
	buckets := influx.Options{Bucket: "raw/autogen", HourBucket: "kessel/rollup_1h", DayBucket: "kessel/rollup_1d", RecordBucket: "kessel/records"}
	c := newStore(t, srv.URL, buckets)
	ctx := context.Background()
	now := time.Now().UTC()
	start := now.Truncate(24 * time.Hour).Add(-21 * 24 * time.Hour)
	ids := backfill(t, c, start, now)
	r, err := rollup.New(c, rollup.Options{Grace: time.Millisecond, Chunk: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	if got := r.Mark().Done; !got.Equal(now.Truncate(time.Hour)) {
		t.Fatalf("rolled up to %s, want %s", got, now.Truncate(time.Hour))
	}
	closed := now.Truncate(24 * time.Hour) // compare whole days and hours
	type ask struct {
		name     string
		every    time.Duration
		fn       string
		district string
	}
	asks := []ask{{"hourly mean", time.Hour, "mean", ""}, {"hourly max", time.Hour, "max", ""}, {"3-hourly count", 3 * time.Hour, "count", ""},
		{"daily mean", 24 * time.Hour, "mean", ""}, {"daily min", 24 * time.Hour, "min", ""}, {"daily sum", 24 * time.Hour, "sum", ""},
		{"district daily mean", 24 * time.Hour, "mean", "Nord"}, {"district hourly max", time.Hour, "max", "Süd"}}
	get := func(c *influx.Client, a ask, res string) map[time.Time]float64 {
		q := kessel.HistoryQuery{Device: ids[0], From: start, To: closed, Every: a.every, Fn: a.fn, Resolution: res, Fields: []string{"pm10"}}
		if a.district != "" {
			rs, err := c.DistrictSeries(ctx, a.district, "air_quality", "pm10", q)
			return series(t, rs, err, "pm10", start)
		}
		rs, err := c.History(ctx, q)
		return series(t, rs, err, "pm10", start)
	}
	fromRaw := map[string]map[time.Time]float64{}
	for _, a := range asks {
		fromRaw[a.name] = get(c, a, kessel.ResolutionRaw)
	}
	if err := srv.Query(t, "raw", "DELETE WHERE time < '"+closed.Add(-7*24*time.Hour).Format(time.RFC3339)+"'"); err != nil {
		t.Fatal(err)
	}
	if rs, err := c.History(ctx, kessel.HistoryQuery{Device: ids[0], From: start, To: closed.Add(-8 * 24 * time.Hour), Resolution: kessel.ResolutionRaw}); err != nil || len(rs) > 0 {
		t.Fatalf("raw readings left after the delete: %d (%v)", len(rs), err)
	}
	buckets.RawRetention = 7 * 24 * time.Hour
	c2 := newStore(t, srv.URL, buckets)
	for _, a := range asks {
		t.Run(a.name, func(t *testing.T) {
			want := fromRaw[a.name]
			if len(want) < int(closed.Sub(start)/a.every) {
				t.Fatalf("raw answer has %d windows, want %d", len(want), closed.Sub(start)/a.every)
			}
			got := get(c2, a, "")
			for ts, w := range want {
				if g, ok := got[ts]; !ok || math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
					t.Errorf("window from %s: %v from rollups (present %v), %v from raw", ts, g, ok, w)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d windows from rollups, %d from raw", len(got), len(want))
			}
		})
	}
	served, err := c2.Resolve(ctx, kessel.HistoryQuery{Device: ids[0], From: start, To: now, Every: time.Hour, Fn: "mean"})
	if err != nil || served != "1h+raw" {
		t.Errorf("a three-week hourly mean up to now is served by %q (%v), want 1h+raw", served, err)
	}
	for _, q := range []kessel.HistoryQuery{
		{Device: ids[0], From: start, To: now},
		{Device: ids[0], From: start, To: now, Every: time.Hour, Fn: "last"},
		{Device: ids[0], From: start, To: now, Every: time.Hour, Resolution: kessel.ResolutionRaw},
	} {
		if _, err := c2.History(ctx, q); kessel.ErrorCode(err) != kessel.EGONE || !strings.Contains(kessel.ErrorMessage(err), "every=1h") {
			t.Errorf("raw readings older than the retention (every %s, fn %q): %v, want EGONE naming the rollups", q.Every, q.Fn, err)
		}
	}
	rs, err := c2.History(ctx, kessel.HistoryQuery{Device: ids[0], From: now.Add(-3 * time.Hour), To: now, Every: time.Hour, Resolution: kessel.ResolutionHour})
	if err != nil || len(rs) != 3 {
		t.Errorf("resolution=1h over the last 3 hours: %d windows (%v), want 3: the open hour is not served from raw", len(rs), err)
	}
}
