package alert

import (
	"context"
	"slices"

	"github.com/kessel-city/kessel"
)

// List returns alerts matching q (resolved ones until their rule is
// changed or the process restarts without them), newest first.
func (e *Engine) List(q kessel.AlertQuery) []kessel.Alert {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []kessel.Alert
	for _, s := range e.subjects {
		if q.Matches(s.alert) {
			out = append(out, s.alert)
		}
	}
	slices.SortFunc(out, func(a, b kessel.Alert) int { return b.LatestAt().Compare(a.LatestAt()) })
	return out
}

// Transitions returns the recent notified transitions of one alert (the
// engine keeps the last 1000 of all alerts), oldest first.
func (e *Engine) Transitions(id string) []kessel.AlertEvent {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.ring.of(id)
}

// Get returns one alert.
func (e *Engine) Get(id string) (kessel.Alert, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s, ok := e.subjects[id]
	if !ok {
		return kessel.Alert{}, false
	}
	return s.alert, true
}

// Ack records who acknowledged an alert, when, and their note (may be
// empty), and saves it to the Journal. ENOTFOUND for an unknown alert.
func (e *Engine) Ack(ctx context.Context, id, who, note string) (kessel.Alert, error) {
	e.mu.Lock()
	s, ok := e.subjects[id]
	if !ok {
		e.mu.Unlock()
		return kessel.Alert{}, kessel.Errorf(kessel.ENOTFOUND, "alert %q not found", id)
	}
	s.alert.AckedBy, s.alert.AckedAt, s.alert.AckNote = who, e.opts.Now(), note
	a := s.alert
	e.mu.Unlock()
	if e.opts.Journal != nil {
		if err := e.opts.Journal.SaveAlerts(ctx, []kessel.Alert{a}); err != nil {
			return a, err
		}
	}
	return a, nil
}
