package loglimit

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	base := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	now := base
	l := New(time.Minute, func() time.Time { return now })
	steps := []struct {
		at       time.Duration
		ok       bool
		heldBack int
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{59 * time.Second, false, 0},
		{time.Minute, true, 2},
		{time.Minute + time.Second, false, 0},
		{3 * time.Minute, true, 1},
		{4 * time.Minute, true, 0},
	}
	for _, s := range steps {
		now = base.Add(s.at)
		ok, held := l.Allow()
		if ok != s.ok || held != s.heldBack {
			t.Errorf("at %v: Allow() = %v, %d; want %v, %d", s.at, ok, held, s.ok, s.heldBack)
		}
	}
}
