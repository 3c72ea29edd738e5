package api

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// TestSTAObservationMatchesRender: the MQTT feed's hand-written
// Observation is byte for byte what the REST path renders for the same
// value (staModel.render encoded by marshal), with and without quality
// flags and tests, for ids that need escaping, odd numbers and times; and
// what JSON cannot hold is left out.
func TestSTAObservationMatchesRender(t *testing.T) {
	at := time.Date(2026, 11, 30, 7, 5, 0, 123456789, time.FixedZone("CET", 3600))
	suspect := map[string]float64{"pm10": 180.5, "qc.pm10": 3, "qct.pm10": 1<<2 | 1<<4}
	for _, tc := range []struct {
		name, device, field string
		t                   time.Time
		values              map[string]float64
		where               *orb.Point
		skip                bool
	}{
		{"plain", "air-1", "pm10", at, map[string]float64{"pm10": 23.1}, nil, false},
		{"passing flag", "air-1", "pm10", at, map[string]float64{"pm10": 23.1, "qc.pm10": 1}, nil, false},
		{"suspect with tests", "air-1", "pm10", at, suspect, nil, false},
		{"unknown flag", "air-1", "no2", at, map[string]float64{"no2": 0, "qc.no2": 7}, nil, false},
		{"tiny and huge", "air-1", "x", at, map[string]float64{"x": 1.5e-9}, nil, false},
		{"huge", "air-1", "x", at, map[string]float64{"x": -2.5e22}, nil, false},
		{"quote and unicode in the id", "o'neil-ä", "t", at, map[string]float64{"t": -12.5}, nil, false},
		{"markup in the id", "a<b>&c", "t", at, map[string]float64{"t": 1}, nil, false},
		{"mobile", "bike-1", "pm25", at, map[string]float64{"pm25": 4}, &orb.Point{9.1, 48.7}, false},
		{"whole second", "air-1", "pm10", at.Truncate(time.Second), map[string]float64{"pm10": 1}, nil, false},
		{"NaN", "air-1", "pm10", at, map[string]float64{"pm10": math.NaN()}, nil, true},
		{"infinite", "air-1", "pm10", at, map[string]float64{"pm10": math.Inf(1)}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := "http://127.0.0.1:8080" + staRoot
			got, ok := appendSTAObservation(nil, base, tc.device, tc.field, tc.t, tc.values)
			if ok == tc.skip {
				t.Fatalf("ok = %v, want %v", ok, !tc.skip)
			}
			if tc.skip {
				return
			}
			m := &staModel{base: base}
			st := &kessel.DeviceState{Device: kessel.Device{ID: tc.device, Kind: "air_quality"}}
			doc, err := m.render(m.observation(st, tc.field, tc.t, tc.values, tc.where), &staQuery{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if want = bytes.TrimSuffix(want, []byte("\n")); !bytes.Equal(got, want) {
				t.Fatalf("feed:\n%s\nREST:\n%s", got, want)
			}
		})
	}
}

// BenchmarkSTAObservations: rendering a batch of readings of five values
// each with their quality flags for the feed, nobody asked (as on an
// external broker, which does not tell who listens): "feed" is
// STAObservations, "map" the same Observations built as the REST path
// builds them (staModel.render, encoding/json), as the feed did before.
func BenchmarkSTAObservations(b *testing.B) {
	rs := make([]kessel.Reading, 500)
	for i := range rs {
		rs[i] = kessel.Reading{Device: "air-" + string(rune('a'+i%26)), Kind: "air_quality", Time: time.Unix(1764486000+int64(i), 0), Values: map[string]float64{
			"pm10": 21.5, "pm25": 11.25, "no2": 31, "temperature": 4.5, "humidity": 81,
			"qc.pm10": 1, "qc.pm25": 1, "qc.no2": 1, "qc.temperature": 1, "qc.humidity": 3, "qct.humidity": 4}}
	}
	perReading := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/reading")
	}
	b.Run("feed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(STAObservations("http://127.0.0.1:8080", rs, nil)) != 2500 {
				b.Fatal("not every value rendered")
			}
		}
		perReading(b)
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		m := &staModel{base: "http://127.0.0.1:8080" + staRoot}
		for b.Loop() {
			for i := range rs {
				st := &kessel.DeviceState{Device: kessel.Device{ID: rs[i].Device, Kind: rs[i].Kind}}
				for _, f := range fieldNames(rs[i].Values) {
					doc, err := m.render(m.observation(st, f, rs[i].Time, rs[i].Values, nil), &staQuery{})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := json.Marshal(doc); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		perReading(b)
	})
}
