package jetstream

import (
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
)

// reasked bounds the wait of a first Next: see next.
const reasked = 25 * time.Millisecond

// iterator is the part of nats.go's pull iterator next uses.
type iterator interface {
	Next(opts ...njs.NextOpt) (njs.Msg, error)
}

// next returns its next message. nats.go's pull iterator (v1.55) asks
// the server for more messages only at the start of a Next call, and
// skips asking while its previous pull request is still being sent. When
// the last message asked for is taken in that moment, Next then waits
// for a message nobody asked for until its heartbeat check gives up (2x
// the heartbeat: 4 s with pullExpiry). The server shows no waiting
// pull request meanwhile. That stalled about one drain in four of
// 200,000 messages on a busy 2-core machine. A first Next bounded to reasked
// ends such a wait; the second Next asks the server again and waits,
// unbounded, with the heartbeat check as before.
func next(it iterator) (njs.Msg, error) {
	msg, err := it.Next(njs.NextMaxWait(reasked))
	if errors.Is(err, nats.ErrTimeout) {
		return it.Next()
	}
	return msg, err
}
