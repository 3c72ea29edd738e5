package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// readyLog polls /readyz of each replica every 200 ms and keeps what it
// answered (0: no answer).
type readyLog struct {
	mu   sync.Mutex
	hubs []*hub
	seen map[string][]readyAt
	stop chan struct{}
	done chan struct{}
}

type readyAt struct {
	at     time.Time
	status int
}

func pollReady(t *testing.T, hubs ...*hub) *readyLog {
	r := &readyLog{hubs: hubs, seen: map[string][]readyAt{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-tick.C:
			}
			for _, h := range r.hubs {
				st := readyStatus(h)
				r.mu.Lock()
				r.seen[h.name] = append(r.seen[h.name], readyAt{time.Now(), st})
				r.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { close(r.stop); <-r.done })
	return r
}

// between returns the statuses name answered in [from, to).
func (r *readyLog) between(name string, from, to time.Time) map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := map[int]int{}
	for _, s := range r.seen[name] {
		if !s.at.Before(from) && s.at.Before(to) {
			got[s.status]++
		}
	}
	return got
}

// influxOutage is how long InfluxDB is down in the cluster failure test.
const influxOutage = 30 * time.Second

// TestNATSClusterFailover runs a 3-node NATS cluster (real nats-server
// processes), two Kessel ingest replicas and an API-only one joined to it
// with --nats, InfluxDB, and a fleet publishing QoS 1 to the cluster's
// MQTT listeners; it kills -9 a NATS node, then an ingest replica,
// restarts both, and stops InfluxDB for 30 s. Every acknowledged reading
// is stored exactly once, every alert transition of the scenario is
// published once, and /readyz of each replica says what is true.
func TestNATSClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("long failure test skipped in -short mode")
	}
	nodes := startNATSCluster(t)
	db := influxtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	if err := os.WriteFile(cfg, []byte(`rules:
  - {id: hot, kind: test, field: temp, condition: threshold, op: ">", threshold: 50, clear: 40, visibility: public, severity: warning}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The scenario's alarms are single jumps, which quality control rightly
	// flags as spikes (and rules then ignore); QC is not under test here.
	common := []string{"--nats", natsURLs(nodes), "--influx-url", db.URL, "--config", cfg, "--qc=false"}
	a := startHub(t, "ingest-a", append(common, "--roles", "ingest,alerts,api", "--mqtt-client-id", "ingest-a")...)
	b := startHub(t, "ingest-b", append(common, "--roles", "ingest,alerts,api", "--mqtt-client-id", "ingest-b")...)
	api := startHub(t, "api", append(common, "--roles", "api", "--mqtt-client-id", "api")...)
	ready := pollReady(t, a, b, api)

	devices := []string{"alarm-0", "alarm-1", "alarm-2", "alarm-3"}
	for i := range failureDevices {
		devices = append(devices, fmt.Sprintf("dev-%02d", i))
	}
	watch := watchAlerts(t, mqttURLs(nodes))
	base := failureBase()
	fleet := startClusterFleet(t, mqttURLs(nodes), devices, 4, 200, base)
	stored := func() int {
		m, err := storedPerDevice(db.URL, devices, base)
		if err != nil {
			return -1
		}
		return sum(m)
	}
	flowing := func(what string) {
		t.Helper()
		from := sum(fleet.Acked())
		testenv.Eventually(t, 60*time.Second, func() bool { return stored() >= from+100 }, "readings not stored after %s", what)
	}
	flowing("start")

	// Both ingest replicas store: each holds some of the partitions.
	testenv.Eventually(t, 30*time.Second, func() bool {
		return a.metricSum("kessel_ingest_written_total") > 0 && b.metricSum("kessel_ingest_written_total") > 0
	}, "the ingest replicas do not share the work: ingest-a wrote %v, ingest-b %v",
		lazy(func() string { return fmt.Sprint(a.metricSum("kessel_ingest_written_total")) }),
		lazy(func() string { return fmt.Sprint(b.metricSum("kessel_ingest_written_total")) }))
	t.Logf("before the failures: ingest-a wrote %v, ingest-b %v", a.metricSum("kessel_ingest_written_total"), b.metricSum("kessel_ingest_written_total"))
	steady := time.Now()
	nodes[1].kill9()
	t.Log("killed nats-server n2")
	flowing("the loss of a NATS server")
	a.kill9()
	t.Log("killed kessel ingest-a")
	atKill := sum(fleet.Acked())
	// ingest-a's partitions move to ingest-b once their pins time out.
	testenv.Eventually(t, 60*time.Second, func() bool { return stored() >= atKill+100 }, "readings not stored after the loss of a replica")
	nodes[1].start()
	nodes[1].waitHealthy()
	a.start()
	t.Log("restarted n2 and ingest-a")
	requireAllReady(t, ready, []*hub{a, b, api}, steady)

	down := time.Now()
	db.Stop()
	t.Log("stopped InfluxDB")
	time.Sleep(influxOutage) // the outage itself, not a synchronisation
	up := time.Now()
	db.Restart(t)
	t.Log("restarted InfluxDB")
	requireAllReady(t, ready, []*hub{a, b, api}, up)
	flowing("InfluxDB came back")
	fleet.Stop()

	checkStored(t, fleet, db.URL, devices, base)
	checkAlerts(t, fleet, watch)
	checkOutageReadiness(t, ready, []*hub{a, b, api}, down, up)
	checkFollower(t, api, fleet)
	t.Logf("redelivered (absorbed by idempotent writes): ingest-a %v, ingest-b %v (counters since their last start)",
		a.metric("kessel_broker_redelivered_total"), b.metric("kessel_broker_redelivered_total"))
}

// requireAllReady waits until every replica's /readyz says 200.
func requireAllReady(t *testing.T, ready *readyLog, hubs []*hub, since time.Time) {
	t.Helper()
	for _, h := range hubs {
		testenv.Eventually(t, 30*time.Second, func() bool { return ready.between(h.name, since, time.Now().Add(time.Hour))[200] > 0 },
			"%s not ready again", h.name)
	}
}

func checkStored(t *testing.T, fleet *clusterFleet, dbURL string, devices []string, base time.Time) {
	t.Helper()
	acked := fleet.Acked()
	var got map[string]int
	testenv.Eventually(t, 60*time.Second, func() bool {
		var err error
		got, err = storedPerDevice(dbURL, devices, base)
		return err == nil && maps.Equal(got, acked)
	}, "stored %v, want exactly the acknowledged %v", lazy(func() string { return fmt.Sprint(got) }), acked)
	lost, dup := 0, 0
	for d, n := range acked {
		lost += max(0, n-got[d])
		dup += max(0, got[d]-n)
	}
	t.Logf("readings: acknowledged %d, stored %d, duplicated %d, lost %d", sum(acked), sum(got), dup, lost)
}

func checkAlerts(t *testing.T, fleet *clusterFleet, watch *alertWatch) {
	t.Helper()
	want := fleet.expectedTransitions()
	var seen map[string]int
	var raw int
	testenv.Eventually(t, 30*time.Second, func() bool { seen, raw = watch.snapshot(); return maps.Equal(seen, want) },
		"alert transitions seen %v, want %v; the transitions seen:\n%v", lazy(func() string { return fmt.Sprint(seen) }), want, lazy(watch.String))
	n := 0
	for _, v := range want {
		n += v
	}
	t.Logf("alert events: expected %d, seen %d distinct (%d MQTT deliveries) %v", n, n, raw, slices.Sorted(maps.Keys(want)))
}

// checkOutageReadiness: from 5 s after InfluxDB stopped until it was
// back, no replica said it was ready.
func checkOutageReadiness(t *testing.T, ready *readyLog, hubs []*hub, down, up time.Time) {
	t.Helper()
	for _, h := range hubs {
		got := ready.between(h.name, down.Add(5*time.Second), up)
		if got[200] > 0 || got[503] == 0 {
			t.Errorf("%s /readyz during the InfluxDB outage: %v (status: polls), want 503 only", h.name, got)
		}
		t.Logf("%s /readyz during the InfluxDB outage: %v", h.name, got)
	}
}

// checkFollower: the API-only replica's latest value of a device is the
// last one acknowledged, from the stream.
func checkFollower(t *testing.T, api *hub, fleet *clusterFleet) {
	t.Helper()
	fleet.mu.Lock()
	want := float64(fleet.lastSeq["dev-01"])
	fleet.mu.Unlock()
	var v float64
	testenv.Eventually(t, 20*time.Second, func() bool {
		var d struct {
			Latest *struct{ Values map[string]float64 }
		}
		if getJSON(t, "http://"+api.HTTP+"/api/v1/devices/dev-01", &d) != 200 || d.Latest == nil {
			return false
		}
		v = d.Latest.Values["seq"]
		return v == want
	}, "API-only replica shows dev-01 seq %v, want %v", lazy(func() string { return fmt.Sprint(v) }), want)
}

// lazy prints as what it returns when the message is formatted: a failed
// Eventually then shows the value its last poll saw, not the one the
// variable had when Eventually was called.
type lazy func() string

func (l lazy) String() string { return l() }
