package jetstream

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
)

// lostPull plays nats.go's iterator after the race next works around: no
// pull request is out, so a bounded Next ends with a timeout and the next
// call asks again; an unbounded Next would wait until the heartbeat check
// gives up.
type lostPull struct {
	lost  bool
	err   error // returned once no pull is lost
	msg   njs.Msg
	calls int
}

func (l *lostPull) Next(opts ...njs.NextOpt) (njs.Msg, error) {
	l.calls++
	switch {
	case l.lost && len(opts) > 0:
		l.lost = false // the next call asks the server again
		return nil, nats.ErrTimeout
	case l.lost:
		return nil, njs.ErrNoHeartbeat
	case l.err != nil:
		return nil, l.err
	}
	return l.msg, nil
}

type fakeMsg struct{ njs.Msg }

func TestNextAsksAgain(t *testing.T) {
	m := &fakeMsg{}
	tests := []struct {
		name      string
		it        *lostPull
		want      njs.Msg
		wantErr   error
		wantCalls int
	}{
		{"message at hand", &lostPull{msg: m}, m, nil, 1},
		{"pull request lost", &lostPull{lost: true, msg: m}, m, nil, 2},
		{"iterator closed", &lostPull{err: njs.ErrMsgIteratorClosed}, nil, njs.ErrMsgIteratorClosed, 1},
		{"lost, then closed", &lostPull{lost: true, err: njs.ErrMsgIteratorClosed}, nil, njs.ErrMsgIteratorClosed, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := next(tt.it)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("message = %v, want %v", got, tt.want)
			}
			if tt.it.calls != tt.wantCalls {
				t.Errorf("Next called %d times, want %d", tt.it.calls, tt.wantCalls)
			}
		})
	}
}
