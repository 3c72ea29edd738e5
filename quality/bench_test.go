package quality

import (
	"testing"
	"time"

	"github.com/kessel-city/kessel"
)

// BenchmarkCheck is the cost of quality control per message: one reading
// of four fields (an airrohr air-quality device), 1,000 devices in turn.
func BenchmarkCheck(b *testing.B) {
	cfg := Config{Corrections: []Correction{{Name: "sds011_rh", Version: 1, Method: MethodKappaKohler, Kind: "air_quality",
		Fields: []string{"pm10", "pm25"}, Kappa: 0.4}}}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	c := New(cfg, Options{})
	const devices = 1000
	ids := make([]string, devices)
	for i := range ids {
		ids[i] = "esp8266-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	rs := make([]kessel.Reading, devices)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &rs[i%devices]
		if r.Values == nil {
			r.Values = make(map[string]float64, 16)
		}
		clear(r.Values)
		r.Device, r.Kind, r.Time = ids[i%devices], "air_quality", base.Add(time.Duration(i/devices)*time.Minute)
		r.Values["pm10"], r.Values["pm25"] = float64(20+i%7), float64(10+i%5)
		r.Values["temperature"], r.Values["humidity"] = 5+float64(i%3)/10, 80
		c.Check(r, r.Time)
	}
}
