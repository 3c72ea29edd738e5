package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// stack is a real influxd and `kessel serve` with a simulated fleet.
type stack struct {
	base string // http://host:port of Kessel
	mqtt string // tcp://host:port of its embedded broker
}

// The test's city: a configured public device the simulator does not
// play, an internal one the page must never show, and public rules, one
// per device and one for the district Mitte, that fire on one reading of
// 480 µg/m³ at station-1 (simulated values stay near 30, so Mitte's mean
// passes 100 however many mobile sensors pass through it). The district
// rule's summary carries markup, which the page must show as text.
const stackConfig = `unknown_devices: reject
devices:
  - {id: station-1, kind: air_quality, name: "Station am Tor", visibility: public, location: {lon: 9.17, lat: 48.775}}
  - {id: hidden-1, kind: air_quality, name: "Internal station", visibility: internal, location: {lon: 9.18, lat: 48.77}}
  - {id: gauge-1, kind: water_level, name: "Pegel am Neckar", visibility: public, location: {lon: 9.21, lat: 48.79},
     levels: {level: [{name: "Meldestufe 1", value: 250}, {name: "Meldestufe 2", value: 320}]}}
rules:
  - {id: pm10-high, name: "Feinstaubalarm", kind: air_quality, field: pm10, condition: threshold, op: ">", threshold: 400, clear: 300, severity: warning, visibility: public, summary: "Feinstaub PM10 über 400 µg/m³"}
  - {id: mitte-high, name: "Feinstaub in Mitte", kind: air_quality, field: pm10, area: true, district: Mitte, condition: threshold, op: ">", threshold: 100, clear: 80, severity: warning, visibility: public, summary: "Mittel in Mitte über 100 µg/m³ <img src=x onerror=window.__xss=1>"}
`

// startStack runs influxd, kessel serve (built from this checkout) and
// kessel-sim, and waits until every simulated device has a reading.
func startStack(t testing.TB, devices int) *stack {
	t.Helper()
	db := influxtest.Start(t)
	dir := t.TempDir()
	root := testenv.ModuleRoot()
	for _, b := range []string{"kessel", "kessel-sim"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b), "./cmd/"+b)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b, err, out)
		}
	}
	cfg := filepath.Join(dir, "kessel.yaml")
	if err := os.WriteFile(cfg, []byte(stackConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	districts := filepath.Join(root, "web", "testdata", "districts.geojson")
	s := &stack{base: "http://" + testenv.FreePort(t), mqtt: "tcp://" + testenv.FreePort(t)}
	log := &testenv.Buffer{}
	serve := exec.Command(filepath.Join(dir, "kessel"), "serve", "--http", s.base[len("http://"):], "--mqtt-listen", s.mqtt[len("tcp://"):],
		"--influx-url", db.URL, "--mqtt-client-id", "web-test", "--log-level", "warn", "--config", cfg, "--districts", districts,
		"--rate-limit-read", "0", "--device-metrics=false")
	serve.Stdout, serve.Stderr = log, log
	serve.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		_ = serve.Wait()
		if t.Failed() {
			t.Logf("kessel log:\n%s", log.String())
		}
	})
	testenv.Eventually(t, 30*time.Second, func() bool { return status(s.base+"/readyz") == http.StatusOK }, "kessel not ready")

	sim := exec.Command(filepath.Join(dir, "kessel-sim"), "--broker", s.mqtt, "--devices", fmt.Sprint(devices),
		"--count", fmt.Sprint(2*devices), "--interval", "0", "--seed", "5", "--districts", districts, "--mobile", "0.5", "--quiet")
	if out, err := sim.CombinedOutput(); err != nil {
		t.Fatalf("kessel-sim: %v\n%s", err, out)
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		n := 0
		for _, d := range s.latest(t, "").Items {
			if d.Latest != nil {
				n++
			}
		}
		return n == devices
	}, "not every simulated device has a latest reading")
	return s
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// apiDevice is a device of /api/v1/latest as the test reads it.
type apiDevice struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	District string `json:"district"`
	Location *point `json:"location"`
	Latest   *struct {
		Values   map[string]float64 `json:"values"`
		Location *point             `json:"location"` // a mobile sensor's latest place
	} `json:"latest"`
}

type point struct{ Lon, Lat float64 }

// place is where the page must show a device: a mobile sensor's latest
// place, else its registered one; nil when it has neither.
func (d apiDevice) place() *point {
	if d.Latest != nil && d.Latest.Location != nil {
		return d.Latest.Location
	}
	return d.Location
}

type latestList struct {
	Items []apiDevice `json:"items"`
	Total int         `json:"total"`
}

// latest reads /api/v1/latest, of one kind or of all ("").
func (s *stack) latest(t testing.TB, kind string) latestList {
	t.Helper()
	var l latestList
	getJSON(t, s.base+"/api/v1/latest?limit=10000&kind="+kind, &l)
	if l.Total != len(l.Items) {
		t.Fatalf("/latest returned %d of %d devices in one page", len(l.Items), l.Total)
	}
	return l
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
