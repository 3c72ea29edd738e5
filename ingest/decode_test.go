package ingest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecodeNative(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	const topic = "kessel/devices/air-1/readings"
	cases := []struct {
		name    string
		topic   string
		payload string
		reason  string // "" = accepted
		check   func(t *testing.T, d Decoded)
	}{
		{name: "full", payload: `{"ts":"2026-11-23T07:59:00.123Z","values":{"pm10":23.1,"PM2.5":11,"wet":true},"location":{"lon":9.18,"lat":48.7784}}`,
			check: func(t *testing.T, d Decoded) {
				r := d.Readings[0]
				if r.Device != "air-1" || r.Values["pm10"] != 23.1 || r.Values["pm2_5"] != 11 || r.Values["wet"] != 1 {
					t.Errorf("values: %+v", r)
				}
				if !r.Time.Equal(time.Date(2026, 11, 23, 7, 59, 0, 123e6, time.UTC)) || r.Location == nil || r.Location[0] != 9.18 {
					t.Errorf("time/location: %+v", r)
				}
			}},
		{name: "no ts means now", payload: `{"values":{"x":1}}`, check: func(t *testing.T, d Decoded) {
			if !d.Readings[0].Time.Equal(now) {
				t.Errorf("time = %v", d.Readings[0].Time)
			}
		}},
		{name: "unix seconds", payload: `{"ts":1795420800.5,"values":{"x":1}}`, check: func(t *testing.T, d Decoded) {
			if d.Readings[0].Time.UnixMilli() != 1795420800500 {
				t.Errorf("time = %v", d.Readings[0].Time)
			}
		}},
		{name: "meta", topic: "kessel/devices/air-1/meta", payload: `{"kind":"air_quality","name":"Neckartor","location":{"lon":9.19,"lat":48.79},"visibility":"public","measurement_class":"reference"}`,
			check: func(t *testing.T, d Decoded) {
				if d.Meta == nil || d.Meta.Kind != "air_quality" || d.Meta.Location == nil || d.Meta.Class() != "reference" {
					t.Errorf("meta: %+v", d.Meta)
				}
			}},
		{name: "meta with units", topic: "kessel/devices/air-1/meta", payload: `{"kind":"air_quality","units":{"no2":"ppb"}}`,
			check: func(t *testing.T, d Decoded) {
				if d.Meta == nil || d.Meta.Units["no2"] != "ppb" {
					t.Errorf("meta: %+v", d.Meta)
				}
			}},
		{name: "meta with a unit for a dotted field", topic: "kessel/devices/air-1/meta", payload: `{"kind":"air_quality","units":{"link.rssi":"dBm"}}`, reason: ReasonBadMeta},
		{name: "link and units", payload: `{"values":{"pm10":12},"units":{"pm10":"mg/m3"},"link":{"RSSI":-80}}`,
			check: func(t *testing.T, d Decoded) {
				r := d.Readings[0]
				if r.Link["rssi"] != -80 || r.Units["pm10"] != "mg/m3" || len(r.Values) != 1 {
					t.Errorf("%+v", r)
				}
			}},
		{name: "unit of a field it does not have", payload: `{"values":{"pm10":12},"units":{"pm25":"ug/m3"}}`, reason: ReasonBadUnit},
		{name: "bad link key", payload: `{"values":{"pm10":12},"link":{"_x":1}}`, reason: ReasonReservedField},
		{name: "non-numeric link", payload: `{"values":{"pm10":12},"link":{"rssi":"strong"}}`, reason: ReasonNonNumeric},
		{name: "malformed", payload: `{"values":{"x":1}`, reason: ReasonMalformedJSON},
		{name: "values not an object", payload: `{"values":[1,2]}`, reason: ReasonMalformedJSON},
		{name: "string value", payload: `{"values":{"x":"12"}}`, reason: ReasonNonNumeric},
		{name: "null value", payload: `{"values":{"x":null}}`, reason: ReasonNonNumeric},
		{name: "object value", payload: `{"values":{"x":{"a":1}}}`, reason: ReasonNonNumeric},
		{name: "bare NaN", payload: `{"values":{"x":NaN}}`, reason: ReasonNonFinite},
		{name: "bare Infinity", payload: `{"values":{"x":-Infinity}}`, reason: ReasonNonFinite},
		{name: "string NaN", payload: `{"values":{"x":"NaN"}}`, reason: ReasonNonFinite},
		{name: "overflow", payload: `{"values":{"x":1e999}}`, reason: ReasonNonFinite},
		{name: "empty values", payload: `{"values":{}}`, reason: ReasonEmptyValues},
		{name: "no values", payload: `{"ts":"2026-11-23T07:59:00Z"}`, reason: ReasonEmptyValues},
		{name: "bad field", payload: `{"values":{"x;drop":1}}`, reason: ReasonBadFieldName},
		{name: "reserved field", payload: `{"values":{"lat":1}}`, reason: ReasonReservedField},
		{name: "too many fields", payload: `{"values":{` + manyFields(65) + `}}`, reason: ReasonTooManyFields},
		{name: "bad ts", payload: `{"ts":"yesterday","values":{"x":1}}`, reason: ReasonBadTimestamp},
		{name: "future ts", payload: `{"ts":"2026-11-23T08:06:00Z","values":{"x":1}}`, reason: ReasonFutureTimestamp},
		{name: "bad location", payload: `{"values":{"x":1},"location":{"lon":200,"lat":48}}`, reason: ReasonBadLocation},
		{name: "bad device id", topic: "kessel/devices/a b/readings", payload: `{"values":{"x":1}}`, reason: ReasonBadDeviceID},
		{name: "wildcard device id", topic: "kessel/devices/+/readings", payload: `{"values":{"x":1}}`, reason: ReasonBadDeviceID},
		{name: "unknown topic", topic: "kessel/other", payload: `{}`, reason: ReasonUnknownTopic},
		{name: "too large", payload: `{"values":{"x":1},"pad":"` + strings.Repeat("a", 70000) + `"}`, reason: ReasonTooLarge},
		{name: "bad meta visibility", topic: "kessel/devices/air-1/meta", payload: `{"kind":"air_quality","visibility":"secret"}`, reason: ReasonBadMeta},
		{name: "bad meta measurement class", topic: "kessel/devices/air-1/meta", payload: `{"kind":"air_quality","measurement_class":"gold"}`, reason: ReasonBadMeta},
		{name: "meta name with a control character", topic: "kessel/devices/air-1/meta", payload: `{"kind":"air_quality","name":"Neckar\u0000tor"}`, reason: ReasonBadMeta},
		{name: "meta name of 300 bytes", topic: "kessel/devices/air-1/meta", payload: `{"kind":"air_quality","name":"` + strings.Repeat("x", 300) + `"}`, reason: ReasonBadMeta},
		{name: "meta level named twice", topic: "kessel/devices/gauge-1/meta", payload: `{"kind":"water_level","levels":{"level":[{"name":"M1","value":1},{"name":"M1","value":2}]}}`, reason: ReasonBadMeta},
		{name: "meta level of 1e999", topic: "kessel/devices/gauge-1/meta", payload: `{"kind":"water_level","levels":{"level":[{"name":"M1","value":1e999}]}}`, reason: ReasonMalformedJSON},
		{name: "meta level NaN", topic: "kessel/devices/gauge-1/meta", payload: `{"kind":"water_level","levels":{"level":[{"name":"M1","value":NaN}]}}`, reason: ReasonNonFinite},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.topic == "" {
				tc.topic = topic
			}
			d, err := Decode(tc.topic, []byte(tc.payload), now, Limits{})
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				tc.check(t, d)
				return
			}
			var rej *Rejection
			if !errors.As(err, &rej) || rej.Reason != tc.reason {
				t.Fatalf("got %v, want reason %s", err, tc.reason)
			}
			if rej.Detail == "" {
				t.Error("rejection without detail")
			}
		})
	}
}

