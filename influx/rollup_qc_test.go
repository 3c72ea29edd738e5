package influx_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestRollupsExcludeFlagged: hourly and daily rollups take only the values
// quality control passed (flag 1, 2 or none) and count the others
// (suspect, fail, missing) as excluded; an hour whose values all failed
// keeps its excluded count, with no statistics, and adds nothing to the
// history served from the rollups. A flag stored as a float (written past
// Kessel) counts the same.
func TestRollupsExcludeFlagged(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)
	h0, h1 := day.Add(5*time.Hour), day.Add(6*time.Hour)
	var rs []kessel.Reading
	for i, v := range []struct {
		at   time.Time
		pm10 float64
		flag float64 // 0: stored without a flag
	}{
		{h0, 10, 1}, {h0.Add(time.Minute), 20, 2}, {h0.Add(2 * time.Minute), 30, 0},
		{h0.Add(3 * time.Minute), 900, 4}, {h0.Add(4 * time.Minute), 55, 3}, {h0.Add(5 * time.Minute), 0, 9},
		{h1.Add(10 * time.Minute), 700, 4},
	} {
		r := kessel.Reading{Device: "q1", Kind: "air_quality", District: "Mitte", Time: v.at, Values: map[string]float64{"pm10": v.pm10, "humidity": float64(50 + i)}}
		if v.flag != 0 {
			r.Values["qc.pm10"] = v.flag
		}
		rs = append(rs, r)
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	srv.WriteLines(t, "kessel", fmt.Sprintf("noise,device=n1 level=40,qc.level=1 %d\nnoise,device=n1 level=99,qc.level=4 %d", h0.UnixNano(), h0.Add(time.Minute).UnixNano()))
	if _, err := c.ComputeHours(ctx, day, day.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ComputeDays(ctx, day, day.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	hours := readRollups(t, c, kessel.RollupQuery{Resolution: kessel.ResolutionHour, From: day, To: day.Add(24 * time.Hour)})
	days := readRollups(t, c, kessel.RollupQuery{Resolution: kessel.ResolutionDay, From: day, To: day.Add(24 * time.Hour)})
	at := func(dev, field string, t time.Time) string { return dev + "/" + field + "/" + t.Format(time.RFC3339) }
	for _, tc := range []struct {
		name string
		got  kessel.Rollup
		want kessel.Rollup // Time, Device and Field not compared
	}{
		{"an hour without its suspect, failed and missing values", hours[at("q1", "pm10", h0)], kessel.Rollup{Mean: 20, Min: 10, Max: 30, Count: 3, Excluded: 3}},
		{"an hour whose one value failed", hours[at("q1", "pm10", h1)], kessel.Rollup{Count: 0, Excluded: 1}},
		{"a field without flags", hours[at("q1", "humidity", h0)], kessel.Rollup{Mean: 52.5, Min: 50, Max: 55, Count: 6}},
		{"a float flag written past Kessel", hours[at("n1", "level", h0)], kessel.Rollup{Mean: 40, Min: 40, Max: 40, Count: 1, Excluded: 1}},
		{"the day: passing values, excluded counts added up", days[at("q1", "pm10", day)], kessel.Rollup{Mean: 20, Min: 10, Max: 30, Count: 3, Excluded: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, w := tc.got, tc.want
			if g.Count != w.Count || g.Excluded != w.Excluded || math.Abs(g.Mean-w.Mean) > 1e-9 || g.Min != w.Min || g.Max != w.Max {
				t.Errorf("rollup %+v, want mean %g min %g max %g count %d excluded %d", g, w.Mean, w.Min, w.Max, w.Count, w.Excluded)
			}
		})
	}
	// Stored as a field of its own, beside the statistics.
	resp, err := http.Get(srv.URL + "/query?" + url.Values{"db": {"kessel"}, "q": {`SELECT "pm10_excluded", "pm10_count", "pm10_mean" FROM "rollup_1h"."air_quality"`}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"pm10_excluded"`) || !strings.Contains(string(body), `,3,3,20]`) || !strings.Contains(string(body), `,1,0,null]`) {
		t.Errorf("stored hourly rollups: %s", body)
	}
	// The history from the hourly rollups: h1 has no passing value, so no window.
	if err := c.SaveRollupMark(ctx, kessel.RollupMark{Final: day.Add(24 * time.Hour), Done: day.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.History(ctx, kessel.HistoryQuery{Device: "q1", From: day, To: day.Add(24 * time.Hour), Fields: []string{"pm10"}, Every: time.Hour, Fn: "mean", Resolution: kessel.ResolutionHour})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Time.Equal(h0) || got[0].Values["pm10"] != 20 {
		t.Errorf("history from hourly rollups: %+v, want one window at %s with pm10 20", got, h0)
	}
}
