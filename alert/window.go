package alert

import (
	"time"

	"github.com/kessel-city/kessel"
)

// buckets per window: a window aggregate is exact to window/buckets.
const buckets = 96

// bucketWidth is the width of a window's buckets: window/buckets, at least
// a second.
func bucketWidth(window time.Duration) time.Duration {
	return max(window/buckets, time.Second)
}

// bucket aggregates the values whose times fall in [start, start+width).
type bucket struct {
	start                time.Time
	sum, min, max, first float64
	n                    int
}

// window is a sliding aggregate of (time, value) points over the last span,
// kept in buckets of a fixed width aligned to the Unix epoch (as Flux's
// window() aligns them), so that it is exact to one bucket and can be
// refilled from stored per-bucket aggregates. It is pure: no clock, no
// locks. Like a Prometheus range it is left-open: the bucket starting
// exactly span before the newest point is dropped, unless keepEdge (a rate
// compares with the value exactly one span ago).
type window struct {
	span, width time.Duration
	keepEdge    bool
	bks         []bucket
	sum         float64 // of bks, kept as buckets come and go
	n           int
}

func newWindow(span time.Duration, keepEdge bool) window {
	return window{span: span, width: bucketWidth(span), keepEdge: keepEdge}
}

// bucketStart is the start of the bucket holding t.
func (w *window) bucketStart(t time.Time) time.Time {
	ns, wd := t.UnixNano(), int64(w.width)
	s := ns - ns%wd
	if ns%wd < 0 {
		s -= wd
	}
	return time.Unix(0, s).UTC()
}

// add puts the value v measured at t into the window and drops what is now
// older than span before t. Points must come in time order.
func (w *window) add(t time.Time, v float64) {
	w.merge(bucket{start: w.bucketStart(t), sum: v, min: v, max: v, first: v, n: 1}, t)
}

// addAggregate puts a stored bucket aggregate into the window, as if each
// of its readings had been added; aggregates must come in time order.
func (w *window) addAggregate(a kessel.WindowAggregate) {
	w.merge(bucket{start: w.bucketStart(a.Start), sum: a.Sum, min: a.Min, max: a.Max, first: a.First, n: a.Count}, later(a.Start, a.LastAt))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// merge adds b (the newest bucket, or more of it) and drops buckets that
// fell out of the window ending at now.
func (w *window) merge(b bucket, now time.Time) {
	if b.n <= 0 {
		return
	}
	w.sum += b.sum
	w.n += b.n
	if k := len(w.bks); k > 0 && w.bks[k-1].start.Equal(b.start) {
		last := &w.bks[k-1]
		last.sum += b.sum
		last.n += b.n
		last.min = min(last.min, b.min)
		last.max = max(last.max, b.max)
	} else {
		w.bks = append(w.bks, b)
	}
	cut := now.Add(-w.span)
	i := 0
	for i < len(w.bks)-1 && (w.bks[i].start.Before(cut) || !w.keepEdge && w.bks[i].start.Equal(cut)) {
		w.sum -= w.bks[i].sum
		w.n -= w.bks[i].n
		i++
	}
	if i > 0 {
		w.bks = append(w.bks[:0], w.bks[i:]...)
	}
}

// mean is the mean of the values in the window (NaN when empty).
func (w *window) mean() float64 { return w.sum / float64(w.n) }

// extreme is the window's largest value (max) or smallest (!max).
func (w *window) extreme(largest bool) float64 {
	var x float64
	for i, b := range w.bks {
		switch {
		case i == 0:
			x = b.max
			if !largest {
				x = b.min
			}
		case largest && b.max > x:
			x = b.max
		case !largest && b.min < x:
			x = b.min
		}
	}
	return x
}

// oldest is the first value of the window's oldest bucket.
func (w *window) oldest() float64 {
	if len(w.bks) == 0 {
		return 0
	}
	return w.bks[0].first
}
