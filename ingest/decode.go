package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// Reasons a message is rejected. Each is a label value of the rejected
// counter and the reason of the dead letter that keeps the message.
const (
	ReasonTooLarge        = "too_large"
	ReasonMalformedJSON   = "malformed_json"
	ReasonBadDeviceID     = "bad_device_id"
	ReasonEmptyValues     = "empty_values"
	ReasonNonNumeric      = "non_numeric"
	ReasonNonFinite       = "non_finite"
	ReasonBadFieldName    = "bad_field_name"
	ReasonTooManyFields   = "too_many_fields"
	ReasonBadTimestamp    = "bad_timestamp"
	ReasonFutureTimestamp = "future_timestamp"
	ReasonTooOld          = "too_old"
	ReasonBadLocation     = "bad_location"
	ReasonBadMeta         = "bad_meta"
	ReasonUnknownTopic    = "unknown_topic"
	ReasonUnknownDevice   = "unknown_device"
	ReasonStoreRejected   = "store_rejected"
)

// Rejection is why a message cannot be accepted. Its Reason is one of the
// Reason constants; Detail says exactly what was wrong, for the sender.
type Rejection struct {
	Reason string
	Detail string
	Device string
}

func (r *Rejection) Error() string { return r.Reason + ": " + r.Detail }

func reject(reason, device, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Device: device, Detail: fmt.Sprintf(format, args...)}
}

// Limits bound what a single message may contain.
type Limits struct {
	MaxPayload int           // bytes; default 64 KiB
	MaxFields  int           // values per reading; default 64
	MaxFuture  time.Duration // how far ahead of the receiving clock a timestamp may be; default 5m
	MaxAge     time.Duration // how old a timestamp may be; 0 = no limit (retention unlimited)
}

func (l *Limits) ensureDefaults() {
	if l.MaxPayload <= 0 {
		l.MaxPayload = 64 << 10
	}
	if l.MaxFields <= 0 {
		l.MaxFields = 64
	}
	if l.MaxFuture <= 0 {
		l.MaxFuture = 5 * time.Minute
	}
}

// Decoded is what one message carries: readings, or a device's description.
type Decoded struct {
	Readings []kessel.Reading
	Meta     *kessel.Device
	// FCnt is the LoRaWAN frame counter of a The Things Stack uplink.
	FCnt *uint32
	// Format names the wire format: native, senml, meta, tts or airrohr.
	Format string
}

// Message types: the last segment of a device topic (readings, meta) and
// The Things Stack's uplinks.
const (
	topicReadings = "readings"
	topicMeta     = "meta"
	topicTTS      = "tts"
)

// Decode turns a message received on topic at time now into readings or a
// device description. Topics: kessel/devices/{id}/readings (native JSON, or
// a SenML pack when the payload is a JSON array), kessel/devices/{id}/meta,
// v3/{app}[@{tenant}]/devices/{id}/up (The Things Stack v3), and
// kessel.AirrohrPushTopic+{X-Sensor} for airrohr HTTP pushes. It returns a
// *Rejection for anything it cannot accept. It is pure and safe for
// concurrent use.
func Decode(topic string, payload []byte, now time.Time, lim Limits) (Decoded, error) {
	lim.ensureDefaults()
	if header, ok := strings.CutPrefix(topic, kessel.AirrohrPushTopic); ok {
		if len(payload) > lim.MaxPayload {
			return Decoded{Format: "airrohr"}, reject(ReasonTooLarge, header, "payload is %d bytes; the limit is %d", len(payload), lim.MaxPayload)
		}
		r, rej := decodeAirrohr(header, payload, now, lim)
		if rej != nil {
			return Decoded{Format: "airrohr"}, rej
		}
		return Decoded{Readings: []kessel.Reading{r}, Format: "airrohr"}, nil
	}
	var device, msgType, format string
	if _, dev, ok := parseTTSTopic(topic); ok {
		device, msgType, format = dev, topicTTS, "tts"
	} else if device, msgType, ok = parseTopic(topic); ok {
		format = formatOf(topic, payload)
	} else {
		return Decoded{Format: "unknown"}, reject(ReasonUnknownTopic, "", "topic %q is not one Kessel reads", topic)
	}
	if !kessel.ValidDeviceID(device) {
		return Decoded{Format: format}, reject(ReasonBadDeviceID, "", "%s", kessel.DeviceIDError(device))
	}
	if len(payload) > lim.MaxPayload {
		return Decoded{Format: format}, reject(ReasonTooLarge, device, "payload is %d bytes; the limit is %d", len(payload), lim.MaxPayload)
	}
	switch {
	case msgType == topicTTS:
		up, rej := decodeTTS(device, payload, now, lim)
		if rej != nil {
			return Decoded{Format: format}, rej
		}
		return Decoded{Readings: []kessel.Reading{up.Reading}, FCnt: up.FCnt, Format: format}, nil
	case msgType == topicMeta:
		d, err := decodeMeta(device, payload)
		if err != nil {
			return Decoded{Format: format}, err
		}
		return Decoded{Meta: d, Format: format}, nil
	case format == "senml":
		rs, rej := decodeSenML(device, payload, now, lim)
		if rej != nil {
			return Decoded{Format: format}, rej
		}
		return Decoded{Readings: rs, Format: format}, nil
	default:
		if r, ok := fastNative(device, payload, now, lim); ok {
			return Decoded{Readings: []kessel.Reading{r}, Format: format}, nil
		}
		r, err := decodeNative(device, payload, now, lim)
		if err != nil {
			return Decoded{Format: format}, err
		}
		return Decoded{Readings: []kessel.Reading{r}, Format: format}, nil
	}
}

