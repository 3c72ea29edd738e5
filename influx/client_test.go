package influx_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
)

func newClient(t *testing.T) (*influx.Client, *influxtest.Server) {
	t.Helper()
	srv := influxtest.Start(t)
	c, err := influx.New(influx.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct{ name, url, bucket string }{
		{"no scheme", "localhost:8086", ""},
		{"ftp", "ftp://x", ""},
		{"bucket with two slashes", "http://x", "a/b/c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := influx.New(influx.Options{URL: tc.url, Bucket: tc.bucket})
			if kessel.ErrorCode(err) != kessel.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestWriteAndReadBack(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	var rs []kessel.Reading
	for i := range 10 {
		rs = append(rs, kessel.Reading{
			Device: "air-1", Kind: "air_quality", Time: base.Add(time.Duration(i) * time.Minute),
			Values: map[string]float64{"pm10": float64(i), "pm25": float64(i) / 2}, District: "Stuttgart-Mitte", Source: "native",
		})
	}
	mobile := kessel.Reading{Device: "tram 7,a=b", Kind: "air_quality", Time: base, Values: map[string]float64{"pm10": 3}, Location: &orb.Point{9.18, 48.77}}
	rs = append(rs, mobile)
	// A rewrite of the same point must overwrite, not duplicate.
	rs = append(rs, rs[0])
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}

	got, err := c.History(ctx, kessel.HistoryQuery{Device: "air-1", From: base, To: base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("history: got %d readings, want 10: %+v", len(got), got)
	}
	if got[9].Values["pm10"] != 9 || got[9].Values["pm25"] != 4.5 || !got[9].Time.Equal(base.Add(9*time.Minute)) {
		t.Errorf("last reading = %+v", got[9])
	}
	if got[0].Kind != "air_quality" || got[0].District != "Stuttgart-Mitte" {
		t.Errorf("tags not read back: %+v", got[0])
	}

	fields, err := c.History(ctx, kessel.HistoryQuery{Device: "air-1", From: base, To: base.Add(time.Hour), Fields: []string{"pm25"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fields[0].Values["pm10"]; ok || len(fields) != 10 {
		t.Errorf("fields filter: %+v", fields[0])
	}

	agg, err := c.History(ctx, kessel.HistoryQuery{Device: "air-1", From: base, To: base.Add(time.Hour), Every: 5 * time.Minute, Fn: "mean"})
	if err != nil {
		t.Fatal(err)
	}
	if len(agg) != 2 || agg[0].Values["pm10"] != 2 || agg[1].Values["pm10"] != 7 {
		t.Errorf("5m mean: %+v", agg)
	}
	cnt, err := c.History(ctx, kessel.HistoryQuery{Device: "air-1", From: base, To: base.Add(time.Hour), Every: time.Hour, Fn: "count"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cnt) != 1 || cnt[0].Values["pm10"] != 10 {
		t.Errorf("count: %+v", cnt)
	}

	m, err := c.History(ctx, kessel.HistoryQuery{Device: "tram 7,a=b", From: base, To: base.Add(time.Hour)})
	if err == nil {
		t.Fatalf("device id with space accepted: %+v", m)
	}

	latest, err := c.Latest(ctx, base.Add(-time.Hour), base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 {
		t.Fatalf("latest: got %d devices, want 2: %+v", len(latest), latest)
	}
	var tram kessel.Reading
	for _, r := range latest {
		if r.Device == "air-1" && r.Values["pm10"] != 9 {
			t.Errorf("latest air-1 = %+v", r)
		}
		if strings.HasPrefix(r.Device, "tram") {
			tram = r
		}
	}
	if tram.Location == nil || math.Abs(tram.Location[0]-9.18) > 1e-9 {
		t.Errorf("mobile location not read back: %+v", tram)
	}
}

func TestHistoryRejectsBadQueries(t *testing.T) {
	c, err := influx.New(influx.Options{URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		q    kessel.HistoryQuery
	}{
		{"bad device", kessel.HistoryQuery{Device: "a b", From: now, To: now.Add(time.Hour)}},
		{"from after to", kessel.HistoryQuery{Device: "a", From: now, To: now.Add(-time.Hour)}},
		{"bad field", kessel.HistoryQuery{Device: "a", From: now, To: now.Add(time.Hour), Fields: []string{"PM10\""}}},
		{"bad fn", kessel.HistoryQuery{Device: "a", From: now, To: now.Add(time.Hour), Every: time.Minute, Fn: "median); drop("}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.History(context.Background(), tc.q); kessel.ErrorCode(err) != kessel.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestUnavailableServer(t *testing.T) {
	c, err := influx.New(influx.Options{URL: "http://127.0.0.1:1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = c.WriteReadings(context.Background(), []kessel.Reading{{Device: "a", Time: time.Now(), Values: map[string]float64{"x": 1}}})
	if kessel.ErrorCode(err) != kessel.EUNAVAILABLE {
		t.Fatalf("write to closed port: got %v, want EUNAVAILABLE", err)
	}
	if _, err := c.Ping(context.Background()); kessel.ErrorCode(err) != kessel.EUNAVAILABLE {
		t.Fatalf("ping closed port: got %v", err)
	}
}

func TestDeadLetters(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	dl := kessel.DeadLetter{Time: time.Now(), Reason: "malformed_json", Topic: "kessel/devices/x/readings", Device: "x", Detail: "bad \"quote\"", Payload: "{\"a\":\n1\\"}
	if err := c.WriteDeadLetters(ctx, []kessel.DeadLetter{dl}); err != nil {
		t.Fatal(err)
	}
	got, err := c.DeadLetters(ctx, kessel.DeadLetterQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Reason != "malformed_json" || got[0].Detail != dl.Detail || got[0].Device != "x" {
		t.Fatalf("dead letters: %+v", got)
	}
}

func TestRecent(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	var rs []kessel.Reading
	for i := range 120 {
		for _, d := range []string{"a", "b"} {
			rs = append(rs, kessel.Reading{Device: d, Kind: "air_quality", Time: base.Add(time.Duration(i) * time.Minute), Values: map[string]float64{"pm10": float64(i), "pm25": 1}})
		}
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	got, err := c.Recent(ctx, "air_quality", "pm10", base, base.Add(2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range got {
		per[r.Device]++
		if _, ok := r.Values["pm25"]; ok || r.Kind != "air_quality" {
			t.Fatalf("reading %+v", r)
		}
	}
	if len(got) != 4 || per["a"] != 2 || per["b"] != 2 {
		t.Errorf("recent: %+v", got)
	}
}

// TestUsage saves running totals twice (the second overwrites the first)
// for two instances and reads every count back.
func TestUsage(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	day := time.Now().UTC().Format(time.DateOnly)
	first := []kessel.UsageCount{
		{Day: day, Endpoint: "latest", Dataset: "air_quality", Requests: 3, Instance: "a"},
		{Day: "2026-01-02", Endpoint: "devices", Requests: 9, Instance: "a"},
		{Day: day, Endpoint: "latest", Dataset: "air_quality", Requests: 5, Instance: "b"},
	}
	if err := c.SaveUsage(ctx, first); err != nil {
		t.Fatal(err)
	}
	first[0].Requests = 4 // a's running total grew
	if err := c.SaveUsage(ctx, first[:1]); err != nil {
		t.Fatal(err)
	}
	// A raw query value saved as a label by an older version is skipped.
	junk := kessel.UsageCount{Day: day, Endpoint: "healthz", Dataset: strings.Repeat("x", 65), Requests: 1, Instance: "a"}
	if err := c.SaveUsage(ctx, []kessel.UsageCount{junk}); err != nil {
		t.Fatal(err)
	}
	got, err := c.LoadUsage(ctx, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y kessel.UsageCount) int {
		return strings.Compare(x.Instance+x.Day+x.Endpoint, y.Instance+y.Day+y.Endpoint)
	})
	want := []kessel.UsageCount{first[1], first[0], first[2]}
	if !slices.Equal(got, want) {
		t.Errorf("usage = %+v\nwant %+v", got, want)
	}
	if err := c.SaveUsage(ctx, []kessel.UsageCount{{Day: "yesterday"}}); kessel.ErrorCode(err) != kessel.EINVALID {
		t.Errorf("bad day: %v", err)
	}
}
