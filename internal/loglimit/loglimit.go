// Package loglimit keeps a flood of one kind of refusal from flooding the
// log: one line of a sort per interval, with a count of those held back.
package loglimit

import (
	"sync"
	"time"
)

// Limiter lets one log line of a sort through per interval and counts the
// ones it held back. It is safe for concurrent use.
type Limiter struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	last  time.Time
	held  int
}

// New returns a Limiter that allows one line per every, reading time from
// now (time.Now when nil).
func New(every time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, now: now}
}

// Allow reports whether to log now and how many lines were held back since
// the last one logged.
func (l *Limiter) Allow() (ok bool, heldBack int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.held++
		return false, 0
	}
	heldBack = l.held
	l.last, l.held = now, 0
	return true, heldBack
}
