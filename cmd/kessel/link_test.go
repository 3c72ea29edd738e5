package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// linkFields are the radio and transport data of the real payloads.
var linkFields = []string{"rssi", "snr", "gateways", "f_cnt", "signal", "samples", "min_micro", "max_micro"}

// TestLinkDataAndUnits feeds a real `kessel serve` the real The Things
// Stack uplink (over MQTT) and airrohr push (over HTTP): radio and
// transport data are the readings' link data, never values, and never in
// district means; values carry their units (kind defaults, a device's
// own from the config); GeoJSON has flat typed properties and a next link
// in its body; a mobile sensor's history CSV has lon and lat.
func TestLinkDataAndUnits(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "payloads", name))
		if err != nil {
			testenv.Missing(t, "shared payload %s absent: %v", name, err)
		}
		return b
	}
	tts, airrohr := read("ttn-v3-uplink-decoded-noise.json"), read("airrohr-push-NRZ-2018-121C-sds011-bmp180.json")
	db := influxtest.Start(t)
	dir := t.TempDir()
	districts, cfg := filepath.Join(dir, "districts.geojson"), filepath.Join(dir, "kessel.yaml")
	os.WriteFile(districts, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","id":"test","properties":{"name":"Test"},
 "geometry":{"type":"Polygon","coordinates":[[[5,48],[10,48],[10,53],[5,53],[5,48]]]}}]}`), 0o644)
	os.WriteFile(cfg, []byte(`devices:
  - {id: soundkit-001, kind: noise, visibility: public, units: {lz_avg: dB}}
  - {id: esp32-99, kind: air_quality, visibility: public, location: {lon: 9.18, lat: 48.78}}
`), 0o644)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--districts", districts, "--config", cfg)
	base := "http://" + h.HTTP + "/api/v1"

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("link-test"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	if tok := pub.Publish("v3/ttn-soundkit@ttn/devices/soundkit-001/up", 1, false, tts); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/push/airrohr", bytes.NewReader(airrohr))
	req.Header.Set("X-Sensor", "esp32-99")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("airrohr push: %v %v", err, resp)
	}

	type unit struct{ Symbol, UCUM string }
	type device struct {
		Latest *struct {
			Values map[string]float64
			Units  map[string]unit
			Link   map[string]float64
		}
	}
	cases := []struct {
		id     string
		values map[string]float64
		link   map[string]float64
		units  map[string]unit
	}{
		{"soundkit-001", map[string]float64{"la_avg": 35.5, "lz_avg": 47.1}, map[string]float64{"rssi": -111, "snr": 6.75, "gateways": 3, "f_cnt": 2684},
			map[string]unit{"la_avg": {"dB(A)", "dB[SPL]"}, "lz_avg": {"dB", "dB"}}},
		{"esp32-99", map[string]float64{"pm10": 1.87, "pressure": 1006.59}, map[string]float64{"signal": -52, "samples": 924605, "max_micro": 1849213},
			map[string]unit{"pm10": {"µg/m³", "ug/m3"}, "pressure": {"hPa", "hPa"}, "temperature": {"°C", "Cel"}}},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			var d device
			testenv.Eventually(t, 20*time.Second, func() bool {
				d = device{}
				getJSON(t, base+"/devices/"+tc.id, &d)
				return d.Latest != nil
			}, "no latest reading of %s", tc.id)
			for f, v := range tc.values {
				if d.Latest.Values[f] != v {
					t.Errorf("value %s = %v, want %v", f, d.Latest.Values[f], v)
				}
			}
			for f, v := range tc.link {
				if got, ok := d.Latest.Link[f]; !ok || got != v {
					t.Errorf("link %s = %v, want %v (link %v)", f, got, v, d.Latest.Link)
				}
			}
			for f, u := range tc.units {
				if d.Latest.Units[f] != u {
					t.Errorf("unit of %s = %+v, want %+v", f, d.Latest.Units[f], u)
				}
			}
			for _, f := range linkFields {
				if _, ok := d.Latest.Values[f]; ok {
					t.Errorf("link field %s among the values %v", f, d.Latest.Values)
				}
			}
		})
	}

	st, body := get(t, base+"/districts/test")
	if st != 200 || !strings.Contains(body, `"la_avg"`) || !strings.Contains(body, `"pm10"`) {
		t.Fatalf("district: %d %s", st, body)
	}
	for _, f := range linkFields {
		if strings.Contains(body, `"`+f+`"`) {
			t.Errorf("link field %s in the district's means: %s", f, body)
		}
	}

	// GeoJSON, one device a page: flat properties and the next page in the body.
	var fc struct {
		Features []struct{ Properties map[string]any }
		Links    []struct{ Href, Rel string }
	}
	var seen []string
	next := base + "/latest?format=geojson&limit=1"
	for page := 0; next != "" && page < 3; page++ {
		fc.Links, fc.Features = nil, nil
		getJSON(t, next, &fc)
		next = ""
		for _, l := range fc.Links {
			if l.Rel == "next" {
				next = "http://" + h.HTTP + l.Href
			}
		}
		for _, f := range fc.Features {
			p := f.Properties
			seen = append(seen, p["id"].(string))
			if p["observed_at"] == nil || p["latest"] != nil || p["rssi"] != nil || p["signal"] != nil {
				t.Errorf("properties not flat or with link data: %v", p)
			}
			if p["id"] == "esp32-99" && (p["pm10"] != 1.87 || p["pm10_unit"] != "µg/m³") {
				t.Errorf("esp32-99 properties: %v", p)
			}
		}
	}
	if strings.Join(seen, ",") != "esp32-99,soundkit-001" {
		t.Errorf("pages followed by their next links gave %v", seen)
	}

	// The mobile sensor's history as CSV: units and where it was.
	st, body = get(t, base+"/devices/soundkit-001/readings?from=2021-08-15T12:00:00Z&to=2021-08-15T13:00:00Z&format=csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if st != 200 || err != nil || len(rows) != 2 {
		t.Fatalf("history CSV: %d %v %s", st, err, body)
	}
	col := map[string]string{}
	for i, h := range rows[0] {
		col[h] = rows[1][i]
	}
	if col["la_avg"] != "35.5" || col["la_avg_unit"] != "dB(A)" || col["lon"] != "5.963671803474427" || col["lat"] != "52.2157422811379" || col["rssi"] != "" {
		t.Errorf("history CSV row: %v", col)
	}
	var hist struct{ Items []json.RawMessage }
	getJSON(t, base+"/devices/soundkit-001/readings?from=2021-08-15T12:00:00Z&to=2021-08-15T13:00:00Z", &hist)
	if len(hist.Items) != 1 || !strings.Contains(string(hist.Items[0]), `"link":{"f_cnt":2684,"gateways":3,"rssi":-111,"snr":6.75}`) {
		t.Errorf("history JSON: %s", hist.Items)
	}
}
