package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/registry"
)

// flakyStore refuses writes while down, and records what it stored.
type flakyStore struct {
	down atomic.Bool
	mu   sync.Mutex
	got  []kessel.Reading
	dead []kessel.DeadLetter
}

func (s *flakyStore) WriteReadings(_ context.Context, rs []kessel.Reading) error {
	if s.down.Load() {
		return errors.New("store down")
	}
	s.mu.Lock()
	s.got = append(s.got, rs...)
	s.mu.Unlock()
	return nil
}

func (s *flakyStore) WriteDeadLetters(_ context.Context, dls []kessel.DeadLetter) error {
	if s.down.Load() {
		return errors.New("store down")
	}
	s.mu.Lock()
	s.dead = append(s.dead, dls...)
	s.mu.Unlock()
	return nil
}

// runIngester runs an ingester on store with opts until the test ends;
// stop ends it earlier (it writes what is queued first), and may be
// called again.
func runIngester(t *testing.T, store ingest.Store, opts ingest.Options) (in *ingest.Ingester, ctx context.Context, stop func()) {
	t.Helper()
	reg, _ := registry.New(registry.Options{})
	in, err := ingest.New(store, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return in, ctx, stop
}

func (s *flakyStore) readings() []kessel.Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]kessel.Reading(nil), s.got...)
}

// TestEnqueueStored: a message from a durable stream is acknowledged only
// after its readings were stored (not while the store is down), and a
// reading without its own time takes the time the stream stored it, so
// that delivering the message again yields the same reading.
func TestEnqueueStored(t *testing.T) {
	store := &flakyStore{}
	store.down.Store(true)
	in, ctx, _ := runIngester(t, store, ingest.Options{FlushInterval: time.Millisecond})

	stored := time.Date(2026, 3, 1, 12, 0, 0, 123_000_000, time.UTC)
	var acks atomic.Int32
	for range 2 { // the same messages twice, as after a redelivery
		if err := in.EnqueueStored(ctx, ingest.StoredMessage{Topic: kessel.ReadingsTopic("air-1"), Payload: []byte(`{"values":{"pm25":7}}`), At: stored, Ack: func() { acks.Add(1) }}); err != nil {
			t.Fatal(err)
		}
		if err := in.EnqueueStored(ctx, ingest.StoredMessage{Topic: kessel.ReadingsTopic("air-1"), Payload: []byte(`{"values":`), At: stored.Add(time.Millisecond), Ack: func() { acks.Add(1) }}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return in.Ready(ctx) != nil }, "the failing store never showed in readiness")
	if n := acks.Load(); n != 0 {
		t.Fatalf("%d acknowledgements while the store was down", n)
	}
	store.down.Store(false)
	testenv.Eventually(t, 20*time.Second, func() bool { return acks.Load() == 4 }, "messages not acknowledged after the store came back")
	got := store.readings()
	if len(got) != 2 || !got[0].Time.Equal(stored) || !got[1].Time.Equal(stored) || got[0].Device != "air-1" {
		t.Fatalf("stored %+v, want air-1 twice at %v", got, stored)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.dead) != 2 || !store.dead[0].Time.Equal(store.dead[1].Time) {
		t.Fatalf("dead letters %+v: want the bad message's twice at one time (the same point in the store)", store.dead)
	}
}

// TestOffer: a message nothing delivers again (QoS 0) is taken without
// waiting while there is room, refused at once when MaxInflight messages
// are queued (the store is down; the ingester is Behind), and what was
// taken is stored once the store is back (no longer Behind); a shut-down
// ingester refuses.
func TestOffer(t *testing.T) {
	store := &flakyStore{}
	store.down.Store(true)
	in, _, stop := runIngester(t, store, ingest.Options{FlushInterval: time.Millisecond, MaxInflight: 4, BatchSize: 2})
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	taken := 0
	for i := range 100 {
		p := fmt.Sprintf(`{"ts":%q,"values":{"pm25":%d}}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i)
		if in.Offer(kessel.ReadingsTopic("air-1"), []byte(p)) {
			taken++
		}
	}
	if taken == 0 || taken >= 100 {
		t.Fatalf("took %d of 100 offers while the store was down; want some, bounded by MaxInflight and the batches held", taken)
	}
	if !in.Behind() {
		t.Errorf("not Behind with %d messages held (batches of 2)", taken)
	}
	store.down.Store(false)
	testenv.Eventually(t, 20*time.Second, func() bool { return len(store.readings()) == taken }, "the %d messages taken were not stored", taken)
	testenv.Eventually(t, 20*time.Second, func() bool { return !in.Behind() }, "still Behind once everything was stored")
	stop()
	if in.Offer(kessel.ReadingsTopic("air-1"), []byte(`{"values":{"pm25":1}}`)) {
		t.Fatal("a shut-down ingester took an offer")
	}
}

// TestBacklogEnd: the batch holding the last message of a stream's
// backlog of at least a batch (nothing behind it, after one with BatchSize
// or more behind it) is written at once; a batch after smaller backlogs
// (a steady flow's), of a calm flow, of a source that cannot tell (0
// behind each) or of an MQTT delivery (Enqueue) waits for FlushInterval.
func TestBacklogEnd(t *testing.T) {
	stored := func(behind ...uint64) func(context.Context, *ingest.Ingester) error {
		return func(ctx context.Context, in *ingest.Ingester) error {
			for i, n := range behind {
				m := ingest.StoredMessage{Topic: kessel.ReadingsTopic("air-1"), Payload: []byte(`{"values":{"pm25":7}}`),
					At: time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC), Ack: func() {}, Behind: n}
				if err := in.EnqueueStored(ctx, m); err != nil {
					return err
				}
			}
			return nil
		}
	}
	for _, tc := range []struct {
		name     string
		send     func(context.Context, *ingest.Ingester) error
		batch    int
		atOnce   bool
		readings int
	}{
		{"a backlog's end, after a full batch", stored(5, 4, 3, 2, 1, 0), 4, true, 6},
		{"a backlog's end in its first batch", stored(10, 0), 10, true, 2},
		{"a steady flow's small backlogs", stored(3, 2, 1, 0, 2, 1, 0), 10, false, 7},
		{"a calm flow, or a source that cannot tell", stored(0, 0), 10, false, 2},
		{"an MQTT delivery", func(ctx context.Context, in *ingest.Ingester) error {
			return in.Enqueue(ctx, kessel.ReadingsTopic("air-1"), []byte(`{"values":{"pm25":7}}`))
		}, 10, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &flakyStore{}
			in, ctx, stop := runIngester(t, store, ingest.Options{FlushInterval: time.Hour, BatchSize: tc.batch})
			if err := tc.send(ctx, in); err != nil {
				t.Fatal(err)
			}
			if tc.atOnce {
				testenv.Eventually(t, 10*time.Second, func() bool { return len(store.readings()) == tc.readings }, "the backlog's last batch waited")
				return
			}
			time.Sleep(300 * time.Millisecond)
			if n := len(store.readings()); n != 0 {
				t.Fatalf("%d readings written long before FlushInterval", n)
			}
			stop() // writes what is queued
			if n := len(store.readings()); n != tc.readings {
				t.Fatalf("%d readings written at shutdown, want %d", n, tc.readings)
			}
		})
	}
}
