package alert

import (
	"math"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

var t0 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

type point struct {
	sec int // seconds after t0
	v   float64
}

// TestWindow: the window's aggregates over points a second or more apart
// (buckets of 96 s here, a 9216 s span = 2.56 h).
func TestWindow(t *testing.T) {
	const span = 9216 * time.Second // bucket width 96 s
	tests := []struct {
		name              string
		keepEdge          bool
		points            []point
		mean, max, min, o float64 // o: the oldest bucket's first value
		buckets           int
	}{
		{"one point", false, []point{{0, 5}}, 5, 5, 5, 5, 1},
		{"points in one bucket merge", false, []point{{0, 5}, {10, 7}, {95, 3}}, 5, 7, 3, 5, 1},
		{"a new bucket per width", false, []point{{0, 5}, {96, 7}, {200, 3}}, 5, 7, 3, 5, 3},
		{"left-open: the point exactly a span ago is out", false, []point{{0, 100}, {96, 1}, {9216, 3}}, 2, 3, 1, 1, 2},
		{"a rate keeps the point exactly a span ago", true, []point{{0, 100}, {96, 1}, {9216, 3}}, 104.0 / 3, 100, 1, 100, 3},
		{"older points leave", false, []point{{0, 100}, {5000, 1}, {10000, 3}, {12000, 5}}, 3, 5, 1, 1, 3},
		{"the newest bucket always stays", false, []point{{0, 100}, {100000, 4}}, 4, 4, 4, 4, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWindow(span, tc.keepEdge)
			for _, p := range tc.points {
				w.add(t0.Add(time.Duration(p.sec)*time.Second), p.v)
			}
			got := []float64{w.mean(), w.extreme(true), w.extreme(false), w.oldest(), float64(len(w.bks))}
			want := []float64{tc.mean, tc.max, tc.min, tc.o, float64(tc.buckets)}
			for i, name := range []string{"mean", "max", "min", "oldest", "buckets"} {
				if math.Abs(got[i]-want[i]) > 1e-9 {
					t.Errorf("%s = %v, want %v", name, got[i], want[i])
				}
			}
		})
	}
}

// TestWindowAggregatesEqualPoints: a window refilled from per-bucket
// aggregates holds exactly what one fed each point holds.
func TestWindowAggregatesEqualPoints(t *testing.T) {
	tests := []struct {
		name   string
		span   time.Duration
		rate   bool
		points []point
	}{
		{"a 10-minute mean, a point every 10 s", 10 * time.Minute, false, series(200, 10, func(i int) float64 { return float64(i % 17) })},
		{"a 24-hour rate, uneven points", 24 * time.Hour, true, series(500, 397, func(i int) float64 { return math.Sin(float64(i)) * 40 })},
		{"a 7-day max (105-minute buckets, not dividing a day)", 7 * 24 * time.Hour, false, series(300, 3599, func(i int) float64 { return float64(i*7919%1000) / 10 })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			direct, refilled := newWindow(tc.span, tc.rate), newWindow(tc.span, tc.rate)
			var aggs []kessel.WindowAggregate
			for _, p := range tc.points {
				at := t0.Add(time.Duration(p.sec) * time.Second)
				direct.add(at, p.v)
				start := direct.bucketStart(at)
				if n := len(aggs); n > 0 && aggs[n-1].Start.Equal(start) {
					a := &aggs[n-1]
					a.Count, a.Sum, a.Min, a.Max = a.Count+1, a.Sum+p.v, min(a.Min, p.v), max(a.Max, p.v)
					continue
				}
				aggs = append(aggs, kessel.WindowAggregate{Start: start, Count: 1, Sum: p.v, Min: p.v, Max: p.v, First: p.v})
			}
			last := tc.points[len(tc.points)-1] // the newest reading is on its bucket's aggregate only
			aggs[len(aggs)-1].Last, aggs[len(aggs)-1].LastAt = last.v, t0.Add(time.Duration(last.sec)*time.Second)
			for _, a := range aggs {
				refilled.addAggregate(a)
			}
			for _, f := range []struct {
				name string
				fn   func(*window) float64
			}{{"mean", (*window).mean}, {"oldest", (*window).oldest}, {"max", func(w *window) float64 { return w.extreme(true) }}} {
				if d, r := f.fn(&direct), f.fn(&refilled); math.Abs(d-r) > 1e-9 {
					t.Errorf("%s: fed point by point %v, refilled %v", f.name, d, r)
				}
			}
		})
	}
}

func series(n, step int, v func(int) float64) []point {
	out := make([]point, n)
	for i := range out {
		out[i] = point{i * step, v(i)}
	}
	return out
}

// TestBucketStart: buckets are aligned to the Unix epoch, as Flux's
// window() aligns them, also for widths that do not divide a day.
func TestBucketStart(t *testing.T) {
	tests := []struct {
		span time.Duration
		at   time.Time
		want time.Time
	}{
		{24 * time.Hour, time.Date(2026, 11, 23, 10, 7, 0, 0, time.UTC), time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)},
		{2 * time.Minute, time.Unix(1000, 900_000_000), time.Unix(1000, 0)}, // 1.25 s buckets: 1000 = 800 * 1.25
		{7 * 24 * time.Hour, time.Unix(105*60*3+59, 0), time.Unix(105*60*3, 0)},
		{time.Minute, time.Unix(-1, 0), time.Unix(-1, 0)},          // before the epoch: 1 s buckets
		{time.Hour, time.Unix(-1, 0), time.Unix(-38, 500_000_000)}, // 37.5 s buckets
	}
	for _, tc := range tests {
		w := newWindow(tc.span, false)
		if got := w.bucketStart(tc.at); !got.Equal(tc.want) {
			t.Errorf("span %v: bucket of %v starts %v, want %v", tc.span, tc.at.UTC(), got, tc.want.UTC())
		}
	}
}
