package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/kessel-city/kessel"
)

// deadLetter keeps a rejected message with the reason, counting and
// logging (rate-limited) the rejection.
func (in *Ingester) deadLetter(msg message, err error) kessel.DeadLetter {
	rej := rejectionOf(msg.topic, err)
	in.m.rejected.WithLabelValues(rej.Reason).Inc()
	if ok, n := in.logLimit.AllowAt(rej.Reason, msg.received); ok {
		in.log.Warn("message rejected", "reason", rej.Reason, "topic", msg.topic, "device", rej.Device, "detail", rej.Detail, "suppressed_since_last", n)
	}
	p := msg.payload
	if len(p) > kessel.DeadLetterPayloadLimit {
		p = p[:kessel.DeadLetterPayloadLimit]
	}
	// A distinct nanosecond per dead letter, so two never overwrite each
	// other; a message from a durable stream keeps the stream's time, so a
	// redelivery writes the same dead letter again, not a second one.
	t := msg.received.Truncate(time.Millisecond).Add(time.Duration(in.seq.Add(1) % 1_000_000))
	if msg.stored {
		t = msg.received
	}
	return kessel.DeadLetter{Time: t, Reason: rej.Reason, Topic: msg.topic, Device: rej.Device, Detail: rej.Detail, Payload: string(p)}
}

// rejectionOf turns err into a Rejection: a registry's refusal is an
// unknown device (EFORBIDDEN, ENOTFOUND) or a bad description.
func rejectionOf(topic string, err error) *Rejection {
	var rej *Rejection
	if !errors.As(err, &rej) {
		code := ReasonUnknownDevice
		if kessel.ErrorCode(err) != kessel.EFORBIDDEN && kessel.ErrorCode(err) != kessel.ENOTFOUND {
			code = ReasonBadMeta
		}
		rej = &Rejection{Reason: code, Detail: kessel.ErrorMessage(err)}
	}
	if rej.Device == "" {
		rej.Device, _, _ = parseTopic(topic)
	}
	if rej.Device == "" {
		_, rej.Device, _ = parseTTSTopic(topic)
	}
	return rej
}

// writeDeadLetters stores p's dead letters. A store that refuses them for
// good is logged and the messages acknowledged anyway; it returns false
// when ctx ended before the store answered.
func (in *Ingester) writeDeadLetters(ctx context.Context, p *prepared) bool {
	if err := in.retry(ctx, func(ctx context.Context) error { return in.store.WriteDeadLetters(ctx, p.dead) }); err != nil {
		if kessel.ErrorCode(err) != kessel.EINVALID {
			return false
		}
		in.log.Error("store refused dead letters; acknowledging anyway", "count", len(p.dead), "err", err)
	}
	in.countBy(in.m.deadLettered, len(p.dead), func(j int) string { return p.deadFormat[j] })
	return true
}
