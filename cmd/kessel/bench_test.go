package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// BenchmarkAlertLatencySSE measures, on real processes, the time from a
// reading's publication to its alert event on the SSE stream while
// background traffic runs at 10,000 readings per second (make bench-alert).
func BenchmarkAlertLatencySSE(b *testing.B) {
	db := influxtest.Start(b)
	cfg := filepath.Join(b.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`rules:
  - {id: hot, kind: test, field: v, condition: threshold, op: ">", threshold: 100, visibility: public}
`), 0o644)
	mqttAddr := testenv.FreePort(b)
	h := startHubB(b, "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := subscribeSSE(ctx, b, "http://"+h+"/api/v1/alerts/stream", "")

	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("bench-pub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	var lat []time.Duration
	tick := time.NewTicker(10 * time.Millisecond) // 100 readings per tick: 10,000/s
	defer tick.Stop()
	seq := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var sent time.Time
		for range 10 { // 100 ms of traffic per sample
			<-tick.C
			for j := range 100 {
				seq++
				dev, v := fmt.Sprintf("bg-%04d", seq%1000), 10
				if j == 99 && sent.IsZero() {
					dev, v = fmt.Sprintf("hot-%06d", i), 500
					sent = time.Now()
				}
				// QoS 1: the embedded broker hands ingest only what JetStream stored
				c.Publish("kessel/devices/"+dev+"/readings", 1, false, fmt.Sprintf(`{"kind":"test","values":{"v":%d}}`, v))
			}
		}
		select {
		case ev := <-events:
			if !strings.Contains(ev.data, fmt.Sprintf("hot-%06d", i)) {
				b.Fatalf("unexpected event %s", ev.data)
			}
			lat = append(lat, ev.at.Sub(sent))
		case <-time.After(5 * time.Second):
			b.Fatal("no alert event within 5 s")
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}

// startHubB is startHub for benchmarks: it returns the HTTP address.
func startHubB(b *testing.B, args ...string) string {
	b.Helper()
	bin, _ := binaries(b)
	addr := testenv.FreePort(b)
	cmd := execHub(bin, append([]string{"serve", "--http", addr, "--log-level", "error", "--rate-limit-read", "0"}, args...))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testenv.Eventually(b, 30*time.Second, func() bool { st, err := httpGet("http://" + addr + "/readyz"); return err == nil && st == 200 }, "kessel not ready")
	return addr
}
