package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

func do(t *testing.T, method, url, key, ifMatch, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestRegistryLifecycle registers, changes and removes devices through the
// API, checks that an operator's edit beats a device's self-description,
// then restarts Kessel and finds the same registry.
func TestRegistryLifecycle(t *testing.T) {
	db := influxtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`api_keys:
  - {name: tiefbau, department: tiefbau, scopes: [devices:write, data:internal], hash: `+api.HashKey("kessel_tiefbau")+`}
  - {name: umwelt, department: umweltschutz, scopes: [devices:write, rules:write], hash: `+api.HashKey("kessel_umwelt")+`}
rules:
  - {id: from-config, kind: noise, field: laeq, condition: threshold, op: ">", threshold: 80}
`), 0o644)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg)
	base := "http://" + h.HTTP + "/api/v1"

	st, hdr, body := do(t, "POST", base+"/devices", "kessel_tiefbau", "", `{"id":"gauge-7","kind":"water_level","name":"Pegel Neckar","location":{"lon":9.21,"lat":48.80},"visibility":"public","labels":{"river":"Neckar"}}`)
	if st != 201 || hdr.Get("Location") != "/api/v1/devices/gauge-7" || hdr.Get("ETag") == "" {
		t.Fatalf("create: %d %v %s", st, hdr, body)
	}
	etag := hdr.Get("ETag")
	if st, _, _ := do(t, "POST", base+"/devices", "kessel_tiefbau", "", `{"id":"gauge-7","kind":"water_level"}`); st != 409 {
		t.Errorf("duplicate create: %d, want 409", st)
	}
	if st, _, _ := do(t, "POST", base+"/devices", "kessel_umwelt", "", `{"id":"x-1","kind":"noise","department":"tiefbau"}`); st != 403 {
		t.Errorf("create for another department: %d, want 403", st)
	}
	for _, bad := range []string{`{"id":"a b","kind":"noise"}`, `{"id":"a","kind":"noise","visibility":"secret"}`, `{"id":"a"}`, `{"id":"a","kind":"noise","color":"red"}`, `not json`} {
		if st, h, _ := do(t, "POST", base+"/devices", "kessel_tiefbau", "", bad); st != 400 || h.Get("Content-Type") != "application/problem+json" {
			t.Errorf("create %s: %d, want 400 problem", bad, st)
		}
	}
	change := `{"kind":"water_level","name":"Pegel Neckar (Cannstatt)","location":{"lon":9.215,"lat":48.801},"visibility":"public"}`
	if st, _, _ := do(t, "PUT", base+"/devices/gauge-7", "kessel_tiefbau", "", change); st != 428 {
		t.Errorf("PUT without If-Match: %d, want 428", st)
	}
	if st, _, _ := do(t, "PUT", base+"/devices/gauge-7", "kessel_tiefbau", `"0-xyz"`, change); st != 412 {
		t.Errorf("PUT with a stale If-Match: %d, want 412", st)
	}
	if st, _, _ := do(t, "PUT", base+"/devices/gauge-7", "kessel_umwelt", etag, change); st != 403 {
		t.Errorf("PUT by another department: %d, want 403", st)
	}
	st, hdr, body = do(t, "PUT", base+"/devices/gauge-7", "kessel_tiefbau", etag, change)
	if st != 200 || !strings.Contains(body, "Cannstatt") || hdr.Get("ETag") == etag {
		t.Fatalf("PUT: %d %s", st, body)
	}
	if st, _, _ := do(t, "PUT", base+"/devices/gauge-7", "kessel_tiefbau", etag, change); st != 412 {
		t.Errorf("second PUT with the old ETag: %d, want 412", st)
	}

	// A device's self-description does not override the operator.
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("reg-test"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Publish("kessel/devices/gauge-7/meta", 1, true, `{"kind":"noise","name":"hijack"}`).Wait()
	c.Publish("kessel/devices/self-1/meta", 1, true, `{"kind":"noise","name":"Self described","location":{"lon":9.1,"lat":48.7}}`).Wait()
	c.Publish("kessel/devices/stray-1/readings", 1, false, `{"values":{"x":1}}`).Wait()
	c.Publish("kessel/devices/doomed-1/meta", 1, true, `{"kind":"noise","department":"umweltschutz"}`).Wait()
	c.Disconnect(100)
	testenv.Eventually(t, 10*time.Second, func() bool {
		st, _, _ := do(t, "GET", base+"/devices/stray-1", "kessel_tiefbau", "", "")
		st2, _, _ := do(t, "GET", base+"/devices/doomed-1", "", "", "")
		return st == 200 && st2 == 200
	}, "self-described and auto-registered devices not visible")
	if st, _, _ := do(t, "DELETE", base+"/devices/doomed-1", "kessel_tiefbau", "", ""); st != 403 {
		t.Errorf("delete by another department: %d, want 403", st)
	}
	if st, _, _ := do(t, "DELETE", base+"/devices/doomed-1", "kessel_umwelt", "", ""); st != 204 {
		t.Errorf("delete: %d, want 204", st)
	}
	if st, _, _ := do(t, "GET", base+"/devices/stray-1", "", "", ""); st != 404 {
		t.Errorf("auto-registered device is public: %d", st)
	}

	snapshot := func() map[string]string {
		out := map[string]string{}
		for _, id := range []string{"gauge-7", "self-1", "stray-1", "doomed-1"} {
			st, _, body := do(t, "GET", base+"/devices/"+id, "kessel_tiefbau", "", "")
			var d map[string]any
			json.Unmarshal([]byte(body), &d)
			delete(d, "latest")
			delete(d, "last_seen")
			b, _ := json.Marshal(d)
			out[id] = http.StatusText(st) + " " + string(b)
		}
		return out
	}
	if st, _, body := do(t, "POST", base+"/rules", "kessel_umwelt", "", `{"id":"via-api","kind":"air_quality","field":"pm10","condition":"mean","window":"24h","op":">","threshold":50}`); st != 201 {
		t.Fatalf("create rule: %d %s", st, body)
	}
	before := snapshot()
	if !strings.Contains(before["gauge-7"], "Cannstatt") || strings.Contains(before["gauge-7"], "hijack") || !strings.Contains(before["gauge-7"], `"river":"Neckar"`) == strings.Contains(change, "river") {
		t.Errorf("operator's device changed by its self-description: %s", before["gauge-7"])
	}
	if !strings.HasPrefix(before["doomed-1"], "Not Found") || !strings.Contains(before["stray-1"], `"visibility":"internal"`) {
		t.Errorf("before restart: %v", before)
	}

	// Restart: the same registry comes back from InfluxDB.
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	<-h.done
	h.cmd = nil
	h.start()
	after := snapshot()
	if st, _, body := do(t, "GET", base+"/rules", "kessel_umwelt", "", ""); st != 200 || !strings.Contains(body, `"via-api"`) || !strings.Contains(body, `"from-config"`) {
		t.Errorf("rules after restart: %d %s", st, body)
	}
	for id, b := range before {
		if after[id] != b {
			t.Errorf("%s after restart:\n%s\nbefore:\n%s", id, after[id], b)
		}
	}
}

// TestDistrictsFromConfig names the district file in the config file, by a
// path relative to it, instead of --districts.
func TestDistrictsFromConfig(t *testing.T) {
	src := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "geo", "stuttgart-stadtbezirke-approx.geojson")
	if _, err := os.Stat(src); err != nil {
		testenv.Missing(t, "shared district file absent (../shared/data/geo): %v", err)
	}
	db := influxtest.Start(t)
	dir := t.TempDir()
	if err := os.Symlink(src, filepath.Join(dir, "stadtbezirke.geojson")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "kessel.yaml")
	os.WriteFile(cfg, []byte("districts:\n  file: stadtbezirke.geojson\n  name_prop: name\n"), 0o644)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", testenv.FreePort(t), "--config", cfg)
	st, body := get(t, "http://"+h.HTTP+"/api/v1/districts")
	if st != 200 || strings.Count(body, `"type":"Feature"`) != 23 || !strings.Contains(body, "Stuttgart-Mitte") {
		t.Errorf("districts: %d, %d features", st, strings.Count(body, `"type":"Feature"`))
	}
}
