package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// tally counts what a hostile campaign tried and how Kessel answered.
type tally struct {
	mu      sync.Mutex
	tried   map[string]int // section -> attempts
	answers map[string]int // "section status" -> count
}

func newTally() *tally { return &tally{tried: map[string]int{}, answers: map[string]int{}} }

func (c *tally) add(section, answer string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tried[section]++
	c.answers[section+" "+answer]++
}

func (c *tally) report(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var lines []string
	total := 0
	for s, n := range c.tried {
		total += n
		lines = append(lines, fmt.Sprintf("tried %-10s %6d", s, n))
	}
	for a, n := range c.answers {
		lines = append(lines, fmt.Sprintf("  %-40s %6d", a, n))
	}
	sort.Strings(lines)
	t.Logf("hostile campaign: %d attempts\n%s", total, strings.Join(lines, "\n"))
}

// hostileConfig is a city with public and internal devices, department
// keys of every kind, and MQTT logins (no anonymous access).
func hostileConfig(t *testing.T) string {
	t.Helper()
	hash, err := broker.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	body := `unknown_devices: reject
devices:
  - {id: pub-a, kind: air_quality, visibility: public, department: umwelt, location: {lon: 9.18, lat: 48.78}}
  - {id: pub-b, kind: air_quality, visibility: public, department: umwelt, location: {lon: 9.19, lat: 48.79}}
  - {id: int-w, kind: road_surface, visibility: internal, department: winterdienst, location: {lon: 9.21, lat: 48.78}}
api_keys:
  - {name: admin, department: it, scopes: [admin], hash: ` + api.HashKey("kessel_admin") + `}
  - {name: plain, department: umwelt, scopes: [rules:read], hash: ` + api.HashKey("kessel_plain") + `}
  - {name: writer, department: umwelt, scopes: [devices:write], hash: ` + api.HashKey("kessel_writer") + `}
  - {name: internal, department: winterdienst, scopes: [data:internal], hash: ` + api.HashKey("kessel_internal") + `}
  - {name: rules, department: umwelt, scopes: [rules:write], hash: ` + api.HashKey("kessel_rules") + `}
  - {name: pub-a-key, device: pub-a, hash: ` + api.HashKey("kessel_puba") + `}
mqtt:
  anonymous: false
  users:
    - {username: pub-a, role: device, password_hash: "` + hash + `"}
    - {username: pub-b, role: device, password_hash: "` + hash + `"}
    - {username: int-w, role: device, password_hash: "` + hash + `"}
    - {username: svc, role: service, password_hash: "` + hash + `"}
`
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// mqttLogin connects as user (password "pw") with a client id; it returns
// the CONNECT error, if any.
func mqttLogin(addr, user, clientID string) (mqtt.Client, error) {
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID).SetAutoReconnect(false).SetConnectRetry(false)
	if user != "" {
		o.SetUsername(user).SetPassword("pw")
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return c, fmt.Errorf("connect %s: timeout", user)
	}
	return c, tok.Error()
}

// goodReadings publishes n readings per device at QoS 1 as the device
// itself, each with its own timestamp, and returns the first timestamp.
func goodReadings(t *testing.T, addr string, devices []string, n int, base time.Time) {
	t.Helper()
	for _, d := range devices {
		c, err := mqttLogin(addr, d, d)
		if err != nil {
			t.Fatalf("%s connect: %v", d, err)
		}
		for i := 0; i < n; i++ {
			ts := base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
			field := "pm10"
			if d == "int-w" {
				field = "surface_temperature"
			}
			p := fmt.Sprintf(`{"ts":%q,"values":{%q:%d}}`, ts, field, i)
			if tok := c.Publish("kessel/devices/"+d+"/readings", 1, false, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("%s publish: %v", d, tok.Error())
			}
		}
		c.Disconnect(100)
	}
}

// storedReadings counts a device's stored readings since base, as admin.
func storedReadings(t *testing.T, base, device string, since time.Time) int {
	t.Helper()
	u := fmt.Sprintf("%s/api/v1/devices/%s/readings?from=%s&to=%s", base, device,
		since.Add(-time.Second).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	st, _, body := do(t, http.MethodGet, u, "kessel_admin", "", "")
	if st != http.StatusOK {
		return -st
	}
	var h struct{ Count int }
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("history of %s: %v: %s", device, err, body)
	}
	return h.Count
}

