package ingest

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// ReasonUnsupportedFormat is given to messages in a format Kessel does not
// read, such as The Things Network v2 uplinks.
const ReasonUnsupportedFormat = "unsupported_format"

type ttsLocation struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

type ttsUplink struct {
	EndDeviceIDs *struct {
		DeviceID string `json:"device_id"`
	} `json:"end_device_ids"`
	ReceivedAt    string `json:"received_at"`
	UplinkMessage *struct {
		FCnt           *uint32                `json:"f_cnt"`
		FPort          *int                   `json:"f_port"`
		DecodedPayload map[string]any         `json:"decoded_payload"`
		RxMetadata     []ttsRx                `json:"rx_metadata"`
		Locations      map[string]ttsLocation `json:"locations"`
		ReceivedAt     string                 `json:"received_at"`
	} `json:"uplink_message"`
	// Fields of the legacy TTN v2 format, recognised to reject it clearly.
	AppID         *string         `json:"app_id"`
	PayloadFields json.RawMessage `json:"payload_fields"`
}

type ttsRx struct {
	RSSI     *float64     `json:"rssi"`
	SNR      *float64     `json:"snr"`
	Location *ttsLocation `json:"location"`
}

// TTSUplink is a decoded The Things Stack v3 uplink: the reading and the
// frame counter, which the ingester tracks per device to count gaps.
type TTSUplink struct {
	Reading kessel.Reading
	FCnt    *uint32
}

// decodeTTS reads a The Things Stack v3 uplink message (JSON on
// v3/{app}/devices/{id}/up). Values come from uplink_message.decoded_payload,
// nested objects and arrays flattened with '_'; the time from received_at;
// the location from locations.user, else the first rx_metadata location;
// the best RSSI and SNR of the receiving gateways and their count are the
// reading's link data (Reading.Link: rssi, snr, gateways), apart from the
// measured values. Everything TTS may omit is optional.
func decodeTTS(device string, payload []byte, now time.Time, lim Limits) (TTSUplink, *Rejection) {
	var u ttsUplink
	if err := json.Unmarshal(payload, &u); err != nil {
		return TTSUplink{}, jsonRejection(device, payload, err)
	}
	if u.UplinkMessage == nil {
		if u.AppID != nil || u.PayloadFields != nil {
			return TTSUplink{}, reject(ReasonUnsupportedFormat, device, "this is a The Things Network v2 uplink (app_id, payload_fields); Kessel reads The Things Stack v3 uplinks")
		}
		return TTSUplink{}, reject(ReasonUnsupportedFormat, device, "no uplink_message: not a The Things Stack v3 uplink (join accepts and other events are not readings)")
	}
	if u.EndDeviceIDs != nil && u.EndDeviceIDs.DeviceID != "" && u.EndDeviceIDs.DeviceID != device {
		return TTSUplink{}, reject(ReasonBadDeviceID, device, "end_device_ids.device_id %q does not match the topic's device %q", u.EndDeviceIDs.DeviceID, device)
	}
	um := u.UplinkMessage
	r := kessel.Reading{Device: device, Source: "tts", Values: map[string]float64{}, Time: now}
	for _, s := range []string{u.ReceivedAt, um.ReceivedAt} {
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return TTSUplink{}, reject(ReasonBadTimestamp, device, "received_at %q is not RFC 3339", s)
		}
		r.Time = t
		break
	}
	if rej := checkTime(r.Time, now, lim); rej != nil {
		rej.Device = device
		return TTSUplink{}, rej
	}
	if rej := flatten(device, "", um.DecodedPayload, r.Values, lim.MaxFields); rej != nil {
		return TTSUplink{}, rej
	}
	var rssi, snr []float64
	for _, rx := range um.RxMetadata {
		if rx.RSSI != nil {
			rssi = append(rssi, *rx.RSSI)
		}
		if rx.SNR != nil {
			snr = append(snr, *rx.SNR)
		}
	}
	if n := len(um.RxMetadata); n > 0 {
		r.Link = make(map[string]float64, 5) // room for f_cnt and f_cnt_gap
		r.Link["gateways"] = float64(n)
	}
	if len(rssi) > 0 {
		r.Link["rssi"] = slices.Max(rssi)
	}
	if len(snr) > 0 {
		r.Link["snr"] = slices.Max(snr)
	}
	if len(r.Values) == 0 && len(r.Link) == 0 {
		return TTSUplink{}, reject(ReasonEmptyValues, device, "the uplink has no decoded_payload and no radio metadata")
	}
	loc := func(l *ttsLocation) bool {
		if l == nil || l.Latitude == nil || l.Longitude == nil || !kessel.ValidLonLat(*l.Longitude, *l.Latitude) {
			return false
		}
		r.Location = &orb.Point{*l.Longitude, *l.Latitude}
		return true
	}
	if user, ok := um.Locations["user"]; !ok || !loc(&user) {
		for _, rx := range um.RxMetadata {
			if loc(rx.Location) {
				break
			}
		}
	}
	return TTSUplink{Reading: r, FCnt: um.FCnt}, nil
}

// flatten copies numbers and booleans (as 1/0) from a decoded payload into
// values, joining nested keys and array indexes with '_'. Strings and nulls
// are skipped: TTS payload formatters often add text such as units.
func flatten(device, prefix string, v any, values map[string]float64, maxFields int) *Rejection {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if rej := flatten(device, join(prefix, NormalizeField(k)), x, values, maxFields); rej != nil {
				return rej
			}
		}
	case []any:
		for i, x := range v {
			if rej := flatten(device, join(prefix, strconv.Itoa(i)), x, values, maxFields); rej != nil {
				return rej
			}
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return reject(ReasonNonFinite, device, "decoded_payload.%s is not finite", prefix)
		}
		return put(device, prefix, v, values, maxFields)
	case bool:
		x := 0.0
		if v {
			x = 1
		}
		return put(device, prefix, x, values, maxFields)
	}
	return nil
}

func put(device, name string, v float64, values map[string]float64, maxFields int) *Rejection {
	if rej := checkField(device, "decoded_payload key", name, name); rej != nil {
		return rej
	}
	if len(values) >= maxFields {
		return reject(ReasonTooManyFields, device, "decoded_payload has more than %d values", maxFields)
	}
	values[name] = v
	return nil
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "_" + k
}

// parseTTSTopic splits v3/{application_id}[@{tenant}]/devices/{device_id}/up.
func parseTTSTopic(topic string) (app, device string, ok bool) {
	// v3/{app}[@{tenant}]/devices/{device}/up, without allocating: every
	// message's topic passes here.
	rest, ok := strings.CutPrefix(topic, "v3/")
	if !ok {
		return "", "", false
	}
	appTenant, rest, ok := strings.Cut(rest, "/devices/")
	if !ok || appTenant == "" || strings.Contains(appTenant, "/") {
		return "", "", false
	}
	device, ok = strings.CutSuffix(rest, "/up")
	if !ok || strings.Contains(device, "/") {
		return "", "", false
	}
	app, _, _ = strings.Cut(appTenant, "@")
	return app, device, true
}
