package simulators

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// Formats lists the wire formats the simulator speaks. They are written
// from the formats' own descriptions and real samples (SenML: RFC 8428;
// The Things Stack v3 uplink JSON; the airrohr firmware's custom-API
// POST), not from Kessel's decoders.
var Formats = []string{"native", "senml", "tts", "airrohr"}

func sortedKeys(values map[string]float64) []string {
	ks := make([]string, 0, len(values))
	for k := range values {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// SenMLReading encodes a reading as a SenML pack: base name "<id>:", base
// time in seconds, one record per value.
func SenMLReading(d *Device, ts time.Time, values map[string]float64) Message {
	type rec struct {
		BN string   `json:"bn,omitempty"`
		BT float64  `json:"bt,omitempty"`
		N  string   `json:"n"`
		U  string   `json:"u,omitempty"`
		V  *float64 `json:"v"`
	}
	var pack []rec
	for i, k := range sortedKeys(values) {
		v := values[k]
		r := rec{N: k, U: senmlUnits[k], V: &v}
		if i == 0 {
			r.BN = d.ID + ":"
			r.BT = float64(ts.UnixMilli()) / 1000
		}
		pack = append(pack, r)
	}
	p, _ := json.Marshal(pack)
	return Message{Topic: kessel.ReadingsTopic(d.ID), Payload: p, Kind: d.Kind, Format: "senml"}
}

var senmlUnits = map[string]string{"temperature": "Cel", "humidity": "%RH", "pressure": "hPa", "pm10": "ug/m3", "pm25": "ug/m3", "laeq": "dB", "lamax": "dB", "wind": "m/s", "level": "cm"}

// TTSApplication is the application id simulated LoRaWAN devices belong to.
const TTSApplication = "kessel-sim"

// TTSUplink encodes a reading as The Things Stack v3 uplink message, as a
// TTS MQTT integration publishes it on v3/{app}@{tenant}/devices/{id}/up.
func TTSUplink(d *Device, ts time.Time, values map[string]float64, fcnt uint32) Message {
	raw, _ := json.Marshal(values)
	up := map[string]any{
		"end_device_ids": map[string]any{
			"device_id":       d.ID,
			"application_ids": map[string]any{"application_id": TTSApplication},
			"dev_eui":         fmt.Sprintf("70B3D57ED0%06X", d.rng.Uint32()&0xffffff),
		},
		"received_at": ts.UTC().Format(time.RFC3339Nano),
		"uplink_message": map[string]any{
			"f_port":          1,
			"f_cnt":           fcnt,
			"frm_payload":     base64.StdEncoding.EncodeToString(raw),
			"decoded_payload": values,
			"rx_metadata": []any{map[string]any{
				"gateway_ids": map[string]any{"gateway_id": "stuttgart-gw-1"},
				"rssi":        -70 - d.rng.IntN(50),
				"snr":         float64(d.rng.IntN(200)-50) / 10,
				"location":    map[string]any{"latitude": 48.7784, "longitude": 9.1800, "source": "SOURCE_REGISTRY"},
			}},
			"locations":   map[string]any{"user": map[string]any{"latitude": d.Location[1], "longitude": d.Location[0], "source": "SOURCE_REGISTRY"}},
			"received_at": ts.UTC().Format(time.RFC3339Nano),
		},
	}
	p, _ := json.Marshal(up)
	return Message{Topic: "v3/" + TTSApplication + "@ttn/devices/" + d.ID + "/up", Payload: p, Kind: d.Kind, Format: "tts"}
}

// AirrohrChipID is the chip id a simulated airrohr node reports.
func AirrohrChipID(d *Device) string {
	n := 0
	for _, c := range d.ID {
		n = n*31 + int(c)
	}
	return strconv.Itoa(1000000 + (n&0x7fffffff)%9000000)
}

// AirrohrPush encodes an air-quality reading as the Sensor.Community airrohr
// firmware posts it to a custom API: string values, the device in X-Sensor.
// Its device id in Kessel is esp8266-<chipid>.
func AirrohrPush(d *Device, values map[string]float64) Message {
	types := map[string]string{"pm10": "SDS_P1", "pm25": "SDS_P2", "temperature": "BME280_temperature", "humidity": "BME280_humidity"}
	var sdv []map[string]string
	for _, k := range sortedKeys(values) {
		if t, ok := types[k]; ok {
			sdv = append(sdv, map[string]string{"value_type": t, "value": strconv.FormatFloat(values[k], 'f', 2, 64)})
		}
	}
	sdv = append(sdv, map[string]string{"value_type": "signal", "value": strconv.Itoa(-50 - d.rng.IntN(40))})
	id := AirrohrChipID(d)
	p, _ := json.Marshal(map[string]any{"esp8266id": id, "software_version": "NRZ-2020-133", "sensordatavalues": sdv})
	return Message{HTTPPath: "/api/v1/push/airrohr", Header: map[string]string{"X-Sensor": "esp8266-" + id, "X-Pin": "1", "Content-Type": "application/json"},
		Payload: p, Kind: d.Kind, Format: "airrohr"}
}

// Faults the simulator can inject. Those in RejectedFaults are messages
// Kessel must reject and keep as a dead letter; the others are real-world
// oddities it must store: a duplicate once, a reading out of order or an
// hour late under its own time, an implausible value as sent, a reading
// from a device nobody registered (auto-registered as internal).
var Faults = []string{"malformed_json", "wrong_type", "nan", "missing_values", "clock_skew", "oversized",
	"duplicate", "out_of_order", "late", "out_of_range", "unknown_device"}

// RejectedFaults are the faults Kessel must dead-letter.
var RejectedFaults = []string{"malformed_json", "wrong_type", "nan", "missing_values", "clock_skew", "oversized"}

// inject turns m into a faulty message of the given kind.
func inject(m Message, fault string, rng *rand.Rand, now time.Time) Message {
	p := string(m.Payload)
	switch fault {
	case "malformed_json":
		m.Payload = []byte(p[:len(p)/2])
	case "wrong_type":
		switch m.Format {
		case "airrohr":
			m.Payload = []byte(strings.Replace(p, `"value":"`, `"value":"n/a`, 1))
		case "senml":
			m.Payload = []byte(quoteFirstValue(p, `"v":`))
		case "tts":
			m.Payload = []byte(p[:len(p)-1]) // TTS skips string values; send broken JSON instead
		default:
			m.Payload = []byte(quoteFirstValue(p, `"values":{`))
		}
	case "nan":
		switch m.Format {
		case "airrohr":
			m.Payload = []byte(strings.Replace(p, `"value":"`, `"value":"nan`, 1))
		case "senml":
			m.Payload = []byte(replaceFirstNumber(p, `"v":`, "NaN"))
		case "tts":
			m.Payload = []byte(replaceFirstNumber(p, `"decoded_payload":{`, "NaN"))
		default:
			m.Payload = []byte(replaceFirstNumber(p, `"values":{`, "NaN"))
		}
	case "missing_values":
		switch m.Format {
		case "airrohr":
			m.Payload = []byte(`{"software_version":"NRZ-2020-133","sensordatavalues":[]}`)
		case "senml":
			m.Payload = []byte(`[]`)
		case "tts":
			m.Payload = []byte(`{"uplink_message":{"f_port":1}}`)
		default:
			m.Payload = []byte(`{"values":{}}`)
		}
	case "clock_skew":
		future := now.Add(time.Duration(10+rng.IntN(50)) * time.Minute).UTC()
		switch m.Format {
		case "senml":
			m.Payload = []byte(replaceFirstNumber(p, `"bt":`, strconv.FormatFloat(float64(future.UnixMilli())/1000, 'f', 3, 64)))
		case "tts":
			var up map[string]any
			_ = json.Unmarshal(m.Payload, &up)
			up["received_at"] = future.Format(time.RFC3339Nano)
			m.Payload, _ = json.Marshal(up)
		case "airrohr": // airrohr sends no time; skew shows as oversized instead
			return inject(m, "oversized", rng, now)
		default:
			var r map[string]any
			_ = json.Unmarshal(m.Payload, &r)
			r["ts"] = future.Format(time.RFC3339Nano)
			m.Payload, _ = json.Marshal(r)
		}
	case "oversized":
		pad := strings.Repeat("x", 70<<10)
		switch m.Format {
		case "senml":
			m.Payload = []byte(strings.Replace(p, `"n":`, `"vs_pad":"`+pad+`","n":`, 1))
		default:
			m.Payload = []byte(strings.Replace(p, `{`, `{"pad":"`+pad+`",`, 1))
		}
	}
	m.Fault = fault
	return m
}

// quoteFirstValue wraps the first number after marker in quotes.
func quoteFirstValue(p, marker string) string {
	i := strings.Index(p, marker)
	if i < 0 {
		return p[:len(p)/2]
	}
	j := i + len(marker)
	for j < len(p) && p[j] != ':' && marker[len(marker)-1] == '{' {
		j++
	}
	if marker[len(marker)-1] == '{' {
		j++ // past the colon of the first key
	}
	k := j
	for k < len(p) && strings.IndexByte("-+.0123456789eE", p[k]) >= 0 {
		k++
	}
	return p[:j] + `"` + p[j:k] + `"` + p[k:]
}

// replaceFirstNumber replaces the first number after marker with s.
func replaceFirstNumber(p, marker, s string) string {
	i := strings.Index(p, marker)
	if i < 0 {
		return p[:len(p)/2]
	}
	j := i + len(marker)
	if marker[len(marker)-1] == '{' {
		for j < len(p) && p[j] != ':' {
			j++
		}
		j++
	}
	k := j
	for k < len(p) && strings.IndexByte("-+.0123456789eE", p[k]) >= 0 {
		k++
	}
	return p[:j] + s + p[k:]
}