// TestHostileCampaign runs a scripted attack campaign against a real
// `kessel serve` with the embedded broker and logins: bad names and values
// over every ingest path, the scope matrix, cursors, HEAD and 405, bad
// bodies, the usage bomb and wrong keys. Afterwards, and after a restart,
// every good reading is stored and /latest is complete.
func TestHostileCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile campaign skipped in -short mode")
	}
	db := influxtest.Start(t)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", hostileConfig(t), "--rate-limit-push", "0")
	base := "http://" + h.HTTP
	c := newTally()
	rssBefore := h.rss()

	good := []string{"pub-a", "pub-b", "int-w"}
	since := time.Now().Add(-20 * time.Minute).UTC().Truncate(time.Second)
	const perDevice = 40
	goodReadings(t, mqttAddr, good, perDevice, since)

	hostileIngest(t, c, base, mqttAddr)
	hostileAPI(t, c, base)
	usageBomb(t, c, base)
	wrongKeys(t, c, base)

	// Good readings sent after the attacks are stored too.
	goodReadings(t, mqttAddr, good, perDevice, since.Add(10*time.Minute))
	want := 2 * perDevice
	for _, d := range good {
		testenv.Eventually(t, 30*time.Second, func() bool { return storedReadings(t, base, d, since) == want },
			"%s: stored %d readings, want %d", d, storedReadings(t, base, d, since), want)
	}
	rssAfter := h.rss()
	t.Logf("RSS before %d MiB, after %d MiB", rssBefore>>20, rssAfter>>20)
	if rssAfter-rssBefore > 150<<20 {
		t.Errorf("RSS grew by %d MiB under the campaign", (rssAfter-rssBefore)>>20)
	}

	// Restart: every good reading is still there and the live state of
	// every device is restored.
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	<-h.done
	h.cmd = nil
	h.start()
	lost := 0
	for _, d := range good {
		if n := storedReadings(t, base, d, since); n != want {
			lost += want - n
			t.Errorf("%s after restart: stored %d, want %d", d, n, want)
		}
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return latestCount(t, base) == len(good) },
		"/latest after restart lists %d devices with values, want %d", latestCount(t, base), len(good))
	t.Logf("good readings: %d sent, %d lost", want*len(good), lost)
	c.report(t)
}

// latestCount is how many devices /latest lists with values, as admin.
func latestCount(t *testing.T, base string) int {
	t.Helper()
	st, _, body := do(t, http.MethodGet, base+"/api/v1/latest", "kessel_admin", "", "")
	if st != http.StatusOK {
		return -st
	}
	var l struct {
		Items []struct {
			Latest *struct{ Values map[string]float64 }
		}
	}
	_ = json.Unmarshal([]byte(body), &l)
	n := 0
	for _, it := range l.Items {
		if it.Latest != nil && len(it.Latest.Values) > 0 {
			n++
		}
	}
	return n
}

// rss returns the process's current resident memory in bytes.
func (h *hub) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			var kb int64
			fmt.Sscan(f[1], &kb)
			return kb << 10
		}
	}
	return 0
}

