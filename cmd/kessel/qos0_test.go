package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// serveInProcess runs `kessel serve` in this process on the default
// embedded broker with the MQTT logins of a config file (password "pw")
// against db, until the test ends; it returns the MQTT and HTTP addresses.
func serveInProcess(t *testing.T, db *influxtest.Server, logins ...string) (mqttAddr, httpAddr string) {
	t.Helper()
	hash, err := broker.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	body := "mqtt:\n  anonymous: false\n  users:\n"
	for _, l := range logins {
		body += fmt.Sprintf("    - {username: %s, role: device, password_hash: %q}\n", l, hash)
	}
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	mqttAddr, httpAddr = testenv.FreePort(t), testenv.FreePort(t)
	env := map[string]string{"KESSEL_INFLUX_URL": db.URL, "KESSEL_MQTT_LISTEN": mqttAddr, "KESSEL_HTTP": httpAddr,
		"KESSEL_MQTT_DATA": filepath.Join(t.TempDir(), "mqtt"), "KESSEL_LOG_LEVEL": "warn", "KESSEL_MQTT_CLIENT_ID": "qos0-test"}
	ctx, cancel := context.WithCancel(context.Background())
	var log testenv.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfg, "--rate-limit-read", "0"}, func(k string) string { return env[k] }, strings.NewReader(""), &log, &log)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("kessel log:\n%s", log.String())
		}
	})
	testenv.Eventually(t, 60*time.Second, func() bool {
		st, err := httpGet("http://" + httpAddr + "/readyz")
		return err == nil && st == http.StatusOK
	}, "kessel not ready; log:\n%s", log.String())
	return mqttAddr, httpAddr
}

// metricTotal sums the series of a metric on /metrics whose line holds
// every one of labels (`result="ingested"`).
func metricTotal(t *testing.T, httpAddr, name string, labels ...string) float64 {
	t.Helper()
	st, body := get(t, "http://"+httpAddr+"/metrics")
	if st != http.StatusOK {
		t.Fatalf("/metrics: %d", st)
	}
	sum := 0.0
lines:
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || !strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, "{") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				continue lines
			}
		}
		f := strings.Fields(rest)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

// TestQoS0Readings: readings a device publishes at QoS 0 to the default
// embedded broker are stored, each once, alone or mixed with QoS 1 ones
// (ingest receives each message once: none comes both from the stream
// and as it passes); QoS 0 readings a login publishes on another
// device's topic are refused, counted and not stored.
func TestQoS0Readings(t *testing.T) {
	db := influxtest.Start(t)
	mqttAddr, httpAddr := serveInProcess(t, db, "q0-a", "q0-b", "q0-c")
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	tests := []struct {
		name, login, device string
		qos                 func(i int) byte
		wantStored          int
		wantDenied          float64
	}{
		{"QoS 0 only", "q0-a", "q0-a", func(int) byte { return 0 }, 100, 0},
		{"QoS 0 and 1 mixed", "q0-b", "q0-b", func(i int) byte { return byte(i % 2) }, 100, 0},
		{"QoS 0 on another device's topic", "q0-a", "q0-c", func(int) byte { return 0 }, 0, 100},
	}
	const n = 100
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			received := metricTotal(t, httpAddr, "kessel_ingest_received_total")
			ingested := metricTotal(t, httpAddr, "kessel_broker_qos0_total", `result="ingested"`)
			denied := metricTotal(t, httpAddr, "kessel_broker_publishes_denied_total")
			c, err := mqttLogin(mqttAddr, tc.login, tc.login)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Disconnect(50)
			qos0 := 0
			for i := range n {
				qos := tc.qos(i)
				qos0 += 1 - int(qos)
				p := fmt.Sprintf(`{"ts":%q,"kind":"test","values":{"seq":%d}}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i)
				if tok := c.Publish("kessel/devices/"+tc.device+"/readings", qos, false, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("publish %d: %v", i, tok.Error())
				}
			}
			if tc.wantDenied > 0 {
				testenv.Eventually(t, 20*time.Second, func() bool {
					return metricTotal(t, httpAddr, "kessel_broker_publishes_denied_total") == denied+tc.wantDenied
				}, "refused publishes not counted")
				qos0 = 0 // the broker dropped them: nothing reaches ingest
			}
			var stored map[string]int
			testenv.Eventually(t, 30*time.Second, func() bool {
				stored, err = storedPerDevice(db.URL, []string{tc.device}, base)
				return err == nil && stored[tc.device] == tc.wantStored &&
					metricTotal(t, httpAddr, "kessel_ingest_received_total") == received+float64(tc.wantStored)
			}, "want %d readings of %s stored, each received once", tc.wantStored, tc.device)
			if got := metricTotal(t, httpAddr, "kessel_broker_qos0_total", `result="ingested"`) - ingested; got != float64(qos0) {
				t.Errorf("QoS 0 messages counted ingested: %v, want %d", got, qos0)
			}
		})
	}
}
