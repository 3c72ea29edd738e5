package ingest

import (
	"sync"
	"time"
)

// logLimiter lets one log line per key through per interval, counting
// those it held back, so a flood of bad messages cannot flood the log.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

const logInterval = 10 * time.Second

func (l *logLimiter) allow(key string, now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.held = map[string]time.Time{}, map[string]int{}
	}
	if t, seen := l.last[key]; seen && now.Sub(t) < logInterval {
		l.held[key]++
		return 0, false
	}
	l.last[key] = now
	n := l.held[key]
	l.held[key] = 0
	return n, true
}
