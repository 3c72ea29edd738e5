package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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

	testenv.Eventually(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(onMQTT, ",") == "kessel/alerts/public/pm-mean/air-a firing,kessel/alerts/public/pm-mean/air-a resolved"
	}, "MQTT transitions: %v", onMQTT)

	testenv.Eventually(t, 10*time.Second, func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return strings.Join(hookStates, ",") == "firing,resolved"
	}, "webhook got %v", hookStates)

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
