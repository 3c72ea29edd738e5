package influx_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
)

// writeMinutes writes a reading per minute for devices over hours from
// base: pm10 varies, link.rssi is an annotation that must not be rolled
// up, and the mobile device reports lat/lon, which are not rolled up
// either. It returns the readings written.
func writeMinutes(t *testing.T, c *influx.Client, base time.Time, hours int, devices ...string) []kessel.Reading {
	t.Helper()
	var rs []kessel.Reading
	for m := range hours * 60 {
		for i, d := range devices {
			r := kessel.Reading{Device: d, Kind: "air_quality", District: "Mitte", Department: "env", Time: base.Add(time.Duration(m) * time.Minute),
				Values: map[string]float64{"pm10": float64((m*7+i*3)%23) + 0.25, "link.rssi": -70}}
			if i == 1 {
				r.Location = &orb.Point{9.18, 48.77}
				r.District = "Nord"
			}
			rs = append(rs, r)
		}
	}
	if err := c.WriteReadings(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

// expectRollups computes the rollups of rs per device, field and window
// in Go, independently of InfluxDB.
func expectRollups(rs []kessel.Reading, window time.Duration) map[string]kessel.Rollup {
	out := map[string]kessel.Rollup{}
	for _, r := range rs {
		for f, v := range r.Values {
			if f == "link.rssi" {
				continue
			}
			start := r.Time.Truncate(window)
			k := r.Device + "/" + f + "/" + start.Format(time.RFC3339)
			e, ok := out[k]
			if !ok {
				e = kessel.Rollup{Time: start, Device: r.Device, Field: f, Min: v, Max: v}
			}
			e.Mean += v // the sum until the end
			e.Count++
			e.Min, e.Max = math.Min(e.Min, v), math.Max(e.Max, v)
			out[k] = e
		}
	}
	for k, e := range out {
		e.Mean /= float64(e.Count)
		out[k] = e
	}
	return out
}

func readRollups(t *testing.T, c *influx.Client, q kessel.RollupQuery) map[string]kessel.Rollup {
	t.Helper()
	got := map[string]kessel.Rollup{}
	err := c.Rollups(context.Background(), q, func(r kessel.Rollup) error {
		k := r.Device + "/" + r.Field + "/" + r.Time.Format(time.RFC3339)
		if _, dup := got[k]; dup {
			t.Errorf("rollup %s twice", k)
		}
		got[k] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func compareRollups(t *testing.T, got, want map[string]kessel.Rollup) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d rollups, want %d", len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("rollup %s missing", k)
		case g.Count != w.Count || math.Abs(g.Mean-w.Mean) > 1e-9 || g.Min != w.Min || g.Max != w.Max:
			t.Errorf("rollup %s = %+v, want %+v", k, g, w)
		}
	}
}

// TestComputeRollups: hourly rollups from raw, daily from hourly, each
// equal to the same statistics computed in Go; annotations (fields with
// a dot) and positions are not rolled up; tags are kept; computing again
// overwrites and never duplicates.
func TestComputeRollups(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)
	rs := writeMinutes(t, c, base.Add(22*time.Hour), 4, "air-1", "tram-1") // across a day boundary
	for range 2 {
		n, err := c.ComputeHours(ctx, base, base.Add(48*time.Hour))
		if err != nil || n != 8 {
			t.Fatalf("ComputeHours = %d, %v; want 8 windows", n, err)
		}
		if n, err = c.ComputeDays(ctx, base, base.Add(48*time.Hour)); err != nil || n != 4 {
			t.Fatalf("ComputeDays = %d, %v; want 4 windows", n, err)
		}
	}
	hours := readRollups(t, c, kessel.RollupQuery{Resolution: kessel.ResolutionHour, From: base, To: base.Add(48 * time.Hour)})
	compareRollups(t, hours, expectRollups(rs, time.Hour))
	days := readRollups(t, c, kessel.RollupQuery{Resolution: kessel.ResolutionDay, From: base, To: base.Add(48 * time.Hour)})
	compareRollups(t, days, expectRollups(rs, 24*time.Hour))
	for _, r := range hours {
		if r.Kind != "air_quality" || r.Department != "env" || (r.Device == "tram-1") != (r.District == "Nord") {
			t.Fatalf("tags not kept: %+v", r)
		}
	}
	// What is stored, not only what Rollups reads: the annotation link.rssi and the position never.
	resp, err := http.Get(srv.URL + "/query?" + url.Values{"db": {"kessel"}, "q": {`SHOW FIELD KEYS FROM "rollup_1h"."air_quality"`}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(keys), `"pm10_mean"`) || strings.Contains(string(keys), "link") || strings.Contains(string(keys), "lat_") {
		t.Errorf("hourly rollup fields: %s", keys)
	}
	one := readRollups(t, c, kessel.RollupQuery{Resolution: kessel.ResolutionHour, From: base, To: base.Add(48 * time.Hour), Device: "tram-1", Fields: []string{"pm10"}})
	if len(one) != 4 {
		t.Errorf("one device's hours: %d rollups, want 4", len(one))
	}
}

// TestPrepareRetention: Prepare makes the retention policies (raw as
// configured, rollups forever, records forever) and alters them on the
// next start; device records an earlier Kessel kept beside the readings
// are still loaded, while new ones go to the records policy, which the
// raw retention never expires.
func TestPrepareRetention(t *testing.T) {
	srv := influxtest.Start(t)
	ctx := context.Background()
	prepare := func(raw time.Duration) *influx.Client {
		c, err := influx.New(influx.Options{URL: srv.URL, RawRetention: raw})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		if err := c.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
		return c
	}
	policies := func() map[string]string {
		resp, err := http.Get(srv.URL + "/query?" + url.Values{"q": {"SHOW RETENTION POLICIES ON kessel"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Results []struct{ Series []struct{ Values [][]any } }
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Results) == 0 || len(out.Results[0].Series) == 0 {
			t.Fatalf("show retention policies: %v %+v", err, out)
		}
		got := map[string]string{}
		for _, v := range out.Results[0].Series[0].Values {
			got[v[0].(string)] = v[1].(string)
		}
		return got
	}
	prepare(30 * 24 * time.Hour)
	want := map[string]string{"autogen": "720h0m0s", "rollup_1h": "0s", "rollup_1d": "0s", "records": "0s"}
	if got := policies(); !maps.Equal(got, want) {
		t.Errorf("policies %v, want %v", got, want)
	}
	srv.WriteLines(t, "kessel", fmt.Sprintf(`kessel_devices,device=old-1 doc="{\"device\":{\"id\":\"old-1\",\"kind\":\"noise\"}}" %d`, time.Now().Add(-24*time.Hour).UnixNano()))
	c := prepare(90 * 24 * time.Hour)
	if got := policies()["autogen"]; got != "2160h0m0s" {
		t.Errorf("raw retention after a restart with 90 days: %s", got)
	}
	if err := c.SaveDevices(ctx, []kessel.DeviceRecord{{Device: kessel.Device{ID: "new-1", Kind: "noise"}, Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	recs, err := c.LoadDevices(ctx)
	if err != nil || len(recs) != 2 {
		t.Fatalf("devices loaded: %+v (%v), want old-1 from the raw policy and new-1 from records", recs, err)
	}
	resp, err := http.Get(srv.URL + "/query?" + url.Values{"db": {"kessel"}, "q": {`SELECT count(doc) FROM "records"."kessel_devices"`}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `,1]`) {
		t.Errorf("new device record not in the records policy: %s", body)
	}
}
