package influx_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
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
	c, _ := newClient(t)
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
	one := readRollups(t, c, kessel.RollupQuery{Resolution: kessel.ResolutionHour, From: base, To: base.Add(48 * time.Hour), Device: "tram-1", Fields: []string{"pm10"}})
	if len(one) != 4 {
		t.Errorf("one device's hours: %d rollups, want 4", len(one))
	}
}
