package ingest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/ingest"
)

// TestNamesAndTimesFromOutside sends, over every wire format, names that
// would reach Kessel's own namespaces or the store's columns, tag values
// the store cannot carry and times it cannot hold: each must be refused
// with its specific reason.
func TestNamesAndTimesFromOutside(t *testing.T) {
	const native, senml, meta, tts = "kessel/devices/d1/readings", "kessel/devices/d1/readings", "kessel/devices/d1/meta", "v3/app/devices/d1/up"
	airrohr := kessel.AirrohrPushTopic + "esp8266-1"
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ name, topic, payload, reason string }{
		{"native kind kessel_rules", native, `{"kind":"kessel_rules","values":{"doc":1}}`, ingest.ReasonReservedKind},
		{"native kind kessel_usage", native, `{"kind":"kessel_usage","values":{"requests":1}}`, ingest.ReasonReservedKind},
		{"native kind _x", native, `{"kind":"_x","values":{"a":1}}`, ingest.ReasonReservedKind},
		{"meta kind kessel_deadletters", meta, `{"kind":"kessel_deadletters"}`, ingest.ReasonReservedKind},
		{"meta kind kessel_alerts", meta, `{"kind":"kessel_alerts"}`, ingest.ReasonReservedKind},
		{"meta department trailing backslash", meta, `{"kind":"noise","department":"Tiefbau\\"}`, ingest.ReasonBadTagValue},
		{"meta department newline", meta, `{"kind":"noise","department":"Tief\nbau"}`, ingest.ReasonBadTagValue},
		{"native field _start", native, `{"values":{"_start":1}}`, ingest.ReasonReservedField},
		{"native field _stop", native, `{"values":{"_stop":1}}`, ingest.ReasonReservedField},
		{"native field _time", native, `{"values":{"_time":1}}`, ingest.ReasonReservedField},
		{"native field _measurement", native, `{"values":{"_measurement":1}}`, ingest.ReasonReservedField},
		{"native field _field", native, `{"values":{"_field":1}}`, ingest.ReasonReservedField},
		{"native field _value", native, `{"values":{"_value":1}}`, ingest.ReasonReservedField},
		{"native field result", native, `{"values":{"result":1}}`, ingest.ReasonReservedField},
		{"native field table", native, `{"values":{"table":1}}`, ingest.ReasonReservedField},
		{"native field time", native, `{"values":{"time":1}}`, ingest.ReasonReservedField},
		{"native field device", native, `{"values":{"device":1}}`, ingest.ReasonReservedField},
		{"native field District", native, `{"values":{"District":1}}`, ingest.ReasonReservedField},
		{"native field department", native, `{"values":{"department":1}}`, ingest.ReasonReservedField},
		{"native field source", native, `{"values":{"source":1}}`, ingest.ReasonReservedField},
		{"senml name _value", senml, `[{"n":"_value","v":1}]`, ingest.ReasonReservedField},
		{"senml name device", senml, `[{"bn":"urn:x:","n":"device","v":1}]`, ingest.ReasonReservedField},
		{"tts field _time", tts, `{"uplink_message":{"decoded_payload":{"_time":1}}}`, ingest.ReasonReservedField},
		{"tts field source", tts, `{"uplink_message":{"decoded_payload":{"source":1}}}`, ingest.ReasonReservedField},
		{"airrohr value type device", airrohr, `{"sensordatavalues":[{"value_type":"device","value":"1"}]}`, ingest.ReasonReservedField},
		{"native ts 1677 (wraps to 2262)", native, `{"ts":"1677-09-01T00:00:00Z","values":{"a":1}}`, ingest.ReasonBadTimestamp},
		{"native ts 0001 (wraps to 1754)", native, `{"ts":"0001-01-01T00:00:00Z","values":{"a":1}}`, ingest.ReasonBadTimestamp},
		{"senml time 1e300", senml, `[{"n":"a","t":1e300,"v":1}]`, ingest.ReasonBadTimestamp},
		{"senml time -1e12", senml, `[{"n":"a","bt":-1e12,"v":1}]`, ingest.ReasonBadTimestamp},
		{"tts received_at 1677", tts, `{"received_at":"1677-09-01T00:00:00Z","uplink_message":{"decoded_payload":{"a":1}}}`, ingest.ReasonBadTimestamp},
		{"native NaN string", native, `{"values":{"a":"NaN"}}`, ingest.ReasonNonFinite},
		{"native bare Infinity", native, `{"values":{"a":Infinity}}`, ingest.ReasonNonFinite},
		{"senml overflow", senml, `[{"n":"a","v":1e308,"bv":1e308}]`, ingest.ReasonNonFinite},
		{"airrohr NaN", airrohr, `{"sensordatavalues":[{"value_type":"x","value":"NaN"}]}`, ingest.ReasonNonFinite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ingest.Decode(tc.topic, []byte(tc.payload), now, ingest.Limits{})
			rej, ok := err.(*ingest.Rejection)
			if !ok || rej.Reason != tc.reason {
				t.Fatalf("Decode(%s) = %v, want reason %s", tc.payload, err, tc.reason)
			}
		})
	}
}

