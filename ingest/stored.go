package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/kessel-city/kessel"
)

// StoredMessage is a message a durable stream (the embedded broker's
// JetStream, a NATS cluster) already holds, as EnqueueStored takes it.
type StoredMessage struct {
	Topic   string
	Payload []byte
	// At is when the stream took it: a reading without its own time gets
	// that one, so a redelivered message yields the same readings and the
	// write is idempotent (same device and timestamp); a bad message's
	// dead letter takes that time too, so it is kept once.
	At time.Time
	// Ack is called once the message's readings, or its dead letter, are
	// stored; never if the ingester stops first (the stream then delivers
	// the message again).
	Ack func()
	// Behind is how many more messages the stream held for this consumer
	// when it delivered this one (JetStream's NumPending); 0 when it had
	// caught up, or when the source cannot tell. A backlog of at least a
	// batch (BatchSize) that then ends (Behind 0) has its last batch
	// written as soon as nothing else waits, not FlushInterval later.
	Behind uint64
}

// EnqueueStored hands the store loop m, waiting while MaxInflight
// messages are queued (back-pressure) or until ctx ends. It returns an
// EUNAVAILABLE error when the ingester is shutting down.
func (in *Ingester) EnqueueStored(ctx context.Context, m StoredMessage) error {
	if in.closing.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "ingest is shutting down"}
	}
	in.m.inflight.Inc()
	select {
	case in.in <- message{topic: m.Topic, payload: m.Payload, received: m.At, ack: m.Ack, stored: true, behind: m.Behind}:
		return nil
	case <-ctx.Done():
		in.m.inflight.Dec()
		return fmt.Errorf("ingest: enqueue: %w", ctx.Err())
	}
}

// backlog follows, on the loop's goroutine, whether a durable stream is
// handing over a backlog of at least min messages.
type backlog struct {
	min      uint64
	draining bool
}

// ended notes msg and reports whether it was the last message of a
// backlog: a stream's message with nothing behind it after one with at
// least min behind it. Smaller backlogs come and go in a steady flow;
// writing at the end of each would cut its batches to a few readings.
func (b *backlog) ended(msg message) bool {
	switch {
	case !msg.stored:
		return false
	case msg.behind >= b.min:
		b.draining = true
		return false
	case msg.behind > 0:
		return false
	}
	was := b.draining
	b.draining = false
	return was
}
