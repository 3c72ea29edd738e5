package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

type sseEvent struct {
	id, event, data string
	at              time.Time // when it arrived
}

// readSSE collects events from an SSE response until ctx ends.
func readSSE(ctx context.Context, t *testing.T, url, lastID string, out chan<- sseEvent) {
	readSSEAs(ctx, t, url, lastID, "", out)
}

// readSSEAs is readSSE with an API key ("" for none).
func readSSEAs(ctx context.Context, t *testing.T, url, lastID, key string, out chan<- sseEvent) {
	resp := openSSE(ctx, t, url, lastID, key)
	if resp != nil {
		scanSSE(resp, out)
	}
}

// subscribeSSE opens the stream and returns once the server subscribed
// (it does so before it sends the response header); the events arrive on
// the returned channel until ctx ends.
func subscribeSSE(ctx context.Context, t testing.TB, url, key string) <-chan sseEvent {
	t.Helper()
	resp := openSSE(ctx, t, url, "", key)
	if resp == nil {
		t.Fatalf("could not open %s", url)
	}
	out := make(chan sseEvent, 1024)
	go scanSSE(resp, out)
	return out
}

// streamSSE is subscribeSSE resuming after lastID (none: ""); the channel
// is closed when the stream ends.
func streamSSE(ctx context.Context, t *testing.T, url, lastID, key string) <-chan sseEvent {
	t.Helper()
	resp := openSSE(ctx, t, url, lastID, key)
	if resp == nil {
		t.Fatalf("could not open %s", url)
	}
	out := make(chan sseEvent, 256)
	go func() {
		defer close(out)
		scanSSE(resp, out)
	}()
	return out
}

// openSSE requests an event stream; nil if that failed.
func openSSE(ctx context.Context, t testing.TB, url, lastID, key string) *http.Response {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("stream Content-Type %q", resp.Header.Get("Content-Type"))
		resp.Body.Close()
		return nil
	}
	return resp
}

// scanSSE sends the events of resp to out until the stream ends.
func scanSSE(resp *http.Response, out chan<- sseEvent) {
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		case line == "" && ev.data != "":
			ev.at = time.Now()
			out <- ev
			ev = sseEvent{}
		}
	}
}