// hostileIngest sends bad names and values over MQTT (as the device and as
// a service login) and HTTP push; each must become a dead letter or a
// 4xx, and none may reach the store.
func hostileIngest(t *testing.T, c *tally, base, mqttAddr string) {
	t.Helper()
	old := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	bad := []struct{ name, topicDevice, suffix, payload string }{
		{"own kind", "pub-a", "meta", `{"kind":"kessel_rules","visibility":"public"}`},
		{"underscore kind", "pub-a", "meta", `{"kind":"_internal","visibility":"public"}`},
		{"backslash department", "pub-a", "meta", `{"kind":"air_quality","department":"umwelt\\"}`},
		{"field _time", "pub-a", "readings", `{"ts":"` + old + `","values":{"_time":1}}`},
		{"field _measurement", "pub-a", "readings", `{"ts":"` + old + `","values":{"_measurement":1}}`},
		{"field _value", "pub-a", "readings", `{"ts":"` + old + `","values":{"_value":1}}`},
		{"field time", "pub-a", "readings", `{"ts":"` + old + `","values":{"time":1}}`},
		{"field result", "pub-a", "readings", `{"ts":"` + old + `","values":{"result":1}}`},
		{"field table", "pub-a", "readings", `{"ts":"` + old + `","values":{"table":1}}`},
		{"field device", "pub-a", "readings", `{"ts":"` + old + `","values":{"device":1}}`},
		{"field district", "pub-a", "readings", `{"ts":"` + old + `","values":{"district":1}}`},
		{"ts 1677", "pub-a", "readings", `{"ts":"1677-09-01T00:00:00Z","values":{"pm10":1}}`},
		{"ts 0001", "pub-a", "readings", `{"ts":"0001-01-01T00:00:00Z","values":{"pm10":1}}`},
		{"ts 9999", "pub-a", "readings", `{"ts":"9999-12-31T00:00:00Z","values":{"pm10":1}}`},
		{"senml _field", "pub-a", "readings", `[{"bn":"pub-a:","n":"_field","v":1}]`},
	}
	dev, err := mqttLogin(mqttAddr, "pub-a", "pub-a")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Disconnect(100)
	for _, b := range bad {
		tok := dev.Publish("kessel/devices/"+b.topicDevice+"/"+b.suffix, 1, false, b.payload)
		tok.WaitTimeout(10 * time.Second)
		c.add("mqtt", "published")
	}
	// Every bad MQTT message is kept as a dead letter with its reason.
	var reasons map[string]int
	testenv.Eventually(t, 20*time.Second, func() bool {
		reasons = deadLetterReasons(t, base, "pub-a")
		n := 0
		for _, v := range reasons {
			n += v
		}
		return n >= len(bad)
	}, "dead letters of pub-a by reason: %v, want %d in all", reasons, len(bad))
	for r, n := range reasons {
		for i := 0; i < n; i++ {
			c.add("mqtt-dead-letter", r)
		}
	}
	// Over HTTP push with the device's key: each refused with 400.
	for _, b := range bad {
		if b.suffix != "readings" {
			continue
		}
		st, hdr, body := do(t, http.MethodPost, base+"/api/v1/devices/pub-a/readings", "kessel_puba", "", b.payload)
		c.add("push", fmt.Sprint(st))
		if st != http.StatusBadRequest || hdr.Get("Content-Type") != "application/problem+json" {
			t.Errorf("push %s: %d %s, want a 400 problem", b.name, st, body)
		}
	}
	// Over REST: a kind in Kessel's namespace and a bad department.
	for _, body := range []string{
		`{"id":"evil-1","kind":"kessel_rules","visibility":"public"}`,
		`{"id":"evil-2","kind":"air_quality","department":"umwelt\\","visibility":"public"}`,
		`{"id":"evil-3","kind":"_start","visibility":"public"}`,
	} {
		st, _, resp := do(t, http.MethodPost, base+"/api/v1/devices", "kessel_admin", "", body)
		c.add("rest-name", fmt.Sprint(st))
		if st != http.StatusBadRequest {
			t.Errorf("POST /devices %s: %d %s, want 400", body, st, resp)
		}
	}
	// pub-a's kind and department are unchanged by its bad meta messages.
	testenv.Eventually(t, 10*time.Second, func() bool {
		_, _, body := do(t, http.MethodGet, base+"/api/v1/devices/pub-a", "kessel_admin", "", "")
		return strings.Contains(body, `"kind":"air_quality"`) && !strings.Contains(body, `umwelt\\`)
	}, "pub-a's description was changed by a hostile meta message")
	// Session takeover: pub-b may not use pub-a's client id.
	if cl, err := mqttLogin(mqttAddr, "pub-b", "pub-a"); err == nil {
		cl.Disconnect(100)
		t.Errorf("pub-b connected with pub-a's client id")
		c.add("mqtt-takeover", "accepted")
	} else {
		c.add("mqtt-takeover", "refused")
	}
	if cl, err := mqttLogin(mqttAddr, "", "anon"); err == nil {
		cl.Disconnect(100)
		t.Errorf("anonymous MQTT client connected although anonymous is off")
		c.add("mqtt-anon", "accepted")
	} else {
		c.add("mqtt-anon", "refused")
	}
}

