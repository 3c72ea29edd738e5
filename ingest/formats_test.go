package ingest

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/internal/testenv"
)

// sharedPayload reads ../shared/data/payloads/<name> or skips the test.
func sharedPayload(t testing.TB, name string) []byte {
	t.Helper()
	p := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "payloads", name)
	b, err := os.ReadFile(p)
	if err != nil {
		testenv.Missing(t, "shared test data %s is absent (it lives beside the checkout in ../shared/data): %v", name, err)
	}
	return b
}

// TestSenMLExamplesResolve feeds every RFC 8428 example pack to the
// resolver and compares it with the RFC's resolved form. The resolved files
// were made at an arbitrary "now", so relative times are rebased on the
// first record; the generator also left out vd (data) records, which the
// comparison therefore skips.
func TestSenMLExamplesResolve(t *testing.T) {
	dir := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "payloads", "senml")
	packs, _ := filepath.Glob(filepath.Join(dir, "ex*.gen.json"))
	if len(packs) == 0 {
		testenv.Missing(t, "shared SenML examples absent in %s", dir)
	}
	checked := 0
	for _, pack := range packs {
		resolvedFile := strings.TrimSuffix(pack, ".json") + ".resolved.json"
		want, err := os.ReadFile(resolvedFile)
		if err != nil {
			continue // ex13 has no resolved form upstream
		}
		t.Run(filepath.Base(pack), func(t *testing.T) {
			in, _ := os.ReadFile(pack)
			var wantRecs []SenMLRecord
			if err := json.Unmarshal(want, &wantRecs); err != nil {
				t.Fatal(err)
			}
			probe, err := ResolveSenML(in, time.Unix(0, 0))
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			now := time.Unix(0, 0).Add(time.Duration((wantRecs[0].Time - probe[0].Time) * float64(time.Second)))
			got, err := ResolveSenML(in, now)
			if err != nil {
				t.Fatal(err)
			}
			var kept []SenMLRecord
			for _, r := range got {
				if r.DataValue == nil {
					kept = append(kept, r)
				}
			}
			if len(kept) != len(wantRecs) {
				t.Fatalf("%d records, want %d", len(kept), len(wantRecs))
			}
			for i, w := range wantRecs {
				g := kept[i]
				if g.Name != w.Name || g.Unit != w.Unit || math.Abs(g.Time-w.Time) > 1e-3 || !eqPtr(g.Value, w.Value) || !eqPtr(g.Sum, w.Sum) ||
					!eqStr(g.StringValue, w.StringValue) || !eqBool(g.BoolValue, w.BoolValue) || g.Link != w.Link {
					t.Errorf("record %d = %+v, want %+v", i, g, w)
				}
			}
			checked++
		})
	}
	if checked < 10 {
		t.Errorf("only %d examples compared", checked)
	}
}

func eqPtr(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) < 1e-9)
}
func eqStr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func eqBool(a, b *bool) bool  { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func TestSenMLReadings(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	topic := "kessel/devices/env-1/readings"
	cases := []struct {
		name, payload, reason string
		check                 func(t *testing.T, d Decoded)
	}{
		{name: "base name and units", payload: `[{"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},{"n":"open","vb":true},{"n":"label","vs":"Machine Room"}]`,
			check: func(t *testing.T, d Decoded) {
				r := d.Readings[0]
				if len(d.Readings) != 1 || r.Values["temp"] != 23.1 || r.Values["open"] != 1 || r.Units["temp"] != "Cel" || !r.Time.Equal(now) || r.Source != "senml" {
					t.Errorf("%+v", d.Readings)
				}
				if _, ok := r.Values["label"]; ok {
					t.Error("string value stored as a number")
				}
			}},
		{name: "relative times make one reading each", payload: `[{"bn":"x:","bt":-60,"n":"current","u":"A","v":1.2},{"n":"current","t":30,"v":1.3},{"n":"voltage","t":30,"u":"V","v":230}]`,
			check: func(t *testing.T, d Decoded) {
				if len(d.Readings) != 2 || !d.Readings[0].Time.Equal(now.Add(-time.Minute)) || d.Readings[1].Values["voltage"] != 230 || d.Readings[1].Values["current"] != 1.3 {
					t.Errorf("%+v", d.Readings)
				}
			}},
		{name: "unit names unnamed records, lon/lat make a location", payload: `[{"bn":"urn:dev:x","bt":1795420800,"bu":"%RH","v":20},{"u":"lon","v":9.18},{"u":"lat","v":48.78}]`,
			check: func(t *testing.T, d Decoded) {
				r := d.Readings[0]
				if r.Values["humidity"] != 20 || r.Location == nil || r.Location[0] != 9.18 || r.Location[1] != 48.78 {
					t.Errorf("%+v", r)
				}
			}},
		{name: "sum", payload: `[{"n":"energy","u":"J","s":42}]`, check: func(t *testing.T, d Decoded) {
			if d.Readings[0].Values["energy_sum"] != 42 {
				t.Errorf("%+v", d.Readings[0])
			}
		}},
		{name: "empty pack", payload: `[]`, reason: ReasonEmptyValues},
		{name: "base-only records", payload: `[{"bn":"a:"}]`, reason: ReasonEmptyValues},
		{name: "record without value", payload: `[{"n":"a"}]`, reason: ReasonEmptyValues},
		{name: "two values", payload: `[{"n":"a","v":1,"vb":true}]`, reason: ReasonMalformedJSON},
		{name: "no name", payload: `[{"v":1}]`, reason: ReasonBadFieldName},
		{name: "only strings", payload: `[{"n":"a","vs":"x"}]`, reason: ReasonEmptyValues},
		{name: "value is a string", payload: `[{"n":"a","v":"1"}]`, reason: ReasonMalformedJSON},
		{name: "bare NaN", payload: `[{"n":"a","v":NaN}]`, reason: ReasonNonFinite},
		{name: "in the future", payload: `[{"n":"a","t":3600,"v":1}]`, reason: ReasonFutureTimestamp},
		{name: "bad location", payload: `[{"bn":"d","n":"a","v":1},{"u":"lon","v":500},{"u":"lat","v":48}]`, reason: ReasonBadLocation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Decode(topic, []byte(tc.payload), now, Limits{})
			checkDecoded(t, d, err, tc.reason, tc.check)
		})
	}
}