// TestAlertEndToEnd drives a PM10 window mean over its threshold with real
// readings: the public alert arrives on SSE and on MQTT, then resolves
// when the values drop, and a stream resumed with Last-Event-ID gets what
// it missed.
func TestAlertEndToEnd(t *testing.T) {
	db := influxtest.Start(t)
	var hookMu sync.Mutex
	var hookStates []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a struct{ State string }
		json.Unmarshal(b, &a)
		hookMu.Lock()
		if r.Header.Get("X-Kessel-Signature") == alert.Sign("webhook-secret-0123456789", b) {
			hookStates = append(hookStates, a.State)
		} else {
			hookStates = append(hookStates, "bad-signature")
		}
		hookMu.Unlock()
	}))
	defer hook.Close()
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`webhooks:
  - {name: umweltamt, url: "`+hook.URL+`", secret: webhook-secret-0123456789, rules: [pm-mean]}
devices:
  - {id: air-a, kind: air_quality, visibility: public}
rules:
  - {id: pm-mean, kind: air_quality, field: pm10, condition: mean, window: 2m, op: ">", threshold: 50, clear: 45, visibility: public, severity: warning}
  - {id: pm-internal, kind: air_quality, field: pm10, condition: threshold, op: ">", threshold: 70, visibility: internal}
`), 0o644)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg)
	base := "http://" + h.HTTP + "/api/v1"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := subscribeSSE(ctx, t, base+"/alerts/stream", "")

	var mu sync.Mutex
	var onMQTT []string
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("alert-test"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	c.Subscribe("kessel/alerts/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		var a struct{ State string }
		json.Unmarshal(m.Payload(), &a)
		mu.Lock()
		onMQTT = append(onMQTT, m.Topic()+" "+a.State)
		mu.Unlock()
	}).Wait()

	start := time.Now().Add(-3 * time.Minute)
	send := func(i int, v float64) {
		ts := start.Add(time.Duration(i) * 10 * time.Second).UTC().Format(time.RFC3339Nano)
		c.Publish("kessel/devices/air-a/readings", 1, false, fmt.Sprintf(`{"ts":%q,"values":{"pm10":%g}}`, ts, v)).Wait()
	}
	next := func(want string) sseEvent {
		t.Helper()
		for {
			select {
			case ev := <-events:
				var a struct {
					State  string `json:"state"`
					RuleID string `json:"rule_id"`
				}
				json.Unmarshal([]byte(ev.data), &a)
				if a.RuleID != "pm-mean" {
					t.Fatalf("stream without a key showed %s (%s)", a.RuleID, ev.data)
				}
				if a.State == want && ev.event == "alert" && ev.id != "" {
					return ev
				}
				t.Fatalf("event %+v, want state %s", ev, want)
			case <-time.After(15 * time.Second):
				t.Fatalf("no %s event on the stream", want)
			}
		}
	}
	for i := range 6 {
		send(i, 60) // mean 60 > 50; never above 70, so the internal rule stays quiet
	}
	firing := next("firing")
	for i := 6; i < 20; i++ {
		send(i, 10)
	}
	resolved := next("resolved")

	until(t, 10*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		got := strings.Join(onMQTT, ",")
		return got == "kessel/alerts/public/pm-mean/air-a firing,kessel/alerts/public/pm-mean/air-a resolved", "MQTT transitions: " + got
	})
	until(t, 10*time.Second, func() (bool, string) {
		hookMu.Lock()
		defer hookMu.Unlock()
		got := strings.Join(hookStates, ",")
		return got == "firing,resolved", "webhook got " + got
	})

	var list struct {
		Items []struct{ State, ID string }
	}
	getJSON(t, base+"/alerts?state=resolved", &list)
	if len(list.Items) != 1 || list.Items[0].State != "resolved" {
		t.Fatalf("GET /alerts?state=resolved: %+v", list)
	}
	var one struct {
		Transitions []struct{ State string }
	}
	getJSON(t, base+"/alerts/"+list.Items[0].ID, &one)
	if len(one.Transitions) != 2 || one.Transitions[0].State != "firing" || one.Transitions[1].State != "resolved" {
		t.Errorf("GET /alerts/{id} transitions: %+v", one.Transitions)
	}
	if st, _, _ := do(t, "POST", base+"/alerts/"+list.Items[0].ID+"/ack", "", "", ""); st != 401 {
		t.Errorf("ack without a key: %d", st)
	}

	// Resume after the firing event: the resolved one comes from the backlog.
	resumed := make(chan sseEvent, 4)
	go readSSE(ctx, t, base+"/alerts/stream", firing.id, resumed)
	select {
	case ev := <-resumed:
		if ev.id != resolved.id {
			t.Errorf("resumed stream sent event %s, want %s", ev.id, resolved.id)
		}
	case <-time.After(10 * time.Second):
		t.Error("resumed stream sent nothing")
	}
}

// TestShippedRulesOnScenarios runs Kessel with the shipped example config
// (deploy/config/kessel.example.yaml) and backfills simulated days with
// each kessel-sim scenario: the shipped rule for it fires on the alert
// stream, and resolves where the situation passes (the inversion clears,
// the water falls, the sun warms the road).
func TestShippedRulesOnScenarios(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "deploy", "config", "kessel.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The shipped key hash is a placeholder; put in one for a test key, so
	// that internal alerts (the winter service's) show on the stream too.
	const key = "kessel_scenario_admin"
	placeholder := "sha256:" + strings.Repeat("0", 64)
	if !strings.Contains(string(shipped), placeholder) {
		t.Fatal("the example config's placeholder key hash changed; update this test")
	}
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(strings.Replace(string(shipped), placeholder, api.HashKey(key), 1)), 0o644)
	tests := []struct {
		scenario, kind, start, interval, rule string
		devices                               int
		resolves                              bool
	}{
		{"feinstaubalarm", "air_quality", "-100h", "10m", "feinstaubalarm", 2, true},
		{"flood", "water_level", "-12h", "5m", "flood-rise", 2, true},
		{"frost", "road_surface", "-30h", "10m", "glaette", 2, true},
		{"wildfire", "wildfire", "-4h", "5m", "wildfire-smoke", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			db := influxtest.Start(t)
			mqttAddr := testenv.FreePort(t)
			h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg)
			base := "http://" + h.HTTP + "/api/v1"
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			events := subscribeSSE(ctx, t, base+"/alerts/stream", key)

			_, simBin := binaries(t)
			out, err := exec.Command(simBin, "--broker", "tcp://"+mqttAddr, "--kinds", tt.kind, "--devices", strconv.Itoa(tt.devices), "--interval", tt.interval,
				"--scenario", tt.scenario, "--start", tt.start, "--speedup", "60000", "--quiet").Output()
			if err != nil {
				t.Fatalf("kessel-sim: %v", err)
			}
			t.Logf("summary: %s", out)
			var states []string // "subject state" of the rule's transitions, in order
			deadline := time.After(30 * time.Second)
			done := func() bool {
				for _, st := range states {
					subject, state, _ := strings.Cut(st, " ")
					if state == "firing" && (!tt.resolves || slices.Contains(states[slices.Index(states, st):], subject+" resolved")) {
						return true
					}
				}
				return false
			}
			for !done() {
				select {
				case ev := <-events:
					var a struct {
						RuleID  string `json:"rule_id"`
						State   string
						Subject string
					}
					json.Unmarshal([]byte(ev.data), &a)
					if a.RuleID == tt.rule {
						states = append(states, a.Subject+" "+a.State)
					}
				case <-deadline:
					t.Fatalf("rule %s: transitions %v; want a device firing%s", tt.rule, states, map[bool]string{true: ", then resolved", false: ""}[tt.resolves])
				}
			}
		})
	}
}