// deadLetterReasons counts a device's dead letters by reason, as admin.
func deadLetterReasons(t *testing.T, base, device string) map[string]int {
	t.Helper()
	st, _, body := do(t, http.MethodGet, base+"/api/v1/deadletters", "kessel_admin", "", "")
	if st != http.StatusOK {
		return nil
	}
	var dl struct {
		Items []struct{ Reason, Device string }
	}
	_ = json.Unmarshal([]byte(body), &dl)
	out := map[string]int{}
	for _, d := range dl.Items {
		if d.Device == device {
			out[d.Reason]++
		}
	}
	return out
}

// hostileAPI runs the scope matrix and the malformed-request cases.
func hostileAPI(t *testing.T, c *tally, base string) {
	t.Helper()
	v1 := base + "/api/v1"
	cursor := base64.RawURLEncoding.EncodeToString([]byte("o9223372036854775807"))
	cases := []struct {
		name, method, url, key, body string
		want                         int
	}{
		{"deadletters anonymous", "GET", v1 + "/deadletters", "", "", 401},
		{"deadletters plain key", "GET", v1 + "/deadletters", "kessel_plain", "", 403},
		{"deadletters admin", "GET", v1 + "/deadletters", "kessel_admin", "", 200},
		{"internal device anonymous", "GET", v1 + "/devices/int-w", "", "", 404},
		{"internal device plain key", "GET", v1 + "/devices/int-w", "kessel_plain", "", 404},
		{"internal device internal key", "GET", v1 + "/devices/int-w", "kessel_internal", "", 200},
		{"internal history anonymous", "GET", v1 + "/devices/int-w/readings", "", "", 404},
		{"rules anonymous", "GET", v1 + "/rules", "", "", 401},
		{"rules read key", "GET", v1 + "/rules", "kessel_plain", "", 200},
		{"rule create plain", "POST", v1 + "/rules", "kessel_plain", `{}`, 403},
		{"device delete plain", "DELETE", v1 + "/devices/pub-a", "kessel_plain", "", 403},
		{"push as another device", "POST", v1 + "/devices/pub-b/readings", "kessel_puba", `{"values":{"pm10":1}}`, 403},
		{"cursor overflow", "GET", v1 + "/devices?cursor=" + cursor, "", "", 400},
		{"cursor garbage", "GET", v1 + "/devices?cursor=not*base64", "", "", 400},
		{"malformed query", "GET", v1 + "/devices?kind=%zz", "", "", 400},
		{"to far future", "GET", v1 + "/devices/pub-a/readings?to=9999-12-31T23:59:59Z", "", "", 400},
		{"from after to", "GET", v1 + "/devices/pub-a/readings?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "", "", 400},
		{"wrong method", "PATCH", v1 + "/devices", "", "", 405},
		{"wrong method on item", "PATCH", v1 + "/devices/pub-a", "kessel_admin", `{}`, 405},
		{"trailing garbage", "POST", v1 + "/devices/search", "", `{"within":"x"} garbage`, 400},
		{"duplicate keys", "POST", v1 + "/devices", "kessel_admin", `{"id":"dup-1","id":"dup-2","kind":"noise"}`, 400},
		{"bad polygon", "POST", v1 + "/devices/search", "", `{"type":"Polygon","coordinates":[[[900,480],[901,480],[901,481],[900,480]]]}`, 400},
	}
	for _, tc := range cases {
		st, hdr, body := doSoft(tc.method, tc.url, tc.key, tc.body)
		c.add("api", fmt.Sprint(st))
		if st != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.url, st, trim(body), tc.want)
		}
		if st >= 400 && hdr.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: Content-Type %q, want application/problem+json", tc.name, hdr.Get("Content-Type"))
		}
		if st == http.StatusMethodNotAllowed && hdr.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", tc.name)
		}
	}
	// text/plain bodies are refused with 415.
	req, _ := http.NewRequest(http.MethodPost, v1+"/devices/search", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "text/plain")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		c.add("api", fmt.Sprint(resp.StatusCode))
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain body: %d, want 415", resp.StatusCode)
		}
	}
	// HEAD is served wherever GET is.
	for _, p := range []string{"/healthz", "/api/v1/devices", "/api/v1/latest?format=csv", "/api/v1/devices/pub-a", "/api/v1/catalog", "/api/v1/openapi.json"} {
		resp, err := http.Head(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.add("head", fmt.Sprint(resp.StatusCode))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s = %d, want 200", p, resp.StatusCode)
		}
	}
	// An existing internal id is no oracle for a key that may not see it,
	// and nothing is created or changed.
	st, _, body := do(t, http.MethodPost, v1+"/devices", "kessel_writer", "", `{"id":"int-w","kind":"noise","visibility":"public"}`)
	c.add("oracle", fmt.Sprint(st))
	if st == http.StatusConflict || strings.Contains(body, "exists") {
		t.Errorf("POST /devices with a hidden internal id: %d %s reveals it", st, trim(body))
	}
	_, _, body = do(t, http.MethodGet, v1+"/devices/int-w", "kessel_admin", "", "")
	if !strings.Contains(body, `"kind":"road_surface"`) || strings.Contains(body, `"visibility":"public"`) {
		t.Errorf("int-w was changed by an unauthorised create: %s", trim(body))
	}
	// Keyed answers are private; anonymous public ones may be shared.
	_, hdr, _ := do(t, http.MethodGet, v1+"/devices", "kessel_internal", "", "")
	if cc := hdr.Get("Cache-Control"); !strings.Contains(cc, "private") || !strings.Contains(hdr.Get("Vary"), "Authorization") {
		t.Errorf("keyed /devices: Cache-Control %q, Vary %q", cc, hdr.Get("Vary"))
	}
	// /metrics does not name internal devices to anyone who asks.
	_, _, metrics := do(t, http.MethodGet, base+"/metrics", "", "", "")
	c.add("metrics", "read")
	if strings.Contains(metrics, "int-w") {
		t.Errorf("anonymous /metrics names the internal device int-w")
	}
}

