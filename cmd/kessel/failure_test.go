package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// The failure tests run real processes: mosquitto (with the shipped
// limits), influxd and kessel serve, and count what InfluxDB holds in the
// end. Every reading has a unique (device, timestamp), and writes are
// idempotent, so "stored == sent" means nothing was lost and nothing
// duplicated.

const failureDevices = 10

func storedCount(t *testing.T, db *influxtest.Server, base time.Time) int {
	t.Helper()
	c, err := influx.New(influx.Options{URL: db.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := 0
	for i := range failureDevices {
		// every stored point, raw: an aggregate counts only the values
		// quality control passed, and a redelivered reading arriving out
		// of order is flagged, not lost
		rs, err := c.History(context.Background(), kessel.HistoryQuery{Device: fmt.Sprintf("dev-%02d", i), From: base.Add(-time.Hour), To: base.Add(24 * time.Hour), Fields: []string{"seq"}, Resolution: kessel.ResolutionRaw})
		if err != nil {
			return -1
		}
		for _, r := range rs {
			if _, ok := r.Values["seq"]; ok {
				n++
			}
		}
	}
	return n
}

func requireAll(t *testing.T, db *influxtest.Server, base time.Time, sent int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	got := storedCount(t, db, base)
	for got != sent && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		got = storedCount(t, db, base)
	}
	if got != sent {
		t.Fatalf("stored %d readings, want exactly the %d sent", got, sent)
	}
	t.Logf("sent %d, stored %d", sent, got)
}

func failureBase() time.Time { return time.Now().Add(-30 * time.Minute).Truncate(time.Second) }

func outageSeconds() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("KESSEL_OUTAGE_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 60 * time.Second
}

// TestInfluxDBOutage stops InfluxDB for a minute under steady load: Kessel
// holds the messages unacknowledged (mosquitto keeps the rest), reports not
// ready, and stores everything once InfluxDB is back, with bounded memory.
func TestInfluxDBOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("long failure test skipped in -short mode")
	}
	mq := testenv.StartMosquitto(t)
	db := influxtest.Start(t)
	h := startHub(t, "kessel", "--mqtt-broker", mq.URL, "--influx-url", db.URL, "--mqtt-client-id", "outage")
	base := failureBase()
	pub := startPublisher(t, mq.URL, failureDevices, 300, base)
	time.Sleep(3 * time.Second)
	db.Stop()
	testenv.Eventually(t, 20*time.Second, func() bool { return readyStatus(h) == 503 }, "readyz did not turn 503 during the outage")
	time.Sleep(outageSeconds())
	db.Restart(t)
	time.Sleep(3 * time.Second)
	sent := pub.Stop()
	requireAll(t, db, base, sent, 60*time.Second)
	testenv.Eventually(t, 10*time.Second, func() bool { return readyStatus(h) == 200 }, "readyz did not recover")
	if rss := h.peakRSS(); rss > 256<<20 {
		t.Errorf("peak RSS %d MiB during the outage; want memory bounded under 256 MiB", rss>>20)
	} else {
		t.Logf("peak RSS %d MiB", rss>>20)
	}
}

func readyStatus(h *hub) int {
	resp, err := httpGet("http://" + h.HTTP + "/readyz")
	if err != nil {
		return 0
	}
	return resp
}

// TestBrokerRestart restarts mosquitto mid-stream; Kessel reconnects,
// resubscribes and the flow resumes by itself with nothing lost.
func TestBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("long failure test skipped in -short mode")
	}
	mq := testenv.StartMosquitto(t)
	db := influxtest.Start(t)
	h := startHub(t, "kessel", "--mqtt-broker", mq.URL, "--influx-url", db.URL, "--mqtt-client-id", "restart")
	base := failureBase()
	pub := startPublisher(t, mq.URL, failureDevices, 300, base)
	time.Sleep(3 * time.Second)
	mq.Stop()
	time.Sleep(2 * time.Second)
	mq.Start(t)
	before := pub.Sent()
	testenv.Eventually(t, 30*time.Second, func() bool { return h.metricSum("kessel_ingest_written_total") > float64(before) }, "no readings written after the broker restart")
	time.Sleep(3 * time.Second)
	sent := pub.Stop()
	requireAll(t, db, base, sent, 30*time.Second)
}

// TestKill9 kills Kessel with SIGKILL mid-stream and starts it again: the
// persistent session holds what arrived meanwhile and what was not yet
// acknowledged, so nothing is lost.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("long failure test skipped in -short mode")
	}
	mq := testenv.StartMosquitto(t)
	db := influxtest.Start(t)
	h := startHub(t, "kessel", "--mqtt-broker", mq.URL, "--influx-url", db.URL, "--mqtt-client-id", "kill9")
	base := failureBase()
	pub := startPublisher(t, mq.URL, failureDevices, 500, base)
	time.Sleep(3 * time.Second)
	h.kill9()
	time.Sleep(2 * time.Second)
	h.start()
	time.Sleep(3 * time.Second)
	sent := pub.Stop()
	requireAll(t, db, base, sent, 30*time.Second)
}

