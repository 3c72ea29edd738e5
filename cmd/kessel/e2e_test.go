package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// buildBinaries compiles kessel and kessel-sim as a user would run them.
func buildBinaries(t *testing.T) (kessel, sim string) {
	t.Helper()
	dir := t.TempDir()
	root := testenv.ModuleRoot()
	for _, b := range []string{"kessel", "kessel-sim"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b), "./cmd/"+b)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b, err, out)
		}
	}
	return filepath.Join(dir, "kessel"), filepath.Join(dir, "kessel-sim")
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, body)
		}
	}
	return resp.StatusCode
}

// TestEndToEnd runs influxd, `kessel serve` and `kessel-sim --count K` as
// separate processes and checks through the REST API that exactly K
// readings were stored and each device's latest values are the last sent.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	db := influxtest.Start(t)
	kesselBin, simBin := buildBinaries(t)
	httpAddr, mqttAddr := testenv.FreePort(t), testenv.FreePort(t)
	base := "http://" + httpAddr

	var logs bytes.Buffer
	var logMu sync.Mutex
	serve := exec.Command(kesselBin, "serve", "--http", httpAddr, "--mqtt-listen", mqttAddr, "--influx-url", db.URL, "--mqtt-client-id", "e2e", "--log-level", "warn")
	serve.Stdout = io.Discard
	serve.Stderr = &lockedWriter{w: &logs, mu: &logMu}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		if t.Failed() {
			logMu.Lock()
			t.Logf("kessel log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	testenv.Eventually(t, 30*time.Second, func() bool { return getJSON(t, base+"/readyz", nil) == http.StatusOK }, "kessel not ready")

	// Watch what the simulator publishes, as a second subscriber.
	last := map[string]map[string]float64{}
	var mu sync.Mutex
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("e2e-watcher"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	tok := sub.Subscribe("kessel/devices/+/readings", 1, func(_ mqtt.Client, m mqtt.Message) {
		var r struct{ Values map[string]float64 }
		if json.Unmarshal(m.Payload(), &r) == nil {
			mu.Lock()
			last[strings.Split(m.Topic(), "/")[2]] = r.Values
			mu.Unlock()
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher subscribe: %v", tok.Error())
	}

	const devices, count = 20, 2000
	start := time.Now().Add(-time.Minute)
	sim := exec.Command(simBin, "--broker", "tcp://"+mqttAddr, "--devices", fmt.Sprint(devices), "--count", fmt.Sprint(count), "--interval", "0", "--seed", "7", "--quiet")
	out, err := sim.Output()
	if err != nil {
		t.Fatalf("kessel-sim: %v", err)
	}
	var summary struct{ Sent, Errors, Devices int }
	if err := json.Unmarshal(bytes.TrimSpace(out), &summary); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if summary.Sent != count || summary.Errors != 0 || summary.Devices != devices {
		t.Fatalf("summary = %+v", summary)
	}

	type device struct {
		ID     string
		Latest *struct{ Values map[string]float64 }
	}
	var list struct {
		Items []device
		Total int
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		getJSON(t, base+"/api/v1/devices", &list)
		return list.Total == devices
	}, "devices listed: %d, want %d", list.Total, devices)

	stored := func() int {
		n := 0
		for _, d := range list.Items {
			var h struct{ Count int }
			u := fmt.Sprintf("%s/api/v1/devices/%s/readings?from=%s&to=%s", base, d.ID, start.UTC().Format(time.RFC3339), time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
			if getJSON(t, u, &h) != http.StatusOK {
				return -1
			}
			n += h.Count
		}
		return n
	}
	var n int
	testenv.Eventually(t, 30*time.Second, func() bool { n = stored(); return n == count }, "stored readings = %d, want exactly %d", n, count)

	mu.Lock()
	defer mu.Unlock()
	for _, d := range list.Items {
		var got device
		getJSON(t, base+"/api/v1/devices/"+d.ID, &got)
		want := last[d.ID]
		if got.Latest == nil || fmt.Sprint(got.Latest.Values) != fmt.Sprint(want) {
			t.Errorf("%s latest = %+v, want the last values sent %v", d.ID, got.Latest, want)
		}
	}

	// A bad message is counted by reason on /metrics and stops nothing.
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("e2e-bad"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub.Publish("kessel/devices/air-0001/readings", 1, false, `{"values":{"pm10":`).Wait()
	pub.Disconnect(100)
	testenv.Eventually(t, 10*time.Second, func() bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() == `kessel_ingest_rejected_total{reason="malformed_json"} 1` {
				return true
			}
		}
		return false
	}, "malformed message not counted on /metrics")

	// Graceful shutdown on SIGTERM.
	_ = serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("kessel exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("kessel did not stop within 20s of SIGTERM")
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