func checkDecoded(t *testing.T, d Decoded, err error, reason string, check func(*testing.T, Decoded)) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("rejected: %v", err)
		}
		check(t, d)
		return
	}
	var rej *Rejection
	if !errors.As(err, &rej) || rej.Reason != reason || rej.Detail == "" {
		t.Fatalf("got %v, want reason %s", err, reason)
	}
}

func TestTTSUplinks(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		name, file, topic, payload, reason string
		check                              func(t *testing.T, d Decoded)
	}{
		{name: "decoded noise with three gateways", file: "ttn-v3-uplink-decoded-noise.json", topic: "v3/ttn-soundkit@ttn/devices/soundkit-001/up",
			check: func(t *testing.T, d Decoded) {
				r := d.Readings[0]
				if r.Device != "soundkit-001" || r.Values["la_avg"] != 35.5 || r.Values["lz_spectrum_8"] != 29.2 || r.Link["rssi"] != -111 || r.Link["snr"] != 6.75 || r.Link["gateways"] != 3 {
					t.Errorf("values %+v link %+v", r.Values, r.Link)
				}
				noLinkInValues(t, r)
				if !r.Time.Equal(time.Date(2021, 8, 15, 12, 33, 4, 526280629, time.UTC)) || r.Location == nil || math.Abs(r.Location[1]-52.2157422811379) > 1e-9 {
					t.Errorf("time %v location %v", r.Time, r.Location)
				}
				if d.FCnt == nil || *d.FCnt != 2684 || d.Format != "tts" {
					t.Errorf("fcnt %v format %s", d.FCnt, d.Format)
				}
			}},
		{name: "no decoded payload: radio values only", file: "ttn-v3-uplink-gateway-location.json", topic: "v3/app/devices/DEVICE/up",
			check: func(t *testing.T, d Decoded) {
				if _, ok := d.Readings[0].Link["rssi"]; !ok || d.Readings[0].Location == nil {
					t.Errorf("%+v", d.Readings[0])
				}
				noLinkInValues(t, d.Readings[0])
			}},
		{name: "packet broker without location", file: "ttn-v3-uplink-packetbroker.json", topic: "v3/particulatematter/devices/fijnstofmeter/up",
			check: func(t *testing.T, d Decoded) {
				if d.Readings[0].Link["rssi"] != -58 || d.Readings[0].Location != nil {
					t.Errorf("%+v", d.Readings[0])
				}
			}},
		{name: "docs example is invalid JSON upstream", file: "ttn-v3-uplink-docs-example.json.txt", topic: "v3/app/devices/DEVICE/up", reason: ReasonMalformedJSON},
		{name: "v2 legacy rejected as unsupported", file: "ttn-v2-legacy-uplink-pm.json", topic: "v3/testerwin/devices/1001/up", reason: ReasonUnsupportedFormat},
		{name: "locations.user wins", topic: "v3/a/devices/d1/up", payload: `{"end_device_ids":{"device_id":"d1"},"uplink_message":{"decoded_payload":{"t":1,"ok":true,"unit":"C"},"locations":{"user":{"latitude":48.78,"longitude":9.18}},"rx_metadata":[{"location":{"latitude":1,"longitude":2}}]}}`,
			check: func(t *testing.T, d Decoded) {
				r := d.Readings[0]
				if r.Location[0] != 9.18 || r.Values["ok"] != 1 || !r.Time.Equal(now) {
					t.Errorf("%+v", r)
				}
				if _, ok := r.Values["unit"]; ok {
					t.Error("string stored")
				}
			}},
		{name: "device id mismatch", topic: "v3/a/devices/d1/up", payload: `{"end_device_ids":{"device_id":"d2"},"uplink_message":{"decoded_payload":{"t":1}}}`, reason: ReasonBadDeviceID},
		{name: "join event", topic: "v3/a/devices/d1/up", payload: `{"end_device_ids":{"device_id":"d1"},"join_accept":{}}`, reason: ReasonUnsupportedFormat},
		{name: "nothing to store", topic: "v3/a/devices/d1/up", payload: `{"uplink_message":{"f_cnt":3}}`, reason: ReasonEmptyValues},
		{name: "bad received_at", topic: "v3/a/devices/d1/up", payload: `{"received_at":"noon","uplink_message":{"decoded_payload":{"t":1}}}`, reason: ReasonBadTimestamp},
		{name: "bad topic", topic: "v3/a/devices/d1/down", payload: `{}`, reason: ReasonUnknownTopic},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := []byte(tc.payload)
			if tc.file != "" {
				p = sharedPayload(t, tc.file)
			}
			if tc.name == "no decoded payload: radio values only" {
				var probe struct {
					EndDeviceIDs struct {
						DeviceID string `json:"device_id"`
					} `json:"end_device_ids"`
				}
				_ = json.Unmarshal(p, &probe)
				tc.topic = strings.Replace(tc.topic, "DEVICE", probe.EndDeviceIDs.DeviceID, 1)
			}
			d, err := Decode(tc.topic, p, now, Limits{})
			checkDecoded(t, d, err, tc.reason, tc.check)
		})
	}
	t.Run("docs example with the missing comma fixed", func(t *testing.T) {
		p := string(sharedPayload(t, "ttn-v3-uplink-docs-example.json.txt"))
		var fixed string
		for _, cand := range []string{"}\n      \"received_at\"", "}\n    \"received_at\"", "} \"received_at\"", "}\"received_at\""} {
			if strings.Contains(p, cand) {
				fixed = strings.Replace(p, cand, strings.Replace(cand, "}", "},", 1), 1)
				break
			}
		}
		if fixed == "" || !json.Valid([]byte(fixed)) {
			t.Fatal("could not locate the missing comma in the docs example: has the shared sample changed?")
		}
		var probe struct {
			EndDeviceIDs struct {
				DeviceID string `json:"device_id"`
			} `json:"end_device_ids"`
		}
		_ = json.Unmarshal([]byte(fixed), &probe)
		d, err := Decode("v3/app/devices/"+probe.EndDeviceIDs.DeviceID+"/up", []byte(fixed), now, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if r := d.Readings[0]; r.Location == nil || math.Abs(r.Location[1]-37.97155556731436) > 1e-9 {
			t.Errorf("locations.user not used: %+v", r.Location)
		}
	})
}

