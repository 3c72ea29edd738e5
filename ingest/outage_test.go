package ingest_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// failingStore refuses the first fail writes of readings, noting when
// each write was tried.
type failingStore struct {
	flakyStore
	fail  int
	mu    sync.Mutex
	tries []time.Time
}

func (s *failingStore) WriteReadings(ctx context.Context, rs []kessel.Reading) error {
	s.mu.Lock()
	s.tries = append(s.tries, time.Now())
	n := len(s.tries)
	s.mu.Unlock()
	if n <= s.fail {
		return errors.New("store down")
	}
	return s.flakyStore.WriteReadings(ctx, rs)
}

// TestOutageBacksOff: while the store fails, a held message from a
// durable stream is not handed back for redelivery (nothing spins
// through the broker): ingest retries the write itself, each retry
// after a longer pause (100 ms doubling, capped at 5 s), counts each
// failure, and acknowledges the message once, after the write that
// succeeded.
func TestOutageBacksOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail int
	}{
		{"no outage", 0},
		{"four failed writes", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &failingStore{fail: tc.fail}
			prom := prometheus.NewRegistry()
			in, ctx, _ := runIngester(t, store, ingest.Options{FlushInterval: time.Millisecond, Registerer: prom})
			var acks atomic.Int32
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			if err := in.EnqueueStored(ctx, ingest.StoredMessage{Topic: kessel.ReadingsTopic("air-1"), Payload: []byte(`{"values":{"pm25":7}}`), At: at, Ack: func() { acks.Add(1) }}); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, 20*time.Second, func() bool { return acks.Load() == 1 }, "message not acknowledged after the store came back")
			store.mu.Lock()
			tries := append([]time.Time(nil), store.tries...)
			store.mu.Unlock()
			if len(tries) != tc.fail+1 || len(store.readings()) != 1 {
				t.Fatalf("%d writes tried, %d readings stored; want %d and 1", len(tries), len(store.readings()), tc.fail+1)
			}
			for i := 1; i < len(tries); i++ {
				// 100 ms, 200 ms, 400 ms, 800 ms: each pause at least the
				// backoff step (a little slack for the timer).
				if gap, min := tries[i].Sub(tries[i-1]), (100*time.Millisecond<<(i-1))*9/10; gap < min {
					t.Errorf("retry %d after %v, want at least %v", i, gap, min)
				}
			}
			if got := gathered(t, prom, "kessel_ingest_write_errors_total"); got != float64(tc.fail) {
				t.Errorf("write errors counted: %v, want %d", got, tc.fail)
			}
			if n := acks.Load(); n != 1 {
				t.Errorf("%d acknowledgements, want 1", n)
			}
		})
	}
}

// gathered is the sum of the named metric's series in g.
func gathered(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