// devicesFunc is a registry that enriches readings with fixed values, as
// one that was filled before the names were checked might.
type devicesFunc struct {
	mu       sync.Mutex
	enrich   func(*kessel.Reading)
	observed []kessel.Reading
}

func (d *devicesFunc) Describe(kessel.Device) error { return nil }
func (d *devicesFunc) Enrich(r *kessel.Reading) error {
	d.enrich(r)
	return nil
}

func (d *devicesFunc) Observe(rs []kessel.Reading) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.observed = append(d.observed, rs...)
}

// memStore keeps what it is given.
type memStore struct {
	mu       sync.Mutex
	readings []kessel.Reading
	dead     []kessel.DeadLetter
}

func (s *memStore) WriteReadings(_ context.Context, rs []kessel.Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readings = append(s.readings, rs...)
	return nil
}

func (s *memStore) WriteDeadLetters(_ context.Context, dls []kessel.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = append(s.dead, dls...)
	return nil
}

// TestCheckedBeforeTheBatch gives readings a kind, department or district
// from the registry that the store cannot take: the reading must become a
// dead letter with its reason, counted by reason, and never reach the store.
func TestCheckedBeforeTheBatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		enrich func(*kessel.Reading)
		reason string
	}{
		{"kind kessel_rules", func(r *kessel.Reading) { r.Kind = "kessel_rules" }, ingest.ReasonReservedKind},
		{"department with trailing backslash", func(r *kessel.Reading) { r.Department = `Tiefbau\` }, ingest.ReasonBadTagValue},
		{"district with newline", func(r *kessel.Reading) { r.District = "Mitte\n" }, ingest.ReasonBadTagValue},
		{"district with control character", func(r *kessel.Reading) { r.District = "Mi\x01tte" }, ingest.ReasonBadTagValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &memStore{}
			prom := prometheus.NewRegistry()
			in, err := ingest.New(store, &devicesFunc{enrich: tc.enrich}, ingest.Options{Registerer: prom})
			if err != nil {
				t.Fatal(err)
			}
			err = in.Submit(context.Background(), "kessel/devices/d1/readings", []byte(`{"values":{"pm10":1}}`))
			if kessel.ErrorCode(err) != kessel.EINVALID || !strings.HasPrefix(kessel.ErrorMessage(err), tc.reason+":") {
				t.Fatalf("Submit = %v, want EINVALID starting with %s", err, tc.reason)
			}
			if len(store.readings) != 0 || len(store.dead) != 1 || store.dead[0].Reason != tc.reason {
				t.Errorf("store got readings %+v, dead letters %+v", store.readings, store.dead)
			}
			if got := counterValue(t, prom, "kessel_ingest_rejected_total", tc.reason); got != 1 {
				t.Errorf("rejected{reason=%s} = %v, want 1", tc.reason, got)
			}
		})
	}
}
