package alert

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/kessel-city/kessel"
)

// queue holds the readings waiting for evaluation, up to limit.
type queue struct {
	mu       sync.Mutex
	pending  [][]kessel.Reading // as Observe got them
	pendingN int                // readings in pending
	spare    [][]kessel.Reading // the last batch's array, reused (Run only)
	limit    int
	wake     chan struct{}
	lastDrop atomic.Int64 // unix nanos of the last drop log line
}

// Observe queues readings for evaluation without blocking; the engine
// reads rs later, so the caller must not change it. Beyond Options.Queue
// waiting readings, rs is dropped, counted and logged (once per 10 s).
func (e *Engine) Observe(rs []kessel.Reading) {
	if e.nRules.Load() == 0 || len(rs) == 0 {
		return
	}
	if !e.q.put(rs) {
		e.dropped.Add(float64(len(rs)))
		now := time.Now().UnixNano()
		if last := e.q.lastDrop.Load(); now-last > int64(10*time.Second) && e.q.lastDrop.CompareAndSwap(last, now) {
			e.log.Warn("alert engine behind; readings not evaluated (see kessel_alert_dropped_readings_total)", "queue", e.q.limit)
		}
	}
}

// put queues rs and wakes the engine; false when the queue is full.
func (q *queue) put(rs []kessel.Reading) bool {
	q.mu.Lock()
	if q.pendingN+len(rs) > q.limit {
		q.mu.Unlock()
		return false
	}
	q.pending = append(q.pending, rs)
	q.pendingN += len(rs)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already due
	}
	return true
}

// take returns every queued batch and empties the queue.
func (q *queue) take() [][]kessel.Reading {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.pending
	q.pending, q.pendingN, q.spare = q.spare[:0], 0, nil
	return b
}

// recycle keeps a taken batch's array for reuse, without its readings.
func (q *queue) recycle(b [][]kessel.Reading) {
	clear(b)
	q.mu.Lock()
	q.spare = b
	q.mu.Unlock()
}
