package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// TestSimulatorEveryFormatWithFaults runs kessel-sim in all four wire
// formats with 5% faults against a real Kessel: every reading sent minus
// the faults is stored, and Kessel rejected exactly the faults.
func TestSimulatorEveryFormatWithFaults(t *testing.T) {
	db := influxtest.Start(t)
	mqttAddr := testenv.FreePort(t)
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`api_keys:
  - {name: test, department: it, scopes: [admin], hash: `+api.HashKey("kessel_sim")+`}
`), 0o644)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--rate-limit-push", "0", "--config", cfg)
	_, simBin := binaries(t)
	start := time.Now().Add(-2 * time.Hour) // late readings come an hour back
	out, err := exec.Command(simBin, "--broker", "tcp://"+mqttAddr, "--push", "http://"+h.HTTP, "--devices", "36",
		"--formats", "native,senml,tts,airrohr", "--faults", "0.05", "--count", "1500", "--interval", "0", "--seed", "3", "--quiet").Output()
	if err != nil {
		t.Fatalf("kessel-sim: %v", err)
	}
	var sum struct {
		Sent        int            `json:"sent"`
		DeadLetters int            `json:"dead_letters_expected"`
		Errors      int            `json:"errors"`
		ByFormat    map[string]int `json:"by_format"`
		Faults      map[string]int `json:"faults"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("summary %s: %v", out, err)
	}
	t.Logf("summary: %s", out)
	if sum.Errors != 0 || sum.DeadLetters == 0 || len(sum.ByFormat) != 4 {
		t.Fatalf("summary: %+v", sum)
	}

	rejected := func() int {
		resp, err := http.Get("http://" + h.HTTP + "/metrics")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		n := 0
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "kessel_ingest_rejected_total{"); ok {
				f, _ := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
				n += int(f)
			}
		}
		return n
	}
	var got int
	deadline := time.Now().Add(20 * time.Second)
	for got = rejected(); got != sum.DeadLetters && time.Now().Before(deadline); got = rejected() {
		time.Sleep(100 * time.Millisecond)
	}
	if got != sum.DeadLetters {
		t.Fatalf("Kessel rejected %d messages, the simulator injected %d faults", got, sum.DeadLetters)
	}

	var list struct {
		Items []struct{ ID string }
		Total int
	}
	_, _, body := do(t, "GET", "http://"+h.HTTP+"/api/v1/devices", "kessel_sim", "", "")
	json.Unmarshal([]byte(body), &list)
	if want := 36 + sum.Faults["unknown_device"]; list.Total != want {
		t.Fatalf("%d devices registered, want 36 plus %d unknown ones", list.Total, sum.Faults["unknown_device"])
	}
	c, _ := influx.New(influx.Options{URL: db.URL})
	defer c.Close()
	countStored := func() int {
		n := 0
		for _, d := range list.Items {
			rs, err := c.History(context.Background(), kessel.HistoryQuery{Device: d.ID, From: start, To: time.Now().Add(10 * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			n += len(rs)
		}
		return n
	}
	want := sum.Sent - sum.DeadLetters
	stored := countStored()
	for end := time.Now().Add(20 * time.Second); stored < want && time.Now().Before(end); stored = countStored() {
		time.Sleep(200 * time.Millisecond)
	}
	if stored != want {
		t.Errorf("stored %d readings, want sent %d - faults %d = %d", stored, sum.Sent, sum.DeadLetters, want)
	}
}

// TestReplayRealSeries replays a month of the real Isar gauge in Munich as
// one device and reads the same number of readings back through the API.
func TestReplayRealSeries(t *testing.T) {
	file := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "timeseries", "isar-muenchen-16005701-wasserstand-2025-12-26_2026-01-25.csv")
	if _, err := os.Stat(file); err != nil {
		testenv.Missing(t, "shared time series absent (it lives beside the checkout in ../shared/data): %v", err)
	}
	db := influxtest.Start(t)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr)
	_, simBin := binaries(t)
	out, err := exec.Command(simBin, "--broker", "tcp://"+mqttAddr, "--replay", file, "--replay-device", "isar-muenchen",
		"--replay-kind", "water_level", "--replay-field", "level", "--replay-column", "Wasserstand", "--replay-location", "11.5855,48.1315", "--quiet").Output()
	if err != nil {
		t.Fatalf("kessel-sim --replay: %v", err)
	}
	var sum struct{ Sent int }
	json.Unmarshal(out, &sum)
	if sum.Sent < 2900 {
		t.Fatalf("replayed %d points: %s", sum.Sent, out)
	}
	url := "http://" + h.HTTP + "/api/v1/devices/isar-muenchen/readings?from=2025-12-25T00:00:00Z&to=2026-01-26T00:00:00Z"
	var got struct {
		Count int
		Items []struct{ Values map[string]float64 }
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return getJSON(t, url, &got) == 200 && got.Count == sum.Sent }, "stored %d of %d replayed points", got.Count, sum.Sent)
	if v := got.Items[0].Values["level"]; v < 50 || v > 400 {
		t.Errorf("first level %v cm", v)
	}
}
