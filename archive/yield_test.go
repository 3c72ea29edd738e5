package archive_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/archive"
)

// watched is the store with a count of the history queries made.
type watched struct {
	archive.Store
	queries atomic.Int64
}

func (w *watched) StreamHistory(ctx context.Context, q kessel.HistoryQuery, fn func(kessel.Reading) error) error {
	w.queries.Add(1)
	return w.Store.StreamHistory(ctx, q, fn)
}

// TestWriteDayYieldsToIngest: while ingest is behind, a day being written
// reads no readings, and goes on once ingest caught up; under a load that
// never ends it still goes on, a device per MaxYield; the waits are
// counted in kessel_archive_yield_seconds_total.
func TestWriteDayYieldsToIngest(t *testing.T) {
	c, reg, _, _ := city(t)
	tests := []struct {
		name     string
		maxYield time.Duration
		release  bool // ingest catches up after a while
		minWait  time.Duration
	}{
		{"ingest catches up", time.Minute, true, 300 * time.Millisecond},
		{"ingest never catches up", 100 * time.Millisecond, false, 3 * 100 * time.Millisecond}, // 3 public devices
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var busy atomic.Bool
			busy.Store(true)
			store := &watched{Store: c}
			prom := prometheus.NewRegistry()
			a, err := archive.New(t.TempDir(), store, reg, archive.Options{Busy: busy.Load, MaxYield: tt.maxYield, Registerer: prom})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, err := a.WriteDay(context.Background(), day); done <- err }()
			if tt.release {
				time.Sleep(tt.minWait)
				if n := store.queries.Load(); n != 0 {
					t.Fatalf("%d history queries while ingest was behind", n)
				}
				busy.Store(false)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("WriteDay did not finish")
			}
			if store.queries.Load() == 0 {
				t.Error("no history queries: nothing was archived")
			}
			mfs, err := prom.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var waited float64
			for _, mf := range mfs {
				if mf.GetName() == "kessel_archive_yield_seconds_total" {
					waited = mf.GetMetric()[0].GetCounter().GetValue()
				}
			}
			if waited < tt.minWait.Seconds() {
				t.Errorf("kessel_archive_yield_seconds_total = %.2f, want at least %.2f", waited, tt.minWait.Seconds())
			}
		})
	}
}