// doSoft is do without failing the test on a transport error: a dropped
// connection (a panic in a handler) answers status 0.
func doSoft(method, url, key, body string) (int, http.Header, string) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err.Error()
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, http.Header{}, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// usageBomb sends 300 requests with a 900 kB query parameter each; usage
// counting must stay bounded and /usage small.
func usageBomb(t *testing.T, c *tally, base string) {
	t.Helper()
	big := strings.Repeat("k", 900<<10)
	for i := 0; i < 300; i++ {
		resp, err := http.Get(base + "/healthz?kind=" + url.QueryEscape(fmt.Sprint(i, big)))
		if err != nil {
			c.add("usage-bomb", "error")
			continue
		}
		resp.Body.Close()
		c.add("usage-bomb", fmt.Sprint(resp.StatusCode))
	}
	st, _, body := do(t, http.MethodGet, base+"/api/v1/usage", "kessel_admin", "", "")
	t.Logf("/usage after the bomb: %d, %d bytes", st, len(body))
	if len(body) > 1<<20 {
		t.Errorf("/usage is %d bytes after the usage bomb", len(body))
	}
}

// wrongKeys tries 3,000 wrong keys from one address: failed
// authentication must be rate limited (429).
func wrongKeys(t *testing.T, c *tally, base string) {
	t.Helper()
	limited := 0
	for i := 0; i < 3000; i++ {
		st, hdr, _ := do(t, http.MethodGet, base+"/api/v1/rules", fmt.Sprintf("kessel_guess%d", i), "", "")
		c.add("wrong-key", fmt.Sprint(st))
		if st == http.StatusTooManyRequests {
			limited++
			if hdr.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
				return
			}
		}
	}
	if limited == 0 {
		t.Errorf("3,000 wrong keys from one address were never rate limited")
	}
	// A right key from the same address is still limited only briefly:
	// the campaign's later checks use admin, so wait the limit out.
	testenv.Eventually(t, 30*time.Second, func() bool {
		st, _, _ := do(t, http.MethodGet, base+"/api/v1/rules", "kessel_plain", "", "")
		return st == http.StatusOK
	}, "a right key is refused long after the wrong ones")
}
