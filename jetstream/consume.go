package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"
)

// Message is a device message read from the stream.
type Message struct {
	Topic   string
	Payload []byte
	// Stored is when JetStream stored the message: the same on every
	// delivery, so a reading without its own time gets the same one
	// however often it is delivered.
	Stored time.Time
	// Ack acknowledges the message to JetStream: call it once the message
	// is stored (or kept as a dead letter), never before. Safe to call
	// from any goroutine, once.
	Ack func()
}

// fetchBatch is the most messages one pull asks for.
const fetchBatch = 1000

// Consume hands the durable consumer's messages whose topic Options.Match
// accepts to handle, in stream order, until ctx ends; the others it
// acknowledges at once. handle may block (back-pressure: nothing more is
// pulled meanwhile); it returns an error when it could not take the
// message, which is then delivered again after a short delay. Messages
// handed over and not yet acknowledged are kept from timing out (JetStream
// is told they are in progress), however long the store is down; when
// ctx ends Consume stops pulling and returns nil; messages handed over
// may still be acknowledged until Close, which gives those still held
// back (NAK) so that the next run gets them at once. One Consume at a time.
func (b *Broker) Consume(ctx context.Context, handle func(context.Context, Message) error) error {
	h := b.held
	tick := time.NewTicker(b.opts.AckWait / 3)
	defer tick.Stop()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				h.inProgress(now.Add(-b.opts.AckWait / 3))
			}
		}
	}()
	// A pull that keeps up to fetchBatch messages on their way, asking
	// for more as they are taken (one Fetch after another waited for each
	// batch to complete: a drain ran at half the rate). Each pull request
	// expires after pullExpiry: in about one drain of five (200,000
	// messages) the server stopped answering a pull mid-drain, and with
	// the default expiry (30 s) the client noticed only after 30 s
	// without heartbeats ("no heartbeat received"; nats.go issue 1622).
	it, err := b.consumer.Messages(njs.PullMaxMessages(fetchBatch), njs.PullExpiry(pullExpiry))
	if err != nil {
		return fmt.Errorf("jetstream: consume: %w", err)
	}
	quit, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-quit:
		}
		it.Stop()
		close(stopped)
	}()
	defer func() { close(quit); <-stopped }()
	for {
		msg, err := next(it)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, njs.ErrMsgIteratorClosed) {
				return nil
			}
			b.log.Warn("reading from the stream failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if err := b.deliver(ctx, h, msg, handle); err != nil {
			return nil
		}
	}
}

// deliver hands one message over; an error means ctx ended.
func (b *Broker) deliver(ctx context.Context, h *held, msg njs.Msg, handle func(context.Context, Message) error) error {
	md, err := msg.Metadata()
	if err != nil {
		b.log.Error("message without JetStream metadata; skipped", "subject", msg.Subject(), "err", err)
		return nil
	}
	if md.NumDelivered > 1 {
		b.m.redeliver.Inc()
	}
	topic := Topic(strings.TrimPrefix(msg.Subject(), mqttMsgsPrefix))
	if !b.opts.Match(topic) {
		_ = msg.Ack() // not Kessel's to read (an alert, another application's topic)
		return nil
	}
	return b.handOver(ctx, h, msg, md.Sequence.Stream, Message{Topic: topic, Payload: msg.Data(), Stored: md.Timestamp}, handle)
}

// handOver hands m (the message msg, seq in its stream) to handle, held
// until its Ack; an error means ctx ended.
func (b *Broker) handOver(ctx context.Context, h *held, msg njs.Msg, seq uint64, m Message, handle func(context.Context, Message) error) error {
	h.add(seq, msg, time.Now())
	m.Ack = func() {
		if h.remove(seq) {
			_ = msg.Ack() // a lost ack means one redelivery, which stores nothing twice
		}
	}
	if err := handle(ctx, m); err != nil {
		if h.remove(seq) {
			_ = msg.NakWithDelay(time.Second)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("jetstream: consume: %w", ctx.Err())
		}
		b.log.Warn("ingest did not take a message; delivered again in 1 s", "topic", m.Topic, "err", err)
	}
	return nil
}

// held are the messages handed over and not yet acknowledged, with when
// JetStream last heard of each.
type held struct {
	mu   sync.Mutex
	msgs map[uint64]heldMsg
}

type heldMsg struct {
	msg  njs.Msg
	seen time.Time
}

func (h *held) add(seq uint64, m njs.Msg, now time.Time) {
	h.mu.Lock()
	h.msgs[seq] = heldMsg{m, now}
	h.mu.Unlock()
}

func (h *held) remove(seq uint64) bool {
	h.mu.Lock()
	_, ok := h.msgs[seq]
	delete(h.msgs, seq)
	h.mu.Unlock()
	return ok
}

// inProgress resets the ack timer of the messages held since before
// cutoff (in normal operation there are none: they are acknowledged
// within a batch interval).
func (h *held) inProgress(cutoff time.Time) {
	var old []njs.Msg
	h.mu.Lock()
	for seq, m := range h.msgs {
		if m.seen.Before(cutoff) {
			old = append(old, m.msg)
			h.msgs[seq] = heldMsg{m.msg, time.Now()}
		}
	}
	h.mu.Unlock()
	for _, m := range old {
		_ = m.InProgress()
	}
}

// nakAll gives back what was not acknowledged, for redelivery at once.
func (h *held) nakAll() {
	h.mu.Lock()
	msgs := h.msgs
	h.msgs = map[uint64]heldMsg{}
	h.mu.Unlock()
	for _, m := range msgs {
		_ = m.msg.Nak()
	}
}
