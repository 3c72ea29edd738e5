package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// BenchmarkSSEFanOut connects 1,000 SSE clients to /alerts/stream of a
// real `kessel serve`, publishes background readings at 10,000/s for five
// seconds with one alerting reading a second, and reports whether every
// client got every alert event, the rate the readings were published at
// and written at (all of them, until the last was stored), how long after
// the last publish the last write came, and the hub's resident memory
// before and after the clients connected (-benchtime 1x: one run is the
// measurement).
//
// The readings go at QoS 1, as devices must send them to the embedded
// default broker: it hands Kessel the QoS 1 messages JetStream stored, and
// a QoS 0 publish reaches online MQTT subscribers only, never ingest (at
// QoS 0 this benchmark once stored nothing and saw no alert).
func BenchmarkSSEFanOut(b *testing.B) {
	const clients, seconds = 1000, 5
	db := influxtest.Start(b)
	cfg := filepath.Join(b.TempDir(), "kessel.yaml")
	if err := os.WriteFile(cfg, []byte(`rules:
  - {id: hot, kind: test, field: v, condition: threshold, op: ">", threshold: 100, visibility: public, include_suspect: true}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	mqttAddr := testenv.FreePort(b)
	// 1,000 citizens are 1,000 addresses: the clients come through a
	// trusted proxy (loopback) that names each one, since one address may
	// hold only 64 streams.
	h := startHubB(b, "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg, "--trusted-proxies", "127.0.0.0/8")
	base := "http://" + h
	rssIdle := metricB(b, base, "process_resident_memory_bytes")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	counts := make([]atomic.Int64, clients)
	var connected atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			countAlerts(ctx, client, base+"/api/v1/alerts/stream", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), &connected, &counts[i])
		}()
	}
	testenv.Eventually(b, 60*time.Second, func() bool { return connected.Load() == clients }, "SSE clients did not all connect")
	rssConnected := metricB(b, base, "process_resident_memory_bytes")

	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("bench-fanout"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	written0 := metricB(b, base, "kessel_ingest_written_total")
	b.ResetTimer()
	start := time.Now()
	published := publishFlow(c, seconds)
	sent := time.Since(start)
	written, stored := 0.0, sent
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && (minCount(counts) < seconds || written < float64(published)) {
		if written < float64(published) {
			written, stored = metricB(b, base, "kessel_ingest_written_total")-written0, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond) // a benchmark's wait for the stragglers, not a test's synchronisation
	}
	b.StopTimer()
	rssAfter := metricB(b, base, "process_resident_memory_bytes")
	lo, full := minCount(counts), 0
	for i := range counts {
		if counts[i].Load() >= seconds {
			full++
		}
	}
	b.ReportMetric(float64(full), "clients-with-every-event")
	b.ReportMetric(float64(lo), "fewest-events")
	b.ReportMetric(float64(published)/sent.Seconds(), "published/s")
	b.ReportMetric(written/stored.Seconds(), "written/s")
	b.ReportMetric((stored - sent).Seconds(), "s-last-write-after-last-publish")
	b.ReportMetric(rssIdle/1e6, "rss-idle-MB")
	b.ReportMetric(rssConnected/1e6, "rss-1000-clients-MB")
	b.ReportMetric(rssAfter/1e6, "rss-after-MB")
	if full != clients {
		b.Errorf("%d of %d clients got all %d alert events (fewest %d)", full, clients, seconds, lo)
	}
	if written < float64(published) {
		b.Errorf("%.0f of %d readings written within 20 s of the last publish", written, published)
	}
}

// publishFlow publishes 10,000 readings a second at QoS 1 for seconds
// seconds, of which one a second (the first of each second) alerts, and
// returns how many it published. It does not wait for the PUBACKs; each
// 10 ms tick publishes what is due by the clock, so a late tick is caught
// up, not lost.
func publishFlow(c mqtt.Client, seconds int) int {
	const rate = 10_000
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start, seq := time.Now(), 0
	for seq < seconds*rate {
		<-tick.C
		due := min(seconds*rate, int(time.Since(start).Seconds()*rate))
		for ; seq < due; seq++ {
			dev, v := fmt.Sprintf("bg-%04d", seq%1000), 10
			if seq%rate == 0 {
				dev, v = fmt.Sprintf("hot-%06d", seq/rate), 500
			}
			c.Publish("kessel/devices/"+dev+"/readings", 1, false, fmt.Sprintf(`{"kind":"test","values":{"v":%d}}`, v))
		}
	}
	return seq
}

// countAlerts reads one SSE stream until ctx ends, counting firing events
// of hot-* devices.
func countAlerts(ctx context.Context, client *http.Client, url, addr string, connected, n *atomic.Int64) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return
	}
	connected.Add(1)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") && strings.Contains(line, `"rule_id":"hot"`) && strings.Contains(line, `"firing"`) {
			n.Add(1)
		}
	}
}

func minCount(counts []atomic.Int64) int64 {
	lo := counts[0].Load()
	for i := range counts {
		lo = min(lo, counts[i].Load())
	}
	return lo
}

// metricB sums a metric's samples on /metrics.
func metricB(b *testing.B, base, name string) float64 {
	b.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, m := range regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`(?:\{[^}]*\})? (\S+)$`).FindAllSubmatch(body, -1) {
		f, _ := strconv.ParseFloat(string(m[1]), 64)
		sum += f
	}
	return sum
}