// parseTopic splits kessel/devices/{id}/{readings|meta} into the device
// and the message type.
func parseTopic(topic string) (device, msgType string, ok bool) {
	rest, ok := strings.CutPrefix(topic, kessel.DeviceTopicPrefix)
	if !ok {
		return "", "", false
	}
	device, msgType, ok = strings.Cut(rest, "/")
	if !ok || (msgType != topicReadings && msgType != topicMeta) {
		return "", "", false
	}
	return device, msgType, true
}

// formatOf names a message's wire format for metrics.
func formatOf(topic string, payload []byte) string {
	if strings.HasSuffix(topic, "/meta") {
		return "meta"
	}
	for _, c := range payload {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return "senml"
		}
		break
	}
	return "native"
}

type nativeLocation struct {
	Lon *float64 `json:"lon"`
	Lat *float64 `json:"lat"`
}

type nativeReading struct {
	TS       json.RawMessage            `json:"ts"`
	Kind     string                     `json:"kind"`
	Values   map[string]json.RawMessage `json:"values"`
	Location *nativeLocation            `json:"location"`
	Link     map[string]json.RawMessage `json:"link"`
	Units    map[string]string          `json:"units"`
}

func decodeNative(device string, payload []byte, now time.Time, lim Limits) (kessel.Reading, error) {
	var n nativeReading
	if err := json.Unmarshal(payload, &n); err != nil {
		return kessel.Reading{}, jsonRejection(device, payload, err)
	}
	r := kessel.Reading{Device: device, Source: "native", Kind: n.Kind}
	if rej := checkKind(device, n.Kind); rej != nil {
		return r, rej
	}
	ts, err := parseTime(n.TS, now)
	if err != nil {
		return r, reject(ReasonBadTimestamp, device, "ts: %v", err)
	}
	if err := checkTime(ts, now, lim); err != nil {
		err.Device = device
		return r, err
	}
	r.Time = ts
	if len(n.Values) == 0 {
		return r, reject(ReasonEmptyValues, device, "values is missing or empty")
	}
	if len(n.Values) > lim.MaxFields {
		return r, reject(ReasonTooManyFields, device, "%d values; the limit is %d", len(n.Values), lim.MaxFields)
	}
	r.Values = make(map[string]float64, len(n.Values))
	for k, raw := range n.Values {
		name := NormalizeField(k)
		if rej := checkField(device, "values key", k, name); rej != nil {
			return r, rej
		}
		v, rej := parseValue(device, k, raw)
		if rej != nil {
			return r, rej
		}
		r.Values[name] = v
	}
	if n.Location != nil {
		if n.Location.Lon == nil || n.Location.Lat == nil || !kessel.ValidLonLat(*n.Location.Lon, *n.Location.Lat) {
			return r, reject(ReasonBadLocation, device, "location needs lon in [-180,180] and lat in [-90,90]")
		}
		r.Location = &orb.Point{*n.Location.Lon, *n.Location.Lat}
	}
	if rej := nativeExtras(device, &n, &r, lim); rej != nil {
		return r, rej
	}
	return r, nil
}

// NormalizeField lower-cases a field name and turns '-', '.', ' ' and '/'
// into '_', so "PM2.5" becomes "pm2_5".
func NormalizeField(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		case r == '-' || r == '.' || r == ' ' || r == '/':
			return '_'
		}
		return r
	}, s)
}

