package alert_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
)

// benchRules makes 100 rules over 10 kinds: thresholds, window means,
// rates and maxima, so every reading is evaluated by 10 rules.
func benchRules() []alert.Rule {
	var rs []alert.Rule
	conds := []string{alert.CondThreshold, alert.CondMean, alert.CondMax, alert.CondRate}
	for k := range 10 {
		for i := range 10 {
			c := conds[i%len(conds)]
			r := alert.Rule{ID: fmt.Sprintf("r-%d-%d", k, i), Kind: fmt.Sprintf("kind%d", k), Field: "v", Condition: c, Op: ">", Threshold: 1000 + float64(i)}
			if c != alert.CondThreshold {
				r.Window = time.Hour
			}
			rs = append(rs, r)
		}
	}
	return rs
}

// BenchmarkEvaluate: cost per reading with 100 rules over 10,000 devices.
func BenchmarkEvaluate(b *testing.B) {
	e, err := alert.New(benchRules(), alert.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const devices = 10_000
	batch := make([]kessel.Reading, 1000)
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for n := 0; n < b.N; n += len(batch) {
		for i := range batch {
			d := (n + i) % devices
			batch[i] = kessel.Reading{Device: fmt.Sprintf("d%05d", d), Kind: fmt.Sprintf("kind%d", d%10), Time: t0.Add(time.Duration(n+i) * time.Millisecond),
				Values: map[string]float64{"v": float64((n + i) % 900)}}
		}
		e.EvaluateForTest(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/reading")
}

// BenchmarkAlertLatency feeds 10,000 readings per second through Observe
// (the engine's real queue and goroutine) and measures the time from a
// reading's hand-over to its alert event reaching a subscriber.
func BenchmarkAlertLatency(b *testing.B) {
	e, err := alert.New(benchRules(), alert.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	_, events, stop := e.Subscribe(0)
	defer stop()
	var lat []time.Duration
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tick := time.NewTicker(10 * time.Millisecond) // 100 readings per tick = 10,000/s
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		<-tick.C
		batch := make([]kessel.Reading, 100)
		for j := range batch {
			d := (i*100 + j) % 10_000
			dev, v := fmt.Sprintf("d%05d", d), 10.0
			if j == 99 {
				dev, v = fmt.Sprintf("x%07d", i), 5000 // a new device crossing every threshold of its kind
			}
			batch[j] = kessel.Reading{Device: dev, Kind: fmt.Sprintf("kind%d", d%10), Time: t0.Add(time.Duration(i*100+j) * time.Millisecond), Values: map[string]float64{"v": v}}
		}
		sent := time.Now()
		e.Observe(batch)
		select {
		case <-events:
			lat = append(lat, time.Since(sent))
		case <-time.After(time.Second):
			b.Fatal("no alert event within a second")
		}
		for len(events) > 0 {
			<-events
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
}
