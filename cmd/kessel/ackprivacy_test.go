package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// ackSecrets are what must not leave an alert's public views: the field
// names and the values of who acknowledged it and their note.
func ackSecrets(who, note string) []string {
	return []string{`"acked_by"`, `"ack_note"`, who, note}
}

// TestAlertMessage: every broker mode (embedded, external MQTT, --nats)
// publishes alert transitions through alertMessage. On the public topic
// the payload leaves out who acknowledged the alert and their note; on the
// internal topic (which needs the right to read internal data) it keeps
// them.
func TestAlertMessage(t *testing.T) {
	acked := time.Date(2026, 11, 23, 5, 40, 0, 0, time.UTC)
	base := kessel.Alert{ID: "f1", RuleID: "glatt", Subject: "road-1", State: kessel.Inactive, Severity: "warning",
		FiredAt: acked.Add(-time.Hour), ResolvedAt: acked.Add(time.Hour), AckedBy: "anna (tiefbau)", AckedAt: acked, AckNote: "Streufahrzeug 3 ausgerueckt"}
	tests := []struct {
		name       string
		visibility kessel.Visibility
		topic      string
		sees       bool
	}{
		{"public", kessel.Public, "kessel/alerts/public/glatt/road-1", false},
		{"internal", kessel.Internal, "kessel/alerts/internal/glatt/road-1", true},
		{"no visibility", "", "kessel/alerts/internal/glatt/road-1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			a.Visibility = tc.visibility
			topic, payload := alertMessage(a)
			if topic != tc.topic {
				t.Errorf("topic %s, want %s", topic, tc.topic)
			}
			var back kessel.Alert
			if err := json.Unmarshal(payload, &back); err != nil || !back.AckedAt.Equal(acked) || back.Status() != kessel.StatusResolved {
				t.Errorf("payload %s: %v, want a resolved alert acknowledged at %v", payload, err, acked)
			}
			for _, s := range ackSecrets(a.AckedBy, a.AckNote) {
				if got := strings.Contains(string(payload), s); got != tc.sees {
					t.Errorf("%s shown: %v, want %v: %s", s, got, tc.sees, payload)
				}
			}
		})
	}
}

// TestAckDetailsOnTheWire runs a hub whose public and internal rule fire
// on one device; a department acknowledges both with a note, then they
// resolve. Who acknowledged and the note reach only those with
// alerts:manage: not the public MQTT topic, not the stream or the REST
// answers without that key.
func TestAckDetailsOnTheWire(t *testing.T) {
	db := influxtest.Start(t)
	const managerKey, readerKey, note = "kessel_manager", "kessel_reader", "Streufahrzeug 3 ausgerueckt 05:40"
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	if err := os.WriteFile(cfg, []byte(`devices:
  - {id: air-a, kind: air_quality, visibility: public}
rules:
  - {id: pm-pub, kind: air_quality, field: pm10, condition: threshold, op: ">", threshold: 50, visibility: public}
  - {id: pm-int, kind: air_quality, field: pm10, condition: threshold, op: ">", threshold: 70, visibility: internal}
api_keys:
  - {name: anna, department: umweltamt, scopes: [alerts:manage], hash: `+api.HashKey(managerKey)+`}
  - {name: rita, department: umweltamt, scopes: [data:internal], hash: `+api.HashKey(readerKey)+`}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	mqttAddr := testenv.FreePort(t)
	// Single jumps: quality control would rightly flag them as spikes.
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg, "--qc=false")
	base := "http://" + h.HTTP + "/api/v1"
	mqttMsgs := recordAlertTopics(t, mqttAddr)

	start := time.Now().Add(-time.Minute)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
	publishPM(t, mqttAddr, "air-a", at, 0, 1, 80)
	ids := map[string]string{}
	until(t, 20*time.Second, func() (bool, string) {
		_, _, body := do(t, "GET", base+"/alerts?state=firing", managerKey, "", "")
		var list struct{ Items []kessel.Alert }
		_ = json.Unmarshal([]byte(body), &list)
		for _, a := range list.Items {
			ids[a.RuleID] = a.ID
		}
		return len(ids) == 2, "firing: " + body
	})
	for _, id := range ids {
		if st, _, body := do(t, "POST", base+"/alerts/"+id+"/ack", managerKey, "", `{"note":"`+note+`"}`); st != 200 {
			t.Fatalf("ack %s: %d %s", id, st, body)
		}
	}
	publishPM(t, mqttAddr, "air-a", at, 1, 2, 10)
	resolvedOn := func(topic string) func(key string) string {
		return func(string) string {
			var got string
			until(t, 20*time.Second, func() (bool, string) {
				got = mqttMsgs.resolved(topic)
				return got != "", "no resolved message on " + topic
			})
			return got
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := func(key string) string {
		for ev := range streamSSE(ctx, t, base+"/alerts/stream", "0", key) {
			if strings.Contains(ev.data, `"resolved"`) && strings.Contains(ev.data, ids["pm-pub"]) {
				return ev.data
			}
		}
		t.Fatal("stream ended without pm-pub's resolution")
		return ""
	}
	rest := func(path string) func(key string) string {
		return func(key string) string {
			st, _, body := do(t, "GET", base+path, key, "", "")
			if st != 200 {
				t.Fatalf("GET %s: %d %s", path, st, body)
			}
			return body
		}
	}
	tests := []struct {
		name string
		key  string
		get  func(key string) string
		sees bool
	}{
		{"mqtt public topic", "", resolvedOn("kessel/alerts/public/pm-pub/air-a"), false},
		{"mqtt internal topic", "", resolvedOn("kessel/alerts/internal/pm-int/air-a"), true},
		{"stream without key", "", stream, false},
		{"stream with data:internal", readerKey, stream, false},
		{"stream with alerts:manage", managerKey, stream, true},
		{"alert without key", "", rest("/alerts/" + ids["pm-pub"]), false},
		{"alerts without key", "", rest("/alerts"), false},
		{"alerts with data:internal", readerKey, rest("/alerts"), false},
		{"alerts with alerts:manage", managerKey, rest("/alerts"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.get(tc.key)
			if !strings.Contains(body, `"acked_at"`) {
				t.Errorf("no acked_at: %s", body)
			}
			for _, s := range ackSecrets("anna (umweltamt)", note) {
				if got := strings.Contains(body, s); got != tc.sees {
					t.Errorf("%s shown: %v, want %v: %s", s, got, tc.sees, body)
				}
			}
		})
	}
}

// alertTopics records the payloads of resolved alerts by MQTT topic.
type alertTopics struct {
	mu       sync.Mutex
	payloads map[string]string
}

func (m *alertTopics) resolved(topic string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.payloads[topic]
}

// recordAlertTopics subscribes to every alert topic (a loopback client of
// the embedded broker in development mode may read them all).
func recordAlertTopics(t *testing.T, mqttAddr string) *alertTopics {
	t.Helper()
	m := &alertTopics{payloads: map[string]string{}}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("ack-privacy"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe("kessel/alerts/#", 1, func(_ mqtt.Client, msg mqtt.Message) {
		if strings.Contains(string(msg.Payload()), `"state":"resolved"`) {
			m.mu.Lock()
			m.payloads[msg.Topic()] = string(msg.Payload())
			m.mu.Unlock()
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(fmt.Errorf("subscribe: %w", tok.Error()))
	}
	return m
}
