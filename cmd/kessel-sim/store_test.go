package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// TestBackfillStraightToInfluxDB: --influx-url writes two simulated days
// of three devices straight to InfluxDB, every reading with its kind and
// department, as the hub would store them.
func TestBackfillStraightToInfluxDB(t *testing.T) {
	srv := influxtest.Start(t)
	store, err := influx.New(influx.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	ctx := context.Background()
	if err := store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"--influx-url", srv.URL, "--devices", "3", "--kinds", "air_quality", "--interval", "1h", "--start", "-48h", "--speedup", "1e9", "--quiet"}
	if err := run(ctx, args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var sum struct{ Sent, Errors int }
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil || sum.Errors != 0 || sum.Sent < 3*47 {
		t.Fatalf("summary %s (%v)", stdout.String(), err)
	}
	stored := 0
	for _, d := range []string{"air-0001", "air-0002", "air-0003"} {
		rs, err := store.History(ctx, kessel.HistoryQuery{Device: d, From: time.Now().Add(-49 * time.Hour), To: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Kind != "air_quality" || r.Department != "umweltschutz" || r.Values["pm10"] <= 0 {
				t.Fatalf("stored %+v", r)
			}
		}
		stored += len(rs)
	}
	if stored != sum.Sent {
		t.Errorf("%d readings stored, %d sent", stored, sum.Sent)
	}
}