func parseValue(device, field string, raw json.RawMessage) (float64, *Rejection) {
	s := string(bytes.TrimSpace(raw))
	switch {
	case s == "true":
		return 1, nil
	case s == "false":
		return 0, nil
	case s == "null" || s == "":
		return 0, reject(ReasonNonNumeric, device, "value of %q is null", field)
	case s[0] == '"':
		var str string
		_ = json.Unmarshal(raw, &str)
		if f, err := strconv.ParseFloat(strings.TrimSpace(str), 64); err == nil || errors.Is(err, strconv.ErrRange) {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, reject(ReasonNonFinite, device, "value of %q is %q; only finite numbers are stored", field, str)
			}
		}
		return 0, reject(ReasonNonNumeric, device, "value of %q is the string %q; send a JSON number", field, str)
	case s[0] == '{' || s[0] == '[':
		return 0, reject(ReasonNonNumeric, device, "value of %q is an object or array; send a JSON number", field)
	}
	f, err := strconv.ParseFloat(s, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, reject(ReasonNonFinite, device, "value of %q overflows a 64-bit float", field)
	}
	if err != nil {
		return 0, reject(ReasonNonNumeric, device, "value of %q: %q is not a number", field, s)
	}
	return f, nil
}

// parseTime accepts an RFC 3339 string or a number of Unix seconds; absent
// or null means now.
func parseTime(raw json.RawMessage, now time.Time) (time.Time, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || s == "null" {
		return now, nil
	}
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return time.Time{}, err
		}
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time such as 2026-11-23T08:00:00Z", str)
		}
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%s is neither an RFC 3339 string nor Unix seconds", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// jsonRejection tells bare NaN/Infinity (which some firmware writes) apart
// from other malformed JSON.
func jsonRejection(device string, payload []byte, err error) *Rejection {
	if json.Valid(payload) {
		// Valid JSON of the wrong shape, e.g. values is not an object.
		return reject(ReasonMalformedJSON, device, "unexpected JSON shape: %v", err)
	}
	for _, tok := range [][]byte{[]byte("NaN"), []byte("Infinity")} {
		if bytes.Contains(payload, tok) {
			return reject(ReasonNonFinite, device, "payload contains %s, which is not JSON; only finite numbers are stored", tok)
		}
	}
	return reject(ReasonMalformedJSON, device, "not valid JSON: %v", err)
}

type metaMessage struct {
	Kind       string                    `json:"kind"`
	Name       string                    `json:"name"`
	Location   *nativeLocation           `json:"location"`
	Department string                    `json:"department"`
	Visibility string                    `json:"visibility"`
	Labels     map[string]string         `json:"labels"`
	Units      map[string]string         `json:"units"`
	Class      string                    `json:"measurement_class"`
	Levels     map[string][]kessel.Level `json:"levels"`
}

// decodeMeta reads a device self-description. An empty payload (clearing
// the retained message) yields a nil device and no error.
func decodeMeta(device string, payload []byte) (*kessel.Device, error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, nil
	}
	var m metaMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, jsonRejection(device, payload, err)
	}
	vis, err := kessel.ParseVisibility(m.Visibility)
	if err != nil {
		return nil, reject(ReasonBadMeta, device, "%s", kessel.ErrorMessage(err))
	}
	if rej := checkKind(device, m.Kind); rej != nil {
		return nil, rej
	}
	if err := kessel.ValidateTagValue("department", m.Department); err != nil {
		return nil, reject(ReasonBadTagValue, device, "%s", kessel.ErrorMessage(err))
	}
	class, err := kessel.ParseMeasurementClass(m.Class)
	if err != nil {
		return nil, reject(ReasonBadMeta, device, "%s", kessel.ErrorMessage(err))
	}
	d := &kessel.Device{ID: device, Kind: m.Kind, Name: m.Name, Department: m.Department, Visibility: vis, Labels: m.Labels, Units: m.Units, MeasurementClass: class, Levels: m.Levels}
	if m.Location != nil {
		if m.Location.Lon == nil || m.Location.Lat == nil {
			return nil, reject(ReasonBadLocation, device, "location needs lon and lat")
		}
		d.Location = &orb.Point{*m.Location.Lon, *m.Location.Lat}
	}
	if err := d.Validate(); err != nil {
		return nil, reject(ReasonBadMeta, device, "%s", kessel.ErrorMessage(err))
	}
	return d, nil
}
