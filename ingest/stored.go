package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/kessel-city/kessel"
)

// EnqueueStored hands the store loop a message that a durable stream
// already holds (the embedded broker's JetStream), waiting while
// MaxInflight messages are queued (back-pressure) or until ctx ends.
// stored is when the stream took it: a reading without its own time gets
// that one, so a redelivered message yields the same readings and the
// write is idempotent (same device and timestamp); a bad message's dead
// letter takes that time too, so it is kept once. ack is called once the
// message's readings, or its dead letter, are stored; never if the
// ingester stops first (the stream then delivers the message again). It
// returns an EUNAVAILABLE error when the ingester is shutting down.
func (in *Ingester) EnqueueStored(ctx context.Context, topic string, payload []byte, stored time.Time, ack func()) error {
	if in.closing.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "ingest is shutting down"}
	}
	in.m.inflight.Inc()
	select {
	case in.in <- message{topic: topic, payload: payload, received: stored, ack: ack, stored: true}:
		return nil
	case <-ctx.Done():
		in.m.inflight.Dec()
		return fmt.Errorf("ingest: enqueue: %w", ctx.Err())
	}
}
