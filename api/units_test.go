package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// TestDeviceUnits: a device's units are set through the API, shown back,
// override the kind's default in its readings and are refused when bad.
func TestDeviceUnits(t *testing.T) {
	f := newFixture(t, "")
	auth := []string{"Authorization", "Bearer " + testKeys["devices:write"], "Content-Type", "application/json"}
	cases := []struct {
		name, body string
		status     int
	}{
		{"units set", `{"id":"noise-z","kind":"noise","department":"test","units":{"lzeq":"dB"}}`, http.StatusCreated},
		{"unit for a dotted field", `{"id":"noise-y","kind":"noise","department":"test","units":{"link.rssi":"dBm"}}`, http.StatusBadRequest},
		{"empty unit", `{"id":"noise-x","kind":"noise","department":"test","units":{"laeq":""}}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if resp, body := f.do(t, http.MethodPost, "/api/v1/devices", tc.body, auth...); resp.StatusCode != tc.status {
				t.Errorf("POST: %d %s", resp.StatusCode, body)
			}
		})
	}
	f.reg.Observe([]kessel.Reading{{Device: "noise-z", Kind: "noise", Time: f.now.Add(time.Second), Values: map[string]float64{"laeq": 50, "lzeq": 60}}})
	var d struct {
		Units  map[string]string
		Latest struct {
			Units map[string]struct{ Symbol, UCUM string }
		}
	}
	_, body := f.get(t, "/api/v1/devices/noise-z")
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Units["lzeq"] != "dB" || d.Latest.Units["lzeq"].Symbol != "dB" || d.Latest.Units["laeq"].UCUM != "dB[SPL]" {
		t.Errorf("device units: %s", body)
	}
}