// TestAlertsAcrossRestart stops the hub (gracefully, with a stream open)
// in the middle of a PM10 episode and starts it again: shutdown does not
// wait for the stream, readings newer than the stored ones are evaluated
// at once, the engine's 24-hour mean (15-minute buckets, several readings
// each) equals a Flux mean of the stored readings over the same window, and a stream resumed with the last event
// id seen before the restart gets the transition made after it.
func TestAlertsAcrossRestart(t *testing.T) {
	db := influxtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`devices:
  - {id: air-r, kind: air_quality, visibility: public}
rules:
  - {id: pm-restart, kind: air_quality, field: pm10, condition: mean, window: 24h, op: ">", threshold: 50, visibility: public}
`), 0o644)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg)
	base := "http://" + h.HTTP + "/api/v1"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id := alert.Fingerprint("pm-restart", "air-r", nil)

	// Readings every 10 s from 8 minutes ago: 12 at 150, then 30 at 0 (the
	// mean falls below 50 at the 25th), all older than the restart.
	start := time.Now().Add(-8 * time.Minute).Truncate(10 * time.Second)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * 10 * time.Second) }
	stream := streamSSE(ctx, t, base+"/alerts/stream", "", "")
	publishPM(t, mqttAddr, "air-r", at, 0, 12, 150)
	firing := nextState(t, stream, "firing")
	until(t, 15*time.Second, func() (bool, string) {
		_, n := fluxMean(t, db.URL, "air-r", at(-1), at(11))
		return n == 12, fmt.Sprintf("stored %d of 12 readings", n)
	})

	stopped := time.Now()
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-h.done; err != nil {
		t.Fatalf("kessel serve ended with %v", err)
	}
	if d := time.Since(stopped); d > 8*time.Second {
		t.Errorf("shutdown with an open alert stream took %v; the stream kept it waiting", d.Round(time.Millisecond))
	} else {
		t.Logf("shutdown with an open alert stream took %v", d.Round(time.Millisecond))
	}
	for range stream { // the stream ended with the hub
	}

	h.start()
	publishPM(t, mqttAddr, "air-r", at, 12, 42, 0)
	last := at(41)
	want, n := 0.0, 0
	until(t, 15*time.Second, func() (bool, string) {
		want, n = fluxMean(t, db.URL, "air-r", last.Add(-24*time.Hour), last)
		return n == 42, fmt.Sprintf("stored %d of 42 readings", n)
	})
	var got struct {
		State string  `json:"state"`
		Value float64 `json:"value"`
	}
	until(t, 15*time.Second, func() (bool, string) {
		status := getJSON(t, base+"/alerts/"+id, &got)
		return math.Abs(got.Value-want) < 1e-9, fmt.Sprintf("after the restart the engine's mean is %v (%s, HTTP %d), the stored readings' %v", got.Value, got.State, status, want)
	})
	if got.State != "resolved" {
		t.Errorf("state %s at mean %v, want resolved", got.State, got.Value)
	}

	// A client that saw the firing event before the restart resumes now.
	resumed := streamSSE(ctx, t, base+"/alerts/stream", firing.id, "")
	ev := nextState(t, resumed, "resolved")
	if a, b := mustInt(t, ev.id), mustInt(t, firing.id); a <= b {
		t.Errorf("event id %d after the restart is not above %d before it", a, b)
	}
}

// publishPM publishes pm10 = v for readings i in [from, to) at at(i), and
// waits for the broker's acknowledgements.
func publishPM(t *testing.T, mqttAddr, device string, at func(int) time.Time, from, to int, v float64) {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("pm-" + strconv.Itoa(from)))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	for i := from; i < to; i++ {
		tok := c.Publish("kessel/devices/"+device+"/readings", 1, false, fmt.Sprintf(`{"ts":%q,"values":{"pm10":%g}}`, at(i).UTC().Format(time.RFC3339Nano), v))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
}

