package rollup_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/rollup"
)

// TestRunYieldsToIngest: while ingest is behind, Run rolls nothing up;
// once it caught up, Run catches up; the wait is counted.
func TestRunYieldsToIngest(t *testing.T) {
	c := newStore(t, influxtest.Start(t).URL, influx.Options{})
	base := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	write(t, c, minutes(base, base.Add(2*time.Hour), "air-1"))
	var busy atomic.Bool
	busy.Store(true)
	prom := prometheus.NewRegistry()
	r, err := rollup.New(c, rollup.Options{Busy: busy.Load, MaxYield: time.Minute, Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	passes := func() float64 {
		mfs, _ := prom.Gather()
		n := 0.0
		for _, mf := range mfs {
			if mf.GetName() == "kessel_rollup_passes_total" {
				for _, m := range mf.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n
	}
	time.Sleep(300 * time.Millisecond)
	if n := passes(); n != 0 {
		t.Fatalf("%v rollup passes while ingest was behind", n)
	}
	busy.Store(false)
	testenv.Eventually(t, 30*time.Second, func() bool { return passes() > 0 }, "no rollup pass after ingest caught up")
	testenv.Eventually(t, 30*time.Second, func() bool { return r.Mark().Done.After(base) }, "nothing rolled up after ingest caught up")
}
