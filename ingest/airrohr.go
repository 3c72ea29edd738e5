package ingest

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

type airrohrBody struct {
	ESP8266ID        json.RawMessage `json:"esp8266id"`
	SoftwareVersion  string          `json:"software_version"`
	SensorDataValues []struct {
		ValueType string          `json:"value_type"`
		Value     json.RawMessage `json:"value"`
	} `json:"sensordatavalues"`
}

// airrohrFields maps Sensor.Community value types to Kessel field names.
// Prefixed types (SDS_P1, BME280_temperature, …) map by their suffix.
var airrohrSuffix = map[string]string{
	"P0": "pm1", "P1": "pm10", "P2": "pm25", "P4": "pm4",
	"temperature": "temperature", "humidity": "humidity", "pressure": "pressure",
	"height": "altitude", "noise_LAeq": "laeq", "noise_LA_min": "la_min", "noise_LA_max": "la_max",
}

// airrohrLink are the value types that tell of the device and its WiFi
// link, not of the air: the signal strength (dBm) and the firmware's loop
// statistics. They become the reading's link data (Reading.Link).
var airrohrLink = map[string]bool{"signal": true, "samples": true, "min_micro": true, "max_micro": true}

// AirrohrDevice derives the device id of a Sensor.Community/airrohr push:
// from the X-Sensor header (esp8266-<chipid> or esp32-<chipid>), else from
// the body's esp8266id (as esp8266-<id>).
func airrohrDevice(header string, body *airrohrBody) string {
	if header != "" {
		return header
	}
	var id string
	if err := json.Unmarshal(body.ESP8266ID, &id); err != nil {
		var n json.Number
		if json.Unmarshal(body.ESP8266ID, &n) == nil {
			id = n.String()
		}
	}
	if id == "" {
		return ""
	}
	return "esp8266-" + id
}

// decodeAirrohr reads the airrohr firmware's "custom API" JSON. Values are
// strings; pressure arrives in Pa and is stored in hPa; signal may read
// "-59 dBm" and is link data, as are the firmware's loop statistics
// (airrohrLink). Unknown value types are kept under their normalised name. When
// two sensors report the same quantity, the first keeps the plain name and
// the next is stored with its sensor prefix (bme280_temperature).
func decodeAirrohr(header string, payload []byte, now time.Time, lim Limits) (kessel.Reading, *Rejection) {
	var b airrohrBody
	if err := json.Unmarshal(payload, &b); err != nil {
		return kessel.Reading{}, jsonRejection(header, payload, err)
	}
	device := airrohrDevice(header, &b)
	if device == "" {
		return kessel.Reading{}, reject(ReasonBadDeviceID, "", "no device: send the X-Sensor header (esp8266-<chipid>) or esp8266id in the body")
	}
	if !kessel.ValidDeviceID(device) {
		return kessel.Reading{}, reject(ReasonBadDeviceID, "", "%s", kessel.DeviceIDError(device))
	}
	if len(b.SensorDataValues) == 0 {
		return kessel.Reading{}, reject(ReasonEmptyValues, device, "sensordatavalues is missing or empty")
	}
	if len(b.SensorDataValues) > lim.MaxFields {
		return kessel.Reading{}, reject(ReasonTooManyFields, device, "%d values; the limit is %d", len(b.SensorDataValues), lim.MaxFields)
	}
	r := kessel.Reading{Device: device, Kind: "air_quality", Time: now, Source: "airrohr", Values: map[string]float64{}}
	for _, sv := range b.SensorDataValues {
		var s string
		if err := json.Unmarshal(sv.Value, &s); err != nil {
			s = strings.TrimSpace(string(sv.Value)) // some firmware sends bare numbers
		}
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "dBm"))
		v, err := strconv.ParseFloat(s, 64)
		if err != nil && !isRangeErr(err) {
			return kessel.Reading{}, reject(ReasonNonNumeric, device, "value of %s is %q, not a number", sv.ValueType, s)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return kessel.Reading{}, reject(ReasonNonFinite, device, "value of %s is %q; only finite numbers are stored", sv.ValueType, s)
		}
		if airrohrLink[sv.ValueType] {
			if r.Link == nil {
				r.Link = make(map[string]float64, 4)
			}
			r.Link[sv.ValueType] = v
			continue
		}
		name, prefixed := airrohrField(sv.ValueType)
		if strings.HasSuffix(sv.ValueType, "pressure") && v > 2000 {
			v /= 100 // Pa to hPa
		}
		if _, taken := r.Values[name]; taken {
			name = prefixed
		}
		if rej := checkField(device, "value_type", sv.ValueType, name); rej != nil {
			return kessel.Reading{}, rej
		}
		r.Values[name] = v
	}
	return r, nil
}

// airrohrField returns the canonical field for a value type and the
// sensor-prefixed one used when the canonical one is taken.
func airrohrField(valueType string) (canonical, prefixed string) {
	prefixed = NormalizeField(valueType)
	if f, ok := airrohrSuffix[valueType]; ok {
		return f, prefixed
	}
	if i := strings.Index(valueType, "_"); i > 0 {
		if f, ok := airrohrSuffix[valueType[i+1:]]; ok {
			return f, prefixed
		}
	}
	return prefixed, prefixed
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