func TestAirrohr(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		name, file, header, payload, reason string
		check                               func(t *testing.T, d Decoded)
	}{
		{name: "custom API body with esp8266id", file: "airrohr-custom-api-post-body-NRZ-2017-090.json",
			check: func(t *testing.T, d Decoded) {
				r := d.Readings[0]
				if r.Device != "esp8266-3394227" || r.Values["pm10"] != 4.3 || r.Values["pm25"] != 3.53 || r.Values["temperature"] != 20.8 || r.Values["humidity"] != 52.3 || r.Link["signal"] != -82 || r.Link["samples"] != 670215 {
					t.Errorf("%+v", r)
				}
				noLinkInValues(t, r)
				if !r.Time.Equal(now) || r.Source != "airrohr" || r.Kind != "air_quality" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "old firmware dBm signal, header id", file: "airrohr-push-NRZ-2016-058-sds011.json", header: "esp8266-12345",
			check: func(t *testing.T, d Decoded) {
				if r := d.Readings[0]; r.Device != "esp8266-12345" || r.Link["signal"] != -59 || r.Values["pm10"] != 5.38 {
					t.Errorf("%+v", r)
				}
			}},
		{name: "BMP pressure in hPa", file: "airrohr-push-NRZ-2018-121C-sds011-bmp180.json", header: "esp32-99",
			check: func(t *testing.T, d Decoded) {
				if r := d.Readings[0]; r.Values["pressure"] != 1006.59 || r.Values["temperature"] != 26.8 || r.Link["max_micro"] != 1849213 {
					t.Errorf("%+v", r.Values)
				}
				noLinkInValues(t, d.Readings[0])
			}},
		{name: "two temperatures", header: "esp8266-1", payload: `{"sensordatavalues":[{"value_type":"temperature","value":"1.5"},{"value_type":"BME280_temperature","value":"2.5"},{"value_type":"GPS_lat","value":"48.7"}]}`,
			check: func(t *testing.T, d Decoded) {
				if v := d.Readings[0].Values; v["temperature"] != 1.5 || v["bme280_temperature"] != 2.5 || v["gps_lat"] != 48.7 {
					t.Errorf("%+v", v)
				}
			}},
		{name: "no device", payload: `{"sensordatavalues":[{"value_type":"SDS_P1","value":"1"}]}`, reason: ReasonBadDeviceID},
		{name: "bad header", header: "esp/1", payload: `{"sensordatavalues":[{"value_type":"SDS_P1","value":"1"}]}`, reason: ReasonBadDeviceID},
		{name: "no values", header: "esp8266-1", payload: `{"software_version":"x"}`, reason: ReasonEmptyValues},
		{name: "not a number", header: "esp8266-1", payload: `{"sensordatavalues":[{"value_type":"SDS_P1","value":"n/a"}]}`, reason: ReasonNonNumeric},
		{name: "nan", header: "esp8266-1", payload: `{"sensordatavalues":[{"value_type":"SDS_P1","value":"nan"}]}`, reason: ReasonNonFinite},
		{name: "malformed", header: "esp8266-1", payload: `{"sensordatavalues":[`, reason: ReasonMalformedJSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := []byte(tc.payload)
			if tc.file != "" {
				p = sharedPayload(t, tc.file)
			}
			d, err := Decode(kessel.AirrohrPushTopic+tc.header, p, now, Limits{})
			checkDecoded(t, d, err, tc.reason, tc.check)
		})
	}
}

