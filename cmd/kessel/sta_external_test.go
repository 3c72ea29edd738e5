package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// TestSTAOnExternalBroker: through a real mosquitto, the SensorThings
// feed publishes each stored value as an Observation (QoS 0) only with
// --sta-mqtt all; by default (auto) it does not run there, since Kessel
// cannot learn who subscribes on a broker it does not run.
func TestSTAOnExternalBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	db := influxtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	if err := os.WriteFile(cfg, []byte("devices:\n  - {id: air-ext, kind: air_quality, visibility: public}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode string
		want int // Observations a subscriber gets for one reading of two fields
	}{
		{"all", 2},
		{"auto", 0},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			mq := testenv.StartMosquitto(t)
			h := startHub(t, "kessel", "--influx-url", db.URL, "--influx-bucket", "sta_"+tc.mode, "--mqtt-broker", mq.URL,
				"--mqtt-client-id", "sta-"+tc.mode, "--sta-mqtt", tc.mode, "--config", cfg)
			testenv.Eventually(t, 30*time.Second, func() bool { st, _ := get(t, "http://"+h.HTTP+"/readyz"); return st == 200 }, "kessel not ready")
			var mu sync.Mutex
			got := map[string]float64{}
			c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("sta-watcher-" + tc.mode))
			if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("connect: %v", tok.Error())
			}
			defer c.Disconnect(100)
			if tok := c.Subscribe("v1.1/#", 0, func(_ mqtt.Client, m mqtt.Message) {
				var o struct{ Result float64 }
				_ = json.Unmarshal(m.Payload(), &o)
				mu.Lock()
				got[m.Topic()] = o.Result
				mu.Unlock()
			}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			p := `{"ts":"` + time.Now().UTC().Format(time.RFC3339) + `","values":{"pm10":12.5,"pm25":7}}`
			if tok := c.Publish("kessel/devices/air-ext/readings", 1, false, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
			testenv.Eventually(t, 20*time.Second, func() bool {
				_, body := get(t, "http://"+h.HTTP+"/api/v1/devices/air-ext")
				return strings.Contains(body, `"pm10":12.5`)
			}, "reading not stored")
			if tc.want == 0 {
				for _, l := range h.metricLines() {
					if strings.HasPrefix(l, "kessel_sta_mqtt_observations_total") {
						t.Errorf("the feed runs: %s", l)
					}
				}
			}
			testenv.Eventually(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= tc.want }, "%d Observations, want %d", len(got), tc.want)
			mu.Lock()
			defer mu.Unlock()
			if len(got) != tc.want {
				t.Errorf("Observations %v, want %d", got, tc.want)
			}
			if tc.want > 0 && got["v1.1/Datastreams('air-ext:pm10')/Observations"] != 12.5 {
				t.Errorf("Observations %v: no pm10 of 12.5", got)
			}
		})
	}
}
