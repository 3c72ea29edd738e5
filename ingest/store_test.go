package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/registry"
)

// TestOneBadDeviceAmongGood poisons the store so that it refuses every
// reading of one device (its kind's pm10 field already holds text), then
// ingests one batch of that device's readings among 160 good ones. The
// good readings must be stored, the bad ones dead-lettered with the
// store's reason, in a handful of write requests (counted by a proxy in
// front of a real influxd), not one request per reading.
func TestOneBadDeviceAmongGood(t *testing.T) {
	srv := influxtest.Start(t)
	proxy := srv.CountingProxy(t)
	store, err := influx.New(influx.Options{URL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	srv.WriteLines(t, "kessel", fmt.Sprintf("weird,device=other pm10=\"text\" %d\n", base.Add(-time.Minute).UnixNano()))

	reg, _ := registry.New(registry.Options{})
	prom := prometheus.NewRegistry()
	in, err := ingest.New(store, reg, ingest.Options{Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	const goodDevices, perDevice, bad = 40, 4, 5
	enqueue := func(topic, payload string) {
		if err := in.Enqueue(ctx, topic, []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	// Queued before Run, so that the loop takes them as one batch.
	enqueue("kessel/devices/bad-1/meta", `{"kind":"weird"}`)
	for i := range perDevice {
		for d := range goodDevices {
			enqueue(fmt.Sprintf("kessel/devices/good-%d/readings", d), fmt.Sprintf(`{"ts":%d,"kind":"air_quality","values":{"pm10":%d}}`, base.Add(time.Duration(i)*time.Second).Unix(), i))
		}
		if i < bad {
			enqueue("kessel/devices/bad-1/readings", fmt.Sprintf(`{"ts":%d,"values":{"pm10":%d}}`, base.Add(time.Duration(i)*time.Second).Unix(), i))
		}
	}
	for i := perDevice; i < bad; i++ {
		enqueue("kessel/devices/bad-1/readings", fmt.Sprintf(`{"ts":%d,"values":{"pm10":%d}}`, base.Add(time.Duration(i)*time.Second).Unix(), i))
	}
	before := proxy.Writes()
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	testenv.Eventually(t, 30*time.Second, func() bool {
		return counterValue(t, prom, "kessel_ingest_written_total", "native") == goodDevices*perDevice &&
			counterValue(t, prom, "kessel_ingest_rejected_total", ingest.ReasonStoreRejected) == bad
	}, "batch not processed: written %v, rejected %v", counterValue(t, prom, "kessel_ingest_written_total", "native"),
		counterValue(t, prom, "kessel_ingest_rejected_total", ingest.ReasonStoreRejected))
	testenv.Eventually(t, 10*time.Second, func() bool {
		dls, err := store.DeadLetters(ctx, kessel.DeadLetterQuery{From: base.Add(-time.Hour), To: time.Now().Add(time.Minute), Reason: ingest.ReasonStoreRejected})
		return err == nil && len(dls) == bad
	}, "dead letters of the bad device not stored")
	writes := proxy.Writes() - before
	t.Logf("write requests for %d good and %d bad readings: %d", goodDevices*perDevice, bad, writes)
	for d := range goodDevices {
		rs, err := store.History(ctx, kessel.HistoryQuery{Device: fmt.Sprintf("good-%d", d), From: base.Add(-time.Minute), To: base.Add(time.Hour)})
		if err != nil || len(rs) != perDevice {
			t.Fatalf("good-%d: %d readings stored, want %d (%v)", d, len(rs), perDevice, err)
		}
	}
	if writes > 3 {
		t.Errorf("%d write requests; want at most 3 (the batch, the batch without the refused readings, the dead letters)", writes)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// refusingStore refuses, without saying which, every batch that holds a
// reading of the device bad, as a store that answers 400 to the whole
// request does; it counts the calls.
type refusingStore struct {
	memStore
	calls int
}

func (s *refusingStore) WriteReadings(ctx context.Context, rs []kessel.Reading) error {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	for _, r := range rs {
		if r.Device == "bad" {
			return kessel.Errorf(kessel.EINVALID, "refused")
		}
	}
	return s.memStore.WriteReadings(ctx, rs)
}

// TestRefusedBatchIsNarrowedDown: when the store refuses a batch without
// naming the culprits, ingest finds them by halving the batch, in a number
// of calls that grows with the logarithm of the batch, not its size.
func TestRefusedBatchIsNarrowedDown(t *testing.T) {
	for _, tc := range []struct {
		name      string
		good, bad int
		maxCalls  int
	}{
		{"one bad among 255", 255, 1, 1 + 2*8},
		{"three bad among 500", 500, 3, 1 + 3*2*9},
		{"all bad", 0, 4, 1 + 2 + 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &refusingStore{}
			prom := prometheus.NewRegistry()
			in, err := ingest.New(store, &devicesFunc{enrich: func(*kessel.Reading) {}}, ingest.Options{Registerer: prom})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := tc.good + tc.bad
			badAt := map[int]bool{}
			for k := range tc.bad {
				badAt[k*n/tc.bad+n/(2*tc.bad)] = true // spread over the batch
			}
			for i := range n {
				device := fmt.Sprintf("good-%d", i)
				if badAt[i] {
					device = "bad"
				}
				if err := in.Enqueue(ctx, "kessel/devices/"+device+"/readings", []byte(fmt.Sprintf(`{"values":{"x":%d}}`, i))); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() { done <- in.Run(ctx) }()
			testenv.Eventually(t, 10*time.Second, func() bool {
				return counterValue(t, prom, "kessel_ingest_written_total", "native")+counterValue(t, prom, "kessel_ingest_deadlettered_total", "native") == float64(n)
			}, "batch not processed")
			cancel()
			<-done
			store.mu.Lock()
			defer store.mu.Unlock()
			bad := n - len(store.readings)
			if bad != tc.bad || len(store.dead) != bad || counterValue(t, prom, "kessel_ingest_rejected_total", ingest.ReasonStoreRejected) != float64(bad) {
				t.Errorf("%d readings stored of %d, %d dead letters", len(store.readings), n, len(store.dead))
			}
			t.Logf("%d bad of %d: %d store calls", bad, n, store.calls)
			if store.calls > tc.maxCalls {
				t.Errorf("%d store calls, want at most %d", store.calls, tc.maxCalls)
			}
		})
	}
}