func FuzzDecodeSenML(f *testing.F) {
	now := time.Now()
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := Decode("kessel/devices/d/readings", append([]byte{'['}, p...), now, Limits{})
		if err == nil {
			for _, r := range d.Readings {
				for k, v := range r.Values {
					if math.IsNaN(v) || math.IsInf(v, 0) || k == "" {
						t.Fatalf("bad value %q=%v", k, v)
					}
				}
			}
		}
	})
}

func FuzzDecodeTTS(f *testing.F) {
	now := time.Now()
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := Decode("v3/app/devices/d/up", p, now, Limits{})
		if err == nil && len(d.Readings) != 1 {
			t.Fatal("accepted uplink without exactly one reading")
		}
	})
}

func FuzzDecodeAirrohr(f *testing.F) {
	now := time.Now()
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := Decode(kessel.AirrohrPushTopic, p, now, Limits{})
		if err == nil && len(d.Readings[0].Values) == 0 {
			t.Fatal("accepted a push without values")
		}
	})
}

func TestParseTTSTopic(t *testing.T) {
	tests := []struct {
		topic, app, device string
		ok                 bool
	}{
		{"v3/city-noise@ttn/devices/lora-1/up", "city-noise", "lora-1", true},
		{"v3/app/devices/d/up", "app", "d", true},
		{"v3/app/devices/d/down", "", "", false},
		{"v3//devices/d/up", "", "", false},
		{"v3/a/b/devices/d/up", "", "", false},
		{"v3/a/devices/d/e/up", "", "", false},
		{"v2/a/devices/d/up", "", "", false},
		{"kessel/devices/d/readings", "", "", false},
	}
	for _, tt := range tests {
		app, device, ok := parseTTSTopic(tt.topic)
		if app != tt.app || device != tt.device || ok != tt.ok {
			t.Errorf("parseTTSTopic(%q) = %q, %q, %v; want %q, %q, %v", tt.topic, app, device, ok, tt.app, tt.device, tt.ok)
		}
	}
}

// noLinkInValues fails when radio or transport data sits among a reading's
// measured values.
func noLinkInValues(t *testing.T, r kessel.Reading) {
	t.Helper()
	for _, f := range []string{"rssi", "snr", "gateways", "f_cnt", "f_cnt_gap", "signal", "samples", "min_micro", "max_micro"} {
		if _, ok := r.Values[f]; ok {
			t.Errorf("link field %s among the values: %v", f, r.Values)
		}
	}
}
