package jetstream

import (
	"slices"
	"sync"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"
)

// floor tracks the messages the embedded broker's consumer (AckAll)
// handed over, in stream order, and acknowledges them by their floor:
// once every message up to one is stored (or given up as not Kessel's),
// one acknowledgement of that one covers them all. One acknowledgement
// per message cost the broker as much CPU as Kessel's quality control.
// A message given back (NAK) stays below the floor until it is delivered
// again and stored, so no acknowledgement ever covers it. Safe for
// concurrent use.
type floor struct {
	mu    sync.Mutex
	msgs  map[uint64]*floorMsg
	order []uint64 // the sequences in msgs, ascending, from order[head]
	head  int
	// top is the newest message at or below the floor not yet
	// acknowledged (nil: none); flush acknowledges it.
	top njs.Msg
}

type floorMsg struct {
	msg   njs.Msg
	seen  time.Time // when JetStream last heard of it
	done  bool      // stored: acknowledged with the floor
	given bool      // given back: JetStream delivers it again
}

func newFloor() *floor { return &floor{msgs: map[uint64]*floorMsg{}} }

// add records seq as handed over (again, if it was delivered before).
func (f *floor) add(seq uint64, m njs.Msg, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.msgs[seq]; ok {
		*e = floorMsg{msg: m, seen: now}
		return
	}
	f.msgs[seq] = &floorMsg{msg: m, seen: now}
	if n := len(f.order); n == f.head || f.order[n-1] < seq {
		f.order = append(f.order, seq)
		return
	}
	i, _ := slices.BinarySearch(f.order[f.head:], seq) // a redelivery below newer ones
	f.order = slices.Insert(f.order, f.head+i, seq)
}

// ack records seq as stored and raises the floor over what is done; it
// returns false when seq is not held (acknowledged before).
func (f *floor) ack(seq uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.msgs[seq]
	if !ok || e.done || e.given {
		return false
	}
	e.done = true
	for ; f.head < len(f.order); f.head++ {
		s := f.order[f.head]
		e := f.msgs[s]
		if !e.done {
			break
		}
		f.top = e.msg
		delete(f.msgs, s)
	}
	if f.head > 1024 && f.head > len(f.order)/2 {
		f.order, f.head = f.order[:copy(f.order, f.order[f.head:])], 0
	}
	return true
}

// giveBack records that seq will be delivered again; it returns false
// when seq is not held.
func (f *floor) giveBack(seq uint64) (njs.Msg, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.msgs[seq]
	if !ok || e.done || e.given {
		return nil, false
	}
	e.given = true
	return e.msg, true
}

// flush acknowledges the floor, if it rose since the last flush.
func (f *floor) flush() {
	f.mu.Lock()
	m := f.top
	f.top = nil
	f.mu.Unlock()
	if m != nil {
		_ = m.Ack() // lost: those messages come again, and are stored once
	}
}

// inProgress resets the ack timer of the messages held since before
// cutoff and not given back, stored or not (a stored one above a gap
// waits for the floor).
func (f *floor) inProgress(cutoff time.Time) {
	var old []njs.Msg
	f.mu.Lock()
	for _, e := range f.msgs {
		if !e.given && e.seen.Before(cutoff) {
			old = append(old, e.msg)
			e.seen = time.Now()
		}
	}
	f.mu.Unlock()
	for _, m := range old {
		_ = m.InProgress()
	}
}

// nakAll acknowledges the floor and gives back what was not stored, for
// redelivery at once; stored messages above a gap come again too (they
// are stored once).
func (f *floor) nakAll() {
	f.flush()
	f.mu.Lock()
	msgs := f.msgs
	f.msgs, f.order, f.head = map[uint64]*floorMsg{}, nil, 0
	f.mu.Unlock()
	for _, e := range msgs {
		if !e.done && !e.given {
			_ = e.msg.Nak()
		}
	}
}
