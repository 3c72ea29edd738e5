// Package loglimit keeps a flood of one kind of refusal from flooding the
// log: one line of a sort per interval, with a count of those held back.
package loglimit

import (
	"sync"
	"time"
)

// Limiter lets one log line of a sort through per interval and counts the
// ones it held back. Sorts are keys (a reason, a source); keep them few,
// as each is remembered. It is safe for concurrent use.
type Limiter struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	last  map[string]time.Time
	held  map[string]int
}

// New returns a Limiter that allows one line per every, reading time from
// now (time.Now when nil).
func New(every time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, now: now, last: map[string]time.Time{}, held: map[string]int{}}
}

// Allow reports whether to log the Limiter's one sort now and how many
// lines were held back since the last one logged.
func (l *Limiter) Allow() (ok bool, heldBack int) { return l.AllowAt("", l.now()) }

// AllowAt is Allow for the sort key at the time at.
func (l *Limiter) AllowAt(key string, at time.Time) (ok bool, heldBack int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, seen := l.last[key]; seen && at.Sub(last) < l.every {
		l.held[key]++
		return false, 0
	}
	heldBack = l.held[key]
	l.last[key], l.held[key] = at, 0
	return true, heldBack
}