func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"f` + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":1`)
	}
	return b.String()
}

// FuzzDecode checks that Decode either rejects with a reason or returns
// readings the store can hold (check accepts them). Seeds and found inputs
// live in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	now := time.Now()
	lim := Limits{}
	lim.ensureDefaults()
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		d, err := Decode(topic, payload, now, Limits{})
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || rej.Reason == "" {
				t.Fatalf("error is not a Rejection: %v", err)
			}
			return
		}
		for _, r := range d.Readings {
			if len(r.Values) == 0 {
				t.Fatal("accepted a reading without values")
			}
			if rej := check(&r, now, lim); rej != nil {
				t.Fatalf("accepted a reading the store cannot hold: %v", rej)
			}
		}
	})
}

// FuzzFastNative is a differential test: whatever the reflection-free
// decoder accepts, encoding/json must accept with the same result. Seeds
// and found inputs live in testdata/fuzz/FuzzFastNative.
func FuzzFastNative(f *testing.F) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, p []byte) {
		fast, ok := fastNative("d", p, now, Limits{MaxFields: 64, MaxFuture: 5 * time.Minute, MaxPayload: 1 << 16})
		if !ok {
			return
		}
		ref, err := decodeNative("d", p, now, Limits{MaxFields: 64, MaxFuture: 5 * time.Minute, MaxPayload: 1 << 16})
		if err != nil {
			t.Fatalf("fast path accepted %q, reference rejected it: %v", p, err)
		}
		if !fast.Time.Equal(ref.Time) || fast.Kind != ref.Kind || fmt.Sprint(fast.Values) != fmt.Sprint(ref.Values) || fmt.Sprint(fast.Location) != fmt.Sprint(ref.Location) {
			t.Fatalf("fast %+v != reference %+v for %q", fast, ref, p)
		}
	})
}

// BenchmarkFastNative decodes a typical native reading on the fast path.
func BenchmarkFastNative(b *testing.B) {
	p := []byte(`{"ts":"2026-11-23T07:59:00.123Z","values":{"pm10":23.1,"pm2_5":11,"temperature":4.5,"humidity":81,"wet":true},"location":{"lon":9.18,"lat":48.7784}}`)
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	lim := Limits{MaxFields: 64, MaxFuture: 5 * time.Minute, MaxPayload: 1 << 16}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := fastNative("d", p, now, lim); !ok {
			b.Fatal("not on the fast path")
		}
	}
}

// TestFastNativeKeepsNoView checks that a reading decoded on the fast path
// holds no view into the payload: overwriting the payload afterwards must
// not change it (keys are read without copying).
func TestFastNativeKeepsNoView(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ name, payload, kind, field string }{
		{"field kept as sent", `{"kind":"noise","values":{"laeq":55}}`, "noise", "laeq"},
		{"field normalised", `{"kind":"air_quality","values":{"PM10":55}}`, "air_quality", "pm10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := []byte(tc.payload)
			r, ok := fastNative("d", p, now, Limits{MaxFields: 64, MaxFuture: time.Minute})
			if !ok {
				t.Fatal("not on the fast path")
			}
			for i := range p {
				p[i] = 'X'
			}
			if _, has := r.Values[tc.field]; !has || r.Kind != tc.kind || len(r.Values) != 1 {
				t.Errorf("reading changed with its payload: kind %q, values %v", r.Kind, r.Values)
			}
		})
	}
}
