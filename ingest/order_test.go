package ingest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// gatedStore holds its first write until released; later writes pass.
type gatedStore struct {
	flakyStore
	once             sync.Once
	started, release chan struct{}
}

func (s *gatedStore) WriteReadings(ctx context.Context, rs []kessel.Reading) error {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.started)
		<-s.release
	}
	return s.flakyStore.WriteReadings(ctx, rs)
}

// TestAcksInOrder: batches are written side by side (the second is stored
// while the first is still being written), yet acknowledged in the order
// they came: the second waits for the first.
func TestAcksInOrder(t *testing.T) {
	store := &gatedStore{started: make(chan struct{}), release: make(chan struct{})}
	in, ctx, _ := runIngester(t, store, ingest.Options{FlushInterval: time.Millisecond, BatchSize: 1})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(store.release) }) }
	t.Cleanup(release) // before the ingester stops (cleanups run last first)
	var mu sync.Mutex
	var acks []int
	enqueue := func(n int) {
		ack := func() { mu.Lock(); acks = append(acks, n); mu.Unlock() }
		if err := in.EnqueueStored(ctx, ingest.StoredMessage{Topic: kessel.ReadingsTopic("air-1"), Payload: []byte(`{"values":{"pm25":7}}`), At: time.Now().Add(time.Duration(n) * time.Second), Ack: ack}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(1)
	<-store.started
	enqueue(2)
	testenv.Eventually(t, 10*time.Second, func() bool { return len(store.readings()) == 1 }, "the second batch was not written while the first was")
	mu.Lock()
	early := append([]int(nil), acks...)
	mu.Unlock()
	if len(early) != 0 {
		t.Fatalf("acknowledged %v while the first batch was still being written", early)
	}
	release()
	testenv.Eventually(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acks) == 2 }, "not both acknowledged")
	mu.Lock()
	defer mu.Unlock()
	if acks[0] != 1 || acks[1] != 2 {
		t.Errorf("acknowledged in the order %v, want [1 2]", acks)
	}
}
