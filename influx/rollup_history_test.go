package influx_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestRollupHistoryOfMovedDevice: a device that moved to another
// district within an hour has two rollups of that hour (one per tag
// set); its history from the rollups merges them weighted by their
// counts, for every aggregate and for windows of one and of two hours,
// equal to the same windows computed in Go from what was written.
func TestRollupHistoryOfMovedDevice(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)
	var rs []kessel.Reading
	for m := range 4 * 60 {
		r := kessel.Reading{Device: "air-1", Kind: "air_quality", District: "Mitte", Department: "env", Time: base.Add(time.Duration(m) * time.Minute),
			Values: map[string]float64{"pm10": float64((m*7)%23) + 0.25, "no2": float64(m%11) * 3}}
		if m >= 90 { // moved half way through the second hour
			r.District = "Nord"
		}
		if m >= 150 { // and its no2 sensor failed in the third hour
			delete(r.Values, "no2")
		}
		rs = append(rs, r)
	}
	if err := c.WriteReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	end := base.Add(4 * time.Hour)
	if _, err := c.ComputeHours(ctx, base, end); err != nil {
		t.Fatal(err)
	}
	if err := c.SaveRollupMark(ctx, kessel.RollupMark{Final: end, Done: end, Since: base}); err != nil {
		t.Fatal(err)
	}
	for _, every := range []time.Duration{time.Hour, 2 * time.Hour} {
		for _, fn := range []string{"mean", "min", "max", "count", "sum"} {
			got, err := c.History(ctx, kessel.HistoryQuery{Device: "air-1", From: base, To: end, Every: every, Fn: fn, Resolution: kessel.ResolutionHour})
			if err != nil {
				t.Fatalf("every=%s fn=%s: %v", every, fn, err)
			}
			want := windowsOf(rs, every, fn)
			if len(got) != len(want) {
				t.Fatalf("every=%s fn=%s: %d windows, want %d: %+v", every, fn, len(got), len(want), got)
			}
			for i, g := range got {
				w := want[i]
				if !g.Time.Equal(w.Time) || len(g.Values) != len(w.Values) {
					t.Fatalf("every=%s fn=%s window %d = %+v, want %+v", every, fn, i, g, w)
				}
				for f, v := range w.Values {
					if math.Abs(g.Values[f]-v) > 1e-9 {
						t.Errorf("every=%s fn=%s %s %s = %v, want %v", every, fn, g.Time.Format(time.TimeOnly), f, g.Values[f], v)
					}
				}
			}
		}
	}
}

// windowsOf aggregates rs into windows of every with fn, per field.
func windowsOf(rs []kessel.Reading, every time.Duration, fn string) []kessel.Reading {
	type acc struct {
		sum, lo, hi float64
		n           int
	}
	var out []kessel.Reading
	accs := map[time.Time]map[string]*acc{}
	for _, r := range rs {
		w := r.Time.Truncate(every)
		if accs[w] == nil {
			accs[w] = map[string]*acc{}
			out = append(out, kessel.Reading{Time: w})
		}
		for f, v := range r.Values {
			a := accs[w][f]
			if a == nil {
				a = &acc{lo: v, hi: v}
				accs[w][f] = a
			}
			a.sum, a.n, a.lo, a.hi = a.sum+v, a.n+1, math.Min(a.lo, v), math.Max(a.hi, v)
		}
	}
	for i := range out {
		out[i].Values = map[string]float64{}
		for f, a := range accs[out[i].Time] {
			out[i].Values[f] = map[string]float64{"mean": a.sum / float64(a.n), "min": a.lo, "max": a.hi, "count": float64(a.n), "sum": a.sum}[fn]
		}
	}
	return out
}
