package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel"
)

// message is one received message on its way through the pipeline.
type message struct {
	topic    string
	payload  []byte
	received time.Time
	ack      func()
	stored   bool       // received is a durable stream's store time (EnqueueStored)
	behind   uint64     // what the stream held behind it (StoredMessage.Behind)
	result   chan error // for synchronous submissions
}

// onMessage runs on paho's router goroutine; it hands the message to the
// loop, blocking while MaxInflight messages are unacknowledged.
func (in *Ingester) onMessage(_ mqtt.Client, m mqtt.Message) {
	if in.closing.Load() {
		return // not acknowledged: the broker redelivers it to the next session
	}
	in.m.inflight.Inc()
	msg := message{topic: m.Topic(), payload: m.Payload(), received: in.opts.Now()}
	if m.Qos() > 0 {
		msg.ack = m.Ack // a QoS 0 message (from The Things Stack) has nothing to acknowledge
	}
	in.in <- msg
}

// Enqueue hands a message to the store loop, waiting while MaxInflight
// messages are queued (back-pressure) or until ctx ends. It returns once the
// message is queued, not stored; an EUNAVAILABLE error when the ingester is
// shutting down. It is how the embedded broker delivers.
func (in *Ingester) Enqueue(ctx context.Context, topic string, payload []byte) error {
	if in.closing.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "ingest is shutting down"}
	}
	in.m.inflight.Inc()
	select {
	case in.in <- message{topic: topic, payload: payload, received: in.opts.Now()}:
		return nil
	case <-ctx.Done():
		in.m.inflight.Dec()
		return fmt.Errorf("ingest: enqueue: %w", ctx.Err())
	}
}

// Offer hands the store loop a message that nothing will deliver again
// (an MQTT QoS 0 message from the embedded broker or a NATS cluster)
// without waiting: it returns false, and the message is not taken, while
// MaxInflight messages are queued (the store is down or a backlog
// drains) or when the ingester is shutting down; the caller drops and
// counts it. A reading without its own time takes the time of the offer.
// Safe for concurrent use; it never blocks.
func (in *Ingester) Offer(topic string, payload []byte) bool {
	if in.closing.Load() {
		return false
	}
	in.m.inflight.Inc()
	select {
	case in.in <- message{topic: topic, payload: payload, received: in.opts.Now()}:
		return true
	default:
		in.m.inflight.Dec()
		return false
	}
}

// Match reports whether topic is one the ingester reads, for a broker
// that delivers through Enqueue.
func Match(topic string) bool {
	if _, _, ok := parseTTSTopic(topic); ok {
		return true
	}
	_, _, ok := parseTopic(topic)
	return ok
}

// Submit stores one message synchronously, as HTTP push does. It returns
// nil when the readings were stored; an EINVALID error whose message starts
// with the rejection reason when the message was bad (it is then kept as a
// dead letter); EUNAVAILABLE when the store did not accept it before ctx ended.
func (in *Ingester) Submit(ctx context.Context, topic string, payload []byte) error {
	msg := message{topic: topic, payload: payload, received: in.opts.Now(), result: make(chan error, 1)}
	in.m.inflight.Inc()
	if !in.process(ctx, []message{msg}) {
		in.m.inflight.Dec()
		return fmt.Errorf("ingest: submit: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "the store is not accepting writes; retry later"})
	}
	err := <-msg.result
	var rej *Rejection
	if errors.As(err, &rej) {
		return &kessel.Error{Code: kessel.EINVALID, Message: rej.Reason + ": " + rej.Detail}
	}
	return err
}
