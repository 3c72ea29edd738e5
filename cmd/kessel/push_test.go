package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// TestDevicePushHTTP pushes readings over HTTP as a device that cannot
// speak MQTT (POST /api/v1/devices/{id}/readings with the device's key),
// through real ingest into InfluxDB.
func TestDevicePushHTTP(t *testing.T) {
	db := influxtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`devices:
  - {id: pegel-1, kind: water_level, visibility: public}
  - {id: pegel-2, kind: water_level, visibility: public}
api_keys:
  - {name: pegel-1-key, device: pegel-1, hash: `+api.HashKey("kessel_pegel1")+`}
  - {name: admin, department: it, scopes: [admin], hash: `+api.HashKey("kessel_admin")+`}
`), 0o644)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", testenv.FreePort(t), "--config", cfg, "--rate-limit-push", "0")
	base := "http://" + h.HTTP + "/api/v1/devices/"
	ts := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	tests := []struct {
		name, device, key, body string
		want                    int
		wantInBody              string
	}{
		{"no key", "pegel-1", "", `{"values":{"level":101}}`, 401, "own key"},
		{"another device's key", "pegel-2", "kessel_pegel1", `{"values":{"level":101}}`, 403, "may not push"},
		{"unknown key", "pegel-1", "kessel_nope", `{"values":{"level":101}}`, 401, "Bearer"},
		{"native JSON", "pegel-1", "kessel_pegel1", `{"ts":"` + ts.Format(time.RFC3339) + `","values":{"level":101.5}}`, 200, "stored"},
		{"SenML", "pegel-1", "kessel_pegel1", `[{"bn":"pegel-1:","bt":` + strconv.FormatInt(ts.Add(30*time.Second).Unix(), 10) + `,"n":"level","u":"cm","v":102.5}]`, 200, "stored"},
		{"bad reading", "pegel-1", "kessel_pegel1", `{"values":{"level":"high"}}`, 400, "non_numeric"},
		{"admin for any device", "pegel-2", "kessel_admin", `{"values":{"level":77}}`, 200, "stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, base+tt.device+"/readings", strings.NewReader(tt.body))
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(string(b), tt.wantInBody) {
				t.Errorf("%d %s, want %d containing %q", resp.StatusCode, b, tt.want, tt.wantInBody)
			}
			if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
	_, body := get(t, base+"pegel-1/readings?from="+ts.Add(-time.Minute).Format(time.RFC3339)+"&to=now")
	if !strings.Contains(body, `"level":101.5`) || !strings.Contains(body, `"level":102.5`) {
		t.Errorf("history of pegel-1: %s", body)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+h.HTTP+"/api/v1/deadletters?reason=non_numeric", nil)
	req.Header.Set("Authorization", "Bearer kessel_admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"device":"pegel-1"`) {
		t.Errorf("dead letter of the bad push: %s", b)
	}
}
