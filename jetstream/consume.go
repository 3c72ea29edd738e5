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
	// Behind is how many more messages the stream held for Kessel's
	// consumer when it delivered this one (its NumPending). Always 0 from
	// a cluster's partitions, where one partition's end is not the
	// others'.
	Behind uint64
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
// back (NAK) so that the next run gets them at once. Acknowledgements
// reach JetStream by floor, every ackEvery (see floor): a message stored
// above one not yet stored comes again after a crash, and is stored once.
// One Consume at a time.
func (b *Broker) Consume(ctx context.Context, handle func(context.Context, Message) error) error {
	h := b.held
	done := make(chan struct{})
	defer close(done)
	go b.keepHeld(h, done)
	// A pull that keeps up to fetchBatch messages on their way, asking
	// for more as they are taken (one Fetch after another waited for each
	// batch to complete: a drain ran at half the rate). Each pull request
	// expires after pullExpiry, and next works around the iterator's
	// failing to ask again (drains stalled for 30 s, then for 4 s).
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
func (b *Broker) deliver(ctx context.Context, h tracker, msg njs.Msg, handle func(context.Context, Message) error) error {
	md, err := msg.Metadata()
	if err != nil {
		b.log.Error("message without JetStream metadata; skipped", "subject", msg.Subject(), "err", err)
		return nil
	}
	if md.NumDelivered > 1 {
		b.m.redeliver.Inc()
	}
	topic := Topic(strings.TrimPrefix(msg.Subject(), mqttMsgsPrefix))
	if !b.opts.Match(topic) { // not Kessel's to read (an alert, another application's topic)
		h.add(md.Sequence.Stream, msg, time.Now())
		h.ack(md.Sequence.Stream)
		return nil
	}
	return b.handOver(ctx, h, msg, md.Sequence.Stream, Message{Topic: topic, Payload: msg.Data(), Stored: md.Timestamp, Behind: md.NumPending}, handle)
}

// handOver hands m (the message msg, seq in its stream) to handle, held
// until its Ack; an error means ctx ended.
func (b *Broker) handOver(ctx context.Context, h tracker, msg njs.Msg, seq uint64, m Message, handle func(context.Context, Message) error) error {
	h.add(seq, msg, time.Now())
	m.Ack = func() { h.ack(seq) }
	if err := handle(ctx, m); err != nil {
		if msg, ok := h.giveBack(seq); ok {
			_ = msg.NakWithDelay(time.Second)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("jetstream: consume: %w", ctx.Err())
		}
		b.log.Warn("ingest did not take a message; delivered again in 1 s", "topic", m.Topic, "err", err)
	}
	return nil
}

// tracker keeps the messages handed over until they are acknowledged.
type tracker interface {
	// add records seq, delivered as m, as handed over at now.
	add(seq uint64, m njs.Msg, now time.Time)
	// ack acknowledges seq (now or with others); false when not held.
	ack(seq uint64) bool
	// giveBack stops holding seq, which is then given back (NAK).
	giveBack(seq uint64) (njs.Msg, bool)
	// inProgress resets the ack timer of those held since before cutoff.
	inProgress(cutoff time.Time)
	// flush sends the acknowledgements ack left for later, if any.
	flush()
	// nakAll gives back what was not acknowledged.
	nakAll()
}

// ackEvery is how often acknowledgements left for later are sent (see
// floor).
const ackEvery = 5 * time.Millisecond

// keepHeld sends h's acknowledgements left for later every ackEvery and
// keeps the messages held for longer than AckWait/3 from timing out (the
// store is down), until done; then it sends what is left.
func (b *Broker) keepHeld(h tracker, done <-chan struct{}) {
	hold := time.NewTicker(b.opts.AckWait / 3)
	defer hold.Stop()
	flush := time.NewTicker(ackEvery)
	defer flush.Stop()
	for {
		select {
		case <-done:
			h.flush()
			return
		case <-flush.C:
			h.flush()
		case now := <-hold.C:
			h.inProgress(now.Add(-b.opts.AckWait / 3))
		}
	}
}

// held are the messages handed over and not yet acknowledged, with when
// JetStream last heard of each: each is acknowledged on its own (the
// partitions of a cluster, several consumers of one stream).
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

func (h *held) ack(seq uint64) bool {
	m, ok := h.giveBack(seq)
	if ok {
		_ = m.Ack() // a lost ack means one redelivery, which stores nothing twice
	}
	return ok
}

// flush: held acknowledges each message in ack.
func (h *held) flush() {}

func (h *held) giveBack(seq uint64) (njs.Msg, bool) {
	h.mu.Lock()
	m, ok := h.msgs[seq]
	delete(h.msgs, seq)
	h.mu.Unlock()
	return m.msg, ok
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
