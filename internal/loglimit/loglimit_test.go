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

func TestLimiterKeys(t *testing.T) {
	base := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	l := New(10*time.Second, nil)
	steps := []struct {
		key      string
		at       time.Duration
		ok       bool
		heldBack int
	}{
		{"a", 0, true, 0},
		{"b", time.Second, true, 0},
		{"a", 2 * time.Second, false, 0},
		{"a", 10 * time.Second, true, 1},
		{"b", 10 * time.Second, false, 0},
		{"b", 11 * time.Second, true, 1},
	}
	for _, s := range steps {
		ok, held := l.AllowAt(s.key, base.Add(s.at))
		if ok != s.ok || held != s.heldBack {
			t.Errorf("%s at %v: AllowAt = %v, %d; want %v, %d", s.key, s.at, ok, held, s.ok, s.heldBack)
		}
	}
}
