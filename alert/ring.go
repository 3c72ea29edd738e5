package alert

import (
	"time"

	"github.com/kessel-city/kessel"
)

// ring keeps the last max notified transitions for resuming streams and
// for an alert's history, and numbers them. It is pure: the time comes in.
//
// Event numbers (SSE ids) are the wall clock in microseconds, or one more
// than the previous number when the clock has not moved on: unique and
// increasing within a run, and, as a restart takes longer than a
// microsecond per event sent, across restarts too, so a client resuming
// with Last-Event-ID after a restart neither skips nor repeats events.
// Microseconds keep the numbers exact in JSON for JavaScript (below 2^53
// until the year 2255).
type ring struct {
	max    int
	events []kessel.AlertEvent
	seq    int64
}

// push numbers a transition at time now, keeps it and returns its event.
func (r *ring) push(a kessel.Alert, now time.Time) kessel.AlertEvent {
	r.seq = max(r.seq+1, now.UnixMicro())
	ev := kessel.AlertEvent{Seq: r.seq, Alert: a}
	r.events = append(r.events, ev)
	if len(r.events) > r.max {
		r.events = r.events[len(r.events)-r.max:]
	}
	return ev
}

// after returns the kept events numbered above seq, oldest first.
func (r *ring) after(seq int64) []kessel.AlertEvent {
	var out []kessel.AlertEvent
	for _, ev := range r.events {
		if ev.Seq > seq {
			out = append(out, ev)
		}
	}
	return out
}

// of returns the kept events of one alert, oldest first.
func (r *ring) of(id string) []kessel.AlertEvent {
	var out []kessel.AlertEvent
	for _, ev := range r.events {
		if ev.Alert.ID == id {
			out = append(out, ev)
		}
	}
	return out
}