// TestSharedGroup runs two ingest-only processes in one shared
// subscription group: they split the stream, every message is stored
// once; one is killed with SIGKILL and restarted, and still nothing is lost.
func TestSharedGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("long failure test skipped in -short mode")
	}
	mq := testenv.StartMosquitto(t)
	db := influxtest.Start(t)
	common := []string{"--mqtt-broker", mq.URL, "--influx-url", db.URL, "--mqtt-shared-group", "ingest", "--roles", "ingest,api"}
	a := startHub(t, "kessel-a", append(common, "--mqtt-client-id", "ingest-a")...)
	b := startHub(t, "kessel-b", append(common, "--mqtt-client-id", "ingest-b")...)

	base := failureBase()
	pub := startPublisher(t, mq.URL, failureDevices, 500, base)
	time.Sleep(3 * time.Second)
	first := pub.Stop()
	requireAll(t, db, base, first, 30*time.Second)
	wa, wb := a.metricSum("kessel_ingest_written_total"), b.metricSum("kessel_ingest_written_total")
	if wa == 0 || wb == 0 || int(wa+wb) != first {
		t.Fatalf("split: a wrote %v, b wrote %v, want both > 0 and together exactly %d", wa, wb, first)
	}
	t.Logf("split of %d: a %v, b %v", first, wa, wb)

	base2 := base.Add(10 * time.Minute)
	pub = startPublisher(t, mq.URL, failureDevices, 500, base2)
	time.Sleep(2 * time.Second)
	a.kill9()
	time.Sleep(2 * time.Second)
	a.start()
	time.Sleep(2 * time.Second)
	sent := pub.Stop()
	t.Logf("after the restart: a wrote %v, b wrote %v", a.metricSum("kessel_ingest_written_total"), b.metricSum("kessel_ingest_written_total"))
	requireAll(t, db, base2, first+sent, 30*time.Second)
}

// TestAPIOnlyInstance: a --roles api instance beside an ingesting one
// keeps its live state current from the stream and, restarted, fills it
// from InfluxDB.
func TestAPIOnlyInstance(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := influxtest.Start(t)
	ing := startHub(t, "ingester", "--mqtt-broker", mq.URL, "--influx-url", db.URL, "--mqtt-client-id", "ing", "--roles", "ingest,api")
	api := startHub(t, "api-only", "--mqtt-broker", mq.URL, "--influx-url", db.URL, "--mqtt-client-id", "apionly", "--roles", "api")
	pub := startPublisher(t, mq.URL, 2, 200, time.Now().Add(-time.Minute).Truncate(time.Second))
	pub.client.Publish("kessel/devices/dev-01/meta", 1, true, `{"kind":"test","visibility":"public"}`).Wait()
	latest := func() (string, float64) {
		var d struct {
			Latest *struct {
				Time   string
				Values map[string]float64
			}
		}
		if getJSON(t, "http://"+api.HTTP+"/api/v1/devices/dev-01", &d) != 200 || d.Latest == nil {
			return "", -1
		}
		return d.Latest.Time, d.Latest.Values["seq"]
	}
	testenv.Eventually(t, 20*time.Second, func() bool { _, v := latest(); return v > 0 }, "API-only instance has no live value")
	_, v1 := latest()
	testenv.Eventually(t, 10*time.Second, func() bool { _, v := latest(); return v > v1 }, "API-only instance's live value does not move")
	sent := pub.Stop()
	// The publisher numbers its messages 0, 1, … round-robin over dev-00
	// and dev-01: dev-01's last value is the largest odd number sent.
	last := float64(sent - 1 - (sent % 2))
	testenv.Eventually(t, 10*time.Second, func() bool { _, v := latest(); return v == last }, "API-only instance does not show dev-01's last value %v", last)
	// The API-only instance sees the stream before the ingester's batch is
	// in InfluxDB: restart it only once everything sent is stored.
	testenv.Eventually(t, 10*time.Second, func() bool { return ing.metricSum("kessel_ingest_written_total") >= float64(sent) }, "the ingester did not store the %d readings sent", sent)
	api.kill9()
	api.start()
	// The restore from InfluxDB runs in the background after start.
	testenv.Eventually(t, 20*time.Second, func() bool { _, v := latest(); return v == last }, "after a restart the API-only instance does not show %v from InfluxDB", last)
}
