package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
)

// ackNoteText is what the acknowledger notes in TestAckDetailsPrivate.
const ackNoteText = "Streufahrzeug 3 ausgerueckt 05:40"

// ackedFixture serves the API with a running engine in which two public
// alerts fired and were acknowledged with a note by an alerts:manage key:
// air-1's still fires, air-2's has resolved since (so the stream's backlog
// holds a transition made after the acknowledgement). It returns the ids.
func ackedFixture(t *testing.T) (f *fixture, firing, resolved string) {
	t.Helper()
	rule := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 50, Visibility: kessel.Public}
	engine, err := alert.New([]alert.Rule{rule}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f = newFixtureWith(t, "", func(o *api.Options) { o.Alerts, o.Rules = engine, engine })

	observe := func(dev string, v float64, state string) string {
		t.Helper()
		engine.Observe([]kessel.Reading{{Device: dev, Kind: "air_quality", Time: time.Now(), Values: map[string]float64{"pm10": v}}})
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			for _, a := range engine.List(kessel.AlertQuery{State: state}) {
				if a.Subject == dev {
					return a.ID
				}
			}
			time.Sleep(10 * time.Millisecond) // polling the engine's state, not synchronising
		}
		t.Fatalf("%s: no %s alert", dev, state)
		return ""
	}
	firing, resolved = observe("air-1", 80, kessel.StatusFiring), observe("air-2", 90, kessel.StatusFiring)
	for _, id := range []string{firing, resolved} {
		resp, body := f.do(t, http.MethodPost, "/api/v1/alerts/"+id+"/ack", `{"note":"`+ackNoteText+`"}`,
			"Authorization", "Bearer "+testKeys["alerts:manage"], "Content-Type", "application/json")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), ackNoteText) {
			t.Fatalf("ack %s: %d %s", id, resp.StatusCode, body)
		}
	}
	observe("air-2", 10, kessel.StatusResolved)
	return f, firing, resolved
}

// TestAckDetailsPrivate: who acknowledged an alert (acked_by) and their
// note (ack_note) are the department's: no public view of an alert shows
// them, whatever path it takes, nor does a key without alerts:manage; the
// acknowledgement time still shows. A key with alerts:manage (or admin)
// sees both.
func TestAckDetailsPrivate(t *testing.T) {
	f, firing, resolved := ackedFixture(t)
	paths := []struct {
		name string
		get  func(t *testing.T, key string) string
	}{
		{"list", func(t *testing.T, key string) string { return getAs(t, f, "/api/v1/alerts", key) }},
		{"list of resolved", func(t *testing.T, key string) string { return getAs(t, f, "/api/v1/alerts?state=resolved", key) }},
		{"one alert", func(t *testing.T, key string) string { return getAs(t, f, "/api/v1/alerts/"+firing, key) }},
		{"ogc items", func(t *testing.T, key string) string {
			return getAs(t, f, "/ogcapi/collections/alerts/items", key)
		}},
		{"ogc feature", func(t *testing.T, key string) string {
			return getAs(t, f, "/ogcapi/collections/alerts/items/"+firing, key)
		}},
		{"stream backlog", func(t *testing.T, key string) string { return streamEventOf(t, f, resolved, key) }},
	}
	keys := []struct {
		name string
		key  string
		sees bool
	}{
		{"anonymous", "", false},
		{"data:internal key", testKeys["data:internal"], false},
		{"rules:read key", testKeys["rules:read"], false},
		{"alerts:manage key", testKeys["alerts:manage"], true},
		{"admin key", testKeys["admin"], true},
	}
	for _, p := range paths {
		for _, k := range keys {
			t.Run(p.name+"/"+k.name, func(t *testing.T) {
				body := p.get(t, k.key)
				if !strings.Contains(body, `"acked_at"`) {
					t.Errorf("no acked_at: %s", body)
				}
				for _, secret := range []string{`"acked_by"`, `"ack_note"`, ackNoteText, "key-alerts:manage"} {
					if got := strings.Contains(body, secret); got != k.sees {
						t.Errorf("%s shown: %v, want %v: %s", secret, got, k.sees, body)
					}
				}
			})
		}
	}
}

// getAs GETs path with key (none when empty) and returns the 200 body.
func getAs(t *testing.T, f *fixture, path, key string) string {
	t.Helper()
	var hdr []string
	if key != "" {
		hdr = []string{"Authorization", "Bearer " + key}
	}
	resp, body := f.get(t, path, hdr...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}

// streamEventOf reads the alert stream from its first event with key and
// returns the data of the latest event of alert id in its backlog.
func streamEventOf(t *testing.T, f *fixture, id, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/api/v1/alerts/stream", nil)
	req.Header.Set("Last-Event-ID", "0")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var a struct{ ID, State string }
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			t.Fatal(err)
		}
		if a.ID == id && a.State == kessel.StatusResolved {
			return data
		}
	}
	t.Fatalf("stream: no resolved event of %s (%v)", id, sc.Err())
	return ""
}
