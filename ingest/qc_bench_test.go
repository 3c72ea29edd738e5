package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/quality"
)

// BenchmarkDecodeQC is ingest's decode of the bench's message (a native
// air-quality reading of five fields, 1,000 devices in turn) without and
// with quality control: the difference is what QC costs per message,
// the map growing to hold the flags included.
func BenchmarkDecodeQC(b *testing.B) {
	base := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	const devices = 1000
	topics := make([]string, devices)
	for i := range topics {
		topics[i] = fmt.Sprintf("kessel/devices/air-%04d/readings", i)
	}
	for _, qc := range []bool{false, true} {
		b.Run(fmt.Sprintf("qc=%v", qc), func(b *testing.B) {
			c := quality.New(quality.Config{}, quality.Options{})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ts := base.Add(time.Duration(i/devices) * time.Minute)
				payload := fmt.Appendf(nil, `{"ts":"%s","values":{"humidity":%d,"no2":31.5,"pm10":%d.5,"pm25":11.2,"temperature":5.%d}}`,
					ts.Format(time.RFC3339), 70+i%5, 20+i%7, i%10)
				dec, err := ingest.Decode(topics[i%devices], payload, ts, ingest.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if qc {
					for j := range dec.Readings {
						c.Check(&dec.Readings[j], ts)
					}
				}
			}
		})
	}
}