// nextState returns the next event of the stream, which must show state.
func nextState(t *testing.T, events <-chan sseEvent, state string) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		var a struct{ State string }
		json.Unmarshal([]byte(ev.data), &a)
		if !ok || a.State != state || ev.id == "" {
			t.Fatalf("stream event %+v (open %v), want state %s", ev, ok, state)
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s event on the stream", state)
	}
	return sseEvent{}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fluxMean asks InfluxDB (Flux) for the mean and count of a device's pm10
// readings in (from, to].
func fluxMean(t *testing.T, dbURL, device string, from, to time.Time) (mean float64, n int) {
	t.Helper()
	flux := fmt.Sprintf(`data = from(bucket: "kessel/autogen")
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "air_quality" and r._field == "pm10" and r.device == %q)
  |> group()
union(tables: [data |> mean() |> set(key: "agg", value: "mean"), data |> count() |> toFloat() |> set(key: "agg", value: "count")])`,
		from.Add(time.Nanosecond).UTC().Format(time.RFC3339Nano), to.Add(time.Nanosecond).UTC().Format(time.RFC3339Nano), device)
	req, _ := http.NewRequest(http.MethodPost, dbURL+"/api/v2/query", strings.NewReader(flux))
	req.Header.Set("Content-Type", "application/vnd.flux")
	req.Header.Set("Accept", "application/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := csv.NewReader(resp.Body)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("flux: %v", err)
	}
	var cols []string
	for _, row := range rows {
		if slices.Contains(row, "_value") {
			cols = row
			continue
		}
		if len(row) != len(cols) {
			continue
		}
		v, _ := strconv.ParseFloat(row[slices.Index(cols, "_value")], 64)
		switch row[slices.Index(cols, "agg")] {
		case "mean":
			mean = v
		case "count":
			n = int(v)
		}
	}
	return mean, n
}

// TestReadmeScenarioDemo runs the README's scenario demo as written while
// a live fleet (as `make run` starts one) sends current readings of the
// same kind: the backfilled episode fires and resolves Feinstaubalarm.
// Before the scenario had devices of its own, every backfilled reading
// was older than the live device's latest, counted as late, and no alert
// came.
func TestReadmeScenarioDemo(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var demo []string
	var check string
	for _, line := range strings.Split(string(readme), "\n") {
		switch {
		case strings.HasPrefix(line, "bin/kessel-sim ") && strings.Contains(line, "--scenario feinstaubalarm"):
			demo = strings.Fields(line)[1:]
		case demo != nil && check == "" && strings.HasPrefix(line, "curl "):
			check = strings.Trim(strings.Fields(line)[len(strings.Fields(line))-1], "'")
		}
	}
	if demo == nil || !strings.HasPrefix(check, "http://127.0.0.1:8080/api/v1/alerts") {
		t.Fatalf("README demo not found: %q then %q", demo, check)
	}
	db := influxtest.Start(t)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr,
		"--config", filepath.Join(testenv.ModuleRoot(), "deploy", "config", "kessel.example.yaml"))
	_, simBin := binaries(t)
	broker := []string{"--broker", "tcp://" + mqttAddr}
	live := append(broker, "--kinds", "air_quality", "--devices", "10", "--count", "10", "--quiet")
	if out, err := exec.Command(simBin, live...).CombinedOutput(); err != nil {
		t.Fatalf("live fleet: %v\n%s", err, out)
	}
	if out, err := exec.Command(simBin, append(broker, demo...)...).CombinedOutput(); err != nil {
		t.Fatalf("kessel-sim %s: %v\n%s", strings.Join(demo, " "), err, out)
	}
	var list struct {
		Items []struct {
			RuleID string `json:"rule_id"`
			State  string `json:"state"`
		}
	}
	url := strings.Replace(check, "127.0.0.1:8080", h.HTTP, 1)
	until(t, 30*time.Second, func() (bool, string) {
		getJSON(t, url, &list)
		for _, a := range list.Items {
			if a.RuleID == "feinstaubalarm" && a.State == "resolved" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%s: %+v, want a resolved feinstaubalarm", check, list.Items)
	})
}

// until polls cond every 100 ms until it holds; after d it fails with
// cond's last description of what it saw.
func until(t *testing.T, d time.Duration, cond func() (ok bool, saw string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, saw)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, not waiting for one
	}
}
