package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/api"
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
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	if err := os.WriteFile(cfg, []byte(`devices:
  - {id: esp8266-3394227, kind: air_quality, visibility: public, location: {lon: 9.18, lat: 48.78}}
  - {id: lora-noise-1, kind: noise, visibility: public}
  - {id: senml-1, kind: weather, visibility: public}
api_keys:
  - {name: e2e-admin, department: it, scopes: [admin], hash: `+api.HashKey("kessel_e2e")+`}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	serve := exec.Command(kesselBin, "serve", "--http", httpAddr, "--mqtt-listen", mqttAddr, "--influx-url", db.URL, "--mqtt-client-id", "e2e", "--log-level", "warn", "--config", cfg, "--rate-limit-read", "0")
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
	const configured = 3
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
		return list.Total == devices+configured
	}, "devices listed: %d, want %d", list.Total, devices+configured)

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
		if want == nil {
			continue // a configured device the simulator does not play
		}
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
	// deadLetters lists the dead letters with reason, as an admin.
	type deadLetter struct{ Reason, Device, Topic, Payload string }
	deadLetters := func(reason string) []deadLetter {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/deadletters?reason="+reason, nil)
		req.Header.Set("Authorization", "Bearer kessel_e2e")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var dl struct{ Items []deadLetter }
		_ = json.NewDecoder(resp.Body).Decode(&dl)
		return dl.Items
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		dl := deadLetters("malformed_json")
		return len(dl) == 1 && dl[0].Device == "air-0001" && dl[0].Payload == `{"values":{"pm10":`
	}, "malformed message not listed at /deadletters")

	// Every other wire format, end to end.
	airrohr := `{"esp8266id": "3394227", "software_version": "NRZ-2017-090", "sensordatavalues":[{"value_type":"SDS_P1","value":"4.30"},{"value_type":"SDS_P2","value":"3.53"},{"value_type":"signal","value":"-82 dBm"}]}`
	resp, err := http.Post(base+"/api/v1/push/airrohr", "application/json", strings.NewReader(airrohr))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("airrohr push: %v %v", err, resp)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/push/airrohr", strings.NewReader(`{"sensordatavalues":[{"value_type":"SDS_P1","value":"n/a"}]}`))
	req.Header.Set("X-Sensor", "esp8266-3394227")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("bad airrohr push: %v %+v", err, resp)
	}
	resp.Body.Close()
	// A push over twice the payload limit is answered 413 before it is read
	// whole, and still kept as a dead letter (its first KiB).
	huge := `{"esp8266id":"7777777","sensordatavalues":[{"value_type":"SDS_P1","value":"` + strings.Repeat("9", 200<<10) + `"}]}`
	req, _ = http.NewRequest(http.MethodPost, base+"/api/v1/push/airrohr", strings.NewReader(huge))
	req.Header.Set("X-Sensor", "esp8266-7777777")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("oversized airrohr push: %v %+v", err, resp)
	}
	resp.Body.Close()
	testenv.Eventually(t, 10*time.Second, func() bool {
		dl := deadLetters("too_large")
		return len(dl) == 1 && dl[0].Device == "esp8266-7777777" && strings.HasPrefix(dl[0].Payload, `{"esp8266id":"7777777"`) && len(dl[0].Payload) <= 1024
	}, "oversized push not kept as a dead letter")
	pub2 := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("e2e-formats"))
	if tok := pub2.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	pub2.Publish("v3/city-noise@ttn/devices/lora-noise-1/up", 1, false, `{"end_device_ids":{"device_id":"lora-noise-1"},"received_at":"`+now+`","uplink_message":{"f_cnt":7,"decoded_payload":{"la":{"avg":51.5}},"rx_metadata":[{"rssi":-100,"snr":7.5}]}}`).Wait()
	pub2.Publish("kessel/devices/senml-1/readings", 1, false, `[{"bn":"senml-1:","n":"temperature","u":"Cel","v":4.5},{"n":"humidity","u":"%RH","v":81}]`).Wait()
	pub2.Disconnect(100)
	for id, want := range map[string]map[string]float64{
		"esp8266-3394227": {"pm10": 4.3, "pm25": 3.53}, // signal, rssi, …: link data, not values
		"lora-noise-1":    {"la_avg": 51.5},
		"senml-1":         {"temperature": 4.5, "humidity": 81},
	} {
		testenv.Eventually(t, 10*time.Second, func() bool {
			var got device
			getJSON(t, base+"/api/v1/devices/"+id, &got)
			return got.Latest != nil && fmt.Sprint(got.Latest.Values) == fmt.Sprint(want)
		}, "%s: latest values not %v", id, want)
	}

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
