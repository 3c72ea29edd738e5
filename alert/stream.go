package alert

import "github.com/kessel-city/kessel"

// Subscribe returns the kept events numbered above lastSeq, and a channel
// of new ones; cancel ends the subscription. A subscriber that does not
// keep up (256 events behind) loses events rather than slowing evaluation.
// The channel is closed when the engine stops (Run returns), so streams
// end with it; after that, Subscribe returns a closed channel.
func (e *Engine) Subscribe(lastSeq int64) (backlog []kessel.AlertEvent, events <-chan kessel.AlertEvent, cancel func()) {
	ch := make(chan kessel.AlertEvent, 256)
	e.mu.Lock()
	defer e.mu.Unlock()
	backlog = e.ring.after(lastSeq)
	if e.stopped {
		close(ch)
		return backlog, ch, func() {}
	}
	e.subs[ch] = true
	return backlog, ch, func() {
		e.mu.Lock()
		delete(e.subs, ch)
		e.mu.Unlock()
	}
}

// broadcast hands ev to every subscriber that has room; the caller holds mu.
func (e *Engine) broadcast(ev kessel.AlertEvent) {
	for ch := range e.subs {
		select {
		case ch <- ev:
		default: // a subscriber that does not keep up loses events, never blocks evaluation
		}
	}
}

// closeStreams ends every subscription; later ones get a closed channel.
func (e *Engine) closeStreams() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopped = true
	for ch := range e.subs {
		close(ch)
		delete(e.subs, ch)
	}
}
