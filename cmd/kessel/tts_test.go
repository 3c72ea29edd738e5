package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// TestTTSConnection reads real The Things Stack uplinks from a second MQTT
// server (mosquitto with passwords and an ACL standing in for TTS, which
// lets an application's API key read only its own topics) while Kessel
// runs its embedded broker: the readings are stored, the frame-counter gap
// is counted, the connection shows in /readyz and /metrics, and a wrong
// API key is logged with the server's reason without making Kessel unready.
func TestTTSConnection(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "payloads", "ttn-v3-uplink-decoded-noise.json"))
	if err != nil {
		testenv.Missing(t, "shared TTS sample absent (../shared/data/payloads): %v", err)
	}
	const app, key = "ttn-soundkit@ttn", "NNSXS.TESTKEY"
	tts := testenv.StartMosquittoAuth(t, map[string]string{app: key, "tts-server": "server-secret"},
		"user "+app+"\ntopic read v3/"+app+"/#\n\nuser tts-server\ntopic readwrite #\n")
	db := influxtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte("devices:\n  - {id: soundkit-001, kind: noise, visibility: public}\n"), 0o644)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", testenv.FreePort(t), "--config", cfg,
		"--tts-broker", tts.URL, "--tts-username", app, "--tts-password", key)
	testenv.Eventually(t, 20*time.Second, func() bool {
		_, body := get(t, "http://"+h.HTTP+"/readyz")
		return strings.Contains(body, `"tts":"ok"`) && h.metric(`kessel_ingest_connected{source="tts"}`) == 1
	}, "TTS connection not up")

	server := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(tts.URL).SetClientID("tts-server").SetUsername("tts-server").SetPassword("server-secret"))
	if tok := server.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect as the TTS server: %v", tok.Error())
	}
	defer server.Disconnect(100)
	second := bytes.Replace(sample, []byte(`"f_cnt":2684`), []byte(`"f_cnt":2687`), 1) // frames 2685 and 2686 lost
	second = bytes.ReplaceAll(second, []byte(`"received_at":"2021-08-15T12:33:04.526280629Z"`), []byte(`"received_at":"2021-08-15T12:38:04Z"`))
	for _, p := range [][]byte{sample, second} {
		// QoS 0, as TTS publishes.
		if tok := server.Publish("v3/"+app+"/devices/soundkit-001/up", 0, false, p); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	base := "http://" + h.HTTP + "/api/v1/devices/soundkit-001"
	testenv.Eventually(t, 20*time.Second, func() bool {
		_, body := get(t, base+"/readings?from=2021-08-15T12:00:00Z&to=2021-08-15T13:00:00Z")
		return strings.Count(body, `"la_avg":35.5`) == 2
	}, "two TTS uplinks not stored")
	if st, body := get(t, base); st != 200 || !strings.Contains(body, `"f_cnt_gap":2`) {
		t.Errorf("latest reading: %d %s", st, body)
	}
	if g := h.metric("kessel_ingest_tts_fcnt_gaps_total"); g != 2 {
		t.Errorf("frame-counter gaps = %v, want 2", g)
	}
	if v := h.metric(`kessel_device_last_seen_timestamp_seconds{device="soundkit-001",kind="noise"}`); v != float64(time.Date(2021, 8, 15, 12, 38, 4, 0, time.UTC).Unix()) {
		t.Errorf("last seen = %v", strconv.FormatFloat(v, 'f', -1, 64))
	}
	if n := h.metricSum("kessel_ingest_acknowledged_total"); n != 0 {
		t.Errorf("%v QoS 0 messages counted as acknowledged", n)
	}

	bad := startHub(t, "kessel-wrong-key", "--influx-url", db.URL, "--mqtt-listen", testenv.FreePort(t), "--config", cfg,
		"--tts-broker", tts.URL, "--tts-username", app, "--tts-password", "wrong", "--mqtt-client-id", "kessel-bad", "--tts-client-id", "kessel-bad-tts")
	testenv.Eventually(t, 20*time.Second, func() bool {
		return strings.Contains(bad.log.String(), "cannot connect to broker") && strings.Contains(bad.log.String(), "not Authorized")
	}, "wrong TTS key not logged")
	if st, body := get(t, "http://"+bad.HTTP+"/readyz"); st != 200 || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, "not connected to The Things Stack") {
		t.Errorf("readyz with TTS down: %d %s", st, body)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}
