package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/simulators"
)

// TestQualityControlEndToEnd sends the simulator's sensor faults (spike,
// stuck, drift, out of range) through a real Kessel into a real InfluxDB
// and checks the stored flags value by value; a threshold rule the spike
// would trip does not fire, and the stuck and out-of-range sensors raise
// an internal maintenance alert naming the test.
func TestQualityControlEndToEnd(t *testing.T) {
	const n = 24 // readings per device, one a minute
	fleet, err := simulators.NewFleet(simulators.FleetOptions{Devices: 4, Kinds: []string{"air_quality"}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	simulators.AssignSensorFaults(fleet, simulators.SensorFaults, 1) // device i has SensorFaults[i]
	var devs strings.Builder
	for _, d := range fleet {
		fmt.Fprintf(&devs, "  - {id: %s, kind: air_quality, department: umwelt, visibility: public, labels: {sensor: sds011}}\n", d.ID)
	}
	cfg := filepath.Join(t.TempDir(), "kessel.yaml")
	os.WriteFile(cfg, []byte(`devices:
`+devs.String()+`api_keys:
  - {name: test, department: umwelt, scopes: [admin], hash: `+api.HashKey("kessel_qc")+`}
rules:
  - {id: pm-high, kind: air_quality, field: pm10, condition: threshold, op: ">", threshold: 200, visibility: public}
  - {id: maintenance, condition: quality, summary: "sensor needs maintenance"}
quality:
  quantities:
    pm10: {gross: {min: 0, max: 1000}, spike_suspect: {abs: 30, rel: 1}, spike_fail: {abs: 150, rel: 4}, flat_suspect: 5, flat_fail: 10}
  climate:
    - {kind: air_quality, field: temperature, min: -20, max: 12}
`), 0o644)
	db := influxtest.Start(t)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--config", cfg)
	ctx := context.Background()
	pub, err := simulators.DialMQTT(ctx, "tcp://"+mqttAddr, "qc-test", "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	base := time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	sent := map[string][]map[string]float64{}
	for i := range n {
		ts := base.Add(time.Duration(i) * time.Minute)
		for _, d := range fleet {
			values := d.Values(ts)
			d.Fault.Apply(values)
			sent[d.ID] = append(sent[d.ID], values)
			if err := pub.Publish(ctx, d.Reading(ts, values)); err != nil {
				t.Fatal(err)
			}
		}
	}
	type item struct {
		Values  map[string]float64
		QC      map[string]int
		QCTests map[string][]string `json:"qc_tests"`
	}
	stored := map[string][]item{}
	testenv.Eventually(t, 30*time.Second, func() bool {
		for _, d := range fleet {
			var doc struct{ Items []item }
			_, _, body := do(t, "GET", "http://"+h.HTTP+"/api/v1/devices/"+d.ID+"/readings?from=-2h", "", "", "")
			if json.Unmarshal([]byte(body), &doc) != nil || len(doc.Items) < n {
				return false
			}
			stored[d.ID] = doc.Items
		}
		return true
	}, "%d readings of every device stored", n)
	checkFaultFlags(t, fleet, sent, func(id string, i int) (map[string]float64, map[string]int, map[string][]string) {
		it := stored[id][i]
		return it.Values, it.QC, it.QCTests
	})

	// The alerts: pm-high never fired (the spike failed quality control);
	// the maintenance rule fired for the stuck sensor (and still fires)
	// and for the out-of-range one (resolved by its next good reading).
	_, _, body := do(t, "GET", "http://"+h.HTTP+"/api/v1/alerts", "kessel_qc", "", "")
	var list struct {
		Items []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("alerts: %v: %s", err, body)
	}
	fired := map[string]string{}
	for _, a := range list.Items {
		if a["rule_id"] == "pm-high" {
			t.Errorf("pm-high fired on a value quality control failed: %v", a)
		}
		if a["rule_id"] == "maintenance" && (a["state"] == "firing" || a["state"] == "resolved") {
			if a["visibility"] != "internal" || a["department"] != "umwelt" {
				t.Errorf("maintenance alert: %v", a)
			}
			fired[a["subject"].(string)], _ = a["summary"].(string)
		}
	}
	if s := fired[fleet[1].ID]; !strings.Contains(s, "pm10: flat_line") || !firing(list.Items, fleet[1].ID) {
		t.Errorf("stuck sensor %s: maintenance alert %q, want one naming pm10: flat_line (all: %v)", fleet[1].ID, s, fired)
	}
	if s := fired[fleet[3].ID]; !strings.Contains(s, "gross_range") {
		t.Errorf("out-of-range sensor %s: maintenance alert %q, want one naming gross_range", fleet[3].ID, s)
	}
	if _, _, metrics := do(t, "GET", "http://"+h.HTTP+"/metrics", "kessel_qc", "", ""); !strings.Contains(metrics, `kessel_qc_readings_total{worst="fail"}`) ||
		!strings.Contains(metrics, "kessel_qc_devices 4") {
		t.Errorf("metrics lack the quality counts")
	}
	if raw := sent[fleet[0].ID][9]["pm10"]; raw <= 200 {
		t.Errorf("the spike %v would not trip pm-high: the test proves nothing", raw)
	}
}

// firing reports whether the maintenance alert of a device fires.
func firing(alerts []map[string]any, device string) bool {
	for _, a := range alerts {
		if a["rule_id"] == "maintenance" && a["subject"] == device {
			return a["state"] == "firing"
		}
	}
	return false
}

// checkFaultFlags asserts the stored flags of each faulty device's
// readings, value by value, against what its fault did.
func checkFaultFlags(t *testing.T, fleet []*simulators.Device, sent map[string][]map[string]float64,
	got func(id string, i int) (map[string]float64, map[string]int, map[string][]string)) {
	t.Helper()
	for _, d := range fleet {
		climateHit, run := false, 0
		for i, want := range sent[d.ID] {
			if run++; i == 0 || want["pm10"] != sent[d.ID][i-1]["pm10"] {
				run = 1 // equal pm10 values in a row, this one included
			}
			values, qc, tests := got(d.ID, i)
			if values["pm10"] != want["pm10"] {
				t.Errorf("%s reading %d: stored pm10 %v, sent %v (raw values must not change)", d.ID, i, values["pm10"], want["pm10"])
			}
			var wantPM, wantT int
			switch d.Fault.Mode {
			case simulators.FaultSpike:
				wantPM, wantT = 1, 1
				if i%10 == 9 {
					wantPM, wantT = 4, 4 // pm10 a spike; temperature ×10+100 beyond the gross range
				}
			case simulators.FaultStuck: // from reading 3 on, reading 2's values again
				wantPM, wantT = 1, 1 // temperature's flat line needs 144 equal values
				switch {
				case run >= 10:
					wantPM = 4
				case run >= 5:
					wantPM = 3
				}
			case simulators.FaultDrift:
				wantPM, wantT = 1, 1
				if want["temperature"] > 12 {
					wantT, climateHit = 3, true
				}
			case simulators.FaultOutOfRange:
				wantPM, wantT = 1, 1
				if i%5 == 4 {
					wantPM, wantT = 4, 4
				}
			}
			// A spike from a very low level is suspect rather than failed.
			spikeSuspect := d.Fault.Mode == simulators.FaultSpike && wantPM == 4 && qc["pm10"] == 3 && slices.Contains(tests["pm10"], "spike")
			if qc["pm10"] != wantPM && !spikeSuspect || qc["temperature"] != wantT {
				t.Errorf("%s (%s) reading %d: pm10=%v flag %d %v, temperature=%v flag %d %v; want %d and %d", d.ID, d.Fault.Mode, i,
					want["pm10"], qc["pm10"], tests["pm10"], want["temperature"], qc["temperature"], tests["temperature"], wantPM, wantT)
			}
		}
		if d.Fault.Mode == simulators.FaultDrift && !climateHit || d.Fault.Mode == simulators.FaultStuck && run < 10 {
			t.Errorf("%s (%s): the fault never showed: the test proves nothing", d.ID, d.Fault.Mode)
		}
	}
}
