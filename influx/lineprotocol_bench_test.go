package influx

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// benchReading is the bench's air-quality reading (five values, as
// ingest's BenchmarkDecodeQC decodes it), with the flags quality control
// gives it when qc: all passing, or pm10 suspect.
func benchReading(qc, suspect bool) kessel.Reading {
	r := kessel.Reading{Device: "air-0042", Kind: "air_quality", District: "Mitte", Department: "umwelt", Source: "native",
		Time:   time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC),
		Values: map[string]float64{"humidity": 72, "no2": 31.5, "pm10": 23.5, "pm25": 11.2, "temperature": 5.3}, Location: &orb.Point{13.4, 52.5}}
	if qc {
		for _, f := range []string{"humidity", "no2", "pm10", "pm25", "temperature"} {
			r.Values[kessel.FlagPrefix+f] = 1
		}
	}
	if suspect {
		r.Values["qc.pm10"], r.Values["qct.pm10"] = 3, 4
	}
	return r
}

// fieldsOf counts the fields of a line of line protocol without escapes.
func fieldsOf(line string) int {
	parts := strings.Split(strings.TrimSpace(line), " ")
	return strings.Count(parts[1], ",") + 1
}

// BenchmarkAppendReading is the line protocol of the bench's reading
// without quality control, with all values passing and with one suspect:
// bytes and fields per point are what InfluxDB has to store.
func BenchmarkAppendReading(b *testing.B) {
	for _, tc := range []struct {
		name        string
		qc, suspect bool
	}{{"qc=false", false, false}, {"qc=pass", true, false}, {"qc=suspect", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			r := benchReading(tc.qc, tc.suspect)
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf = appendReading(buf[:0], &r)
			}
			b.ReportMetric(float64(len(buf)), "bytes/point")
			b.ReportMetric(float64(fieldsOf(string(buf))), "fields/point")
		})
	}
}

// TestAppendReadingSparseFlags checks the fields stored of a reading:
// flags 1 of stored values left out with the marker beside, every other
// flag kept, and every flag kept where a stored value has none.
func TestAppendReadingSparseFlags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]float64
		want   string
	}{
		{"no quality control", map[string]float64{"pm10": 20, "pm25": 10}, "pm10=20,pm25=10"},
		{"all pass", map[string]float64{"pm10": 20, "qc.pm10": 1, "pm25": 10, "qc.pm25": 1}, "pm10=20,pm25=10," + qcMarker + "=1i"},
		{"one suspect", map[string]float64{"pm10": 20, "qc.pm10": 3, "qct.pm10": 4, "pm25": 10, "qc.pm25": 1}, "pm10=20,pm25=10,qc.pm10=3i,qct.pm10=4i," + qcMarker + "=1i"},
		{"not evaluated", map[string]float64{"pm10": 20, "qc.pm10": 2}, "pm10=20,qc.pm10=2i," + qcMarker + "=1i"},
		{"missing value", map[string]float64{"pm10": math.NaN(), "qc.pm10": 9, "pm25": 10, "qc.pm25": 1}, "pm25=10,qc.pm10=9i," + qcMarker + "=1i"},
		{"passing flag without its value", map[string]float64{"pm10": math.Inf(1), "qc.pm10": 1, "pm25": 10, "qc.pm25": 1}, "pm25=10,qc.pm10=1i," + qcMarker + "=1i"},
		{"a value without a flag", map[string]float64{"pm10": 20, "qc.pm10": 1, "o3": 60}, "o3=60,pm10=20,qc.pm10=1i"},
		{"corrected value", map[string]float64{"pm10": 20, "qc.pm10": 1, "cor.pm10": 18}, "cor.pm10=18,pm10=20," + qcMarker + "=1i"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := kessel.Reading{Device: "d", Kind: "air_quality", Time: time.Unix(0, 7), Values: tc.values}
			got := string(appendReading(nil, &r))
			if want := fmt.Sprintf("air_quality,device=d %s 7\n", tc.want); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}
