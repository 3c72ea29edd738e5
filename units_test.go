package kessel_test

import (
	"testing"

	"github.com/kessel-city/kessel"
)

// TestUnitOf: a reading's own unit beats the device's, which beats the
// kind's default; units are known by UCUM code, SenML name or symbol.
func TestUnitOf(t *testing.T) {
	air := &kessel.Device{ID: "air-1", Kind: "air_quality", Units: map[string]string{"no2": "mg/m3", "odd": "furlong"}}
	senml := &kessel.Reading{Kind: "air_quality", Units: map[string]string{"no2": "ppb", "temperature": "K"}}
	cases := []struct {
		name   string
		d      *kessel.Device
		r      *kessel.Reading
		field  string
		symbol string
		ucum   string
		ok     bool
	}{
		{"kind default", air, nil, "pm10", "µg/m³", "ug/m3", true},
		{"default for any kind", &kessel.Device{Kind: "wildfire"}, nil, "temperature", "°C", "Cel", true},
		{"kind-specific default", &kessel.Device{Kind: "water_level"}, nil, "level", "cm", "cm", true},
		{"noise level in UCUM", &kessel.Device{Kind: "noise"}, nil, "laeq", "dB(A)", "dB[SPL]", true},
		{"count has no symbol", &kessel.Device{Kind: "traffic"}, nil, "vehicles", "", "{count}", true},
		{"device overrides kind", air, nil, "no2", "mg/m³", "mg/m3", true},
		{"reading overrides device", air, senml, "no2", "ppb", "[ppb]", true},
		{"reading overrides kind", air, senml, "temperature", "K", "K", true},
		{"SenML name", nil, &kessel.Reading{Units: map[string]string{"humidity": "%RH"}}, "humidity", "%", "%", true},
		{"unknown unit passed on", air, nil, "odd", "furlong", "", true},
		{"reading's kind without device", nil, &kessel.Reading{Kind: "noise"}, "la_avg", "dB(A)", "dB[SPL]", true},
		{"no unit", air, nil, "mystery", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, ok := kessel.UnitOf(tc.d, tc.r, tc.field)
			if ok != tc.ok || u.Symbol != tc.symbol || u.UCUM != tc.ucum {
				t.Errorf("UnitOf = %+v, %v; want %q %q %v", u, ok, tc.symbol, tc.ucum, tc.ok)
			}
		})
	}
	if got := (kessel.Unit{UCUM: "ug/m3"}).UCUMURI(); got != "http://www.opengis.net/def/uom/UCUM/0/ug%2Fm3" {
		t.Errorf("UCUMURI = %s", got)
	}
}

func TestValidateUnits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		units map[string]string
		ok    bool
	}{
		{"none", nil, true},
		{"UCUM and SenML", map[string]string{"pm10": "ug/m3", "temp": "Cel", "rh": "%RH"}, true},
		{"dotted field", map[string]string{"link.rssi": "dBm"}, false},
		{"reserved field", map[string]string{"time": "s"}, false},
		{"empty unit", map[string]string{"pm10": ""}, false},
		{"control character", map[string]string{"pm10": "ug\n"}, false},
		{"too long", map[string]string{"pm10": "abcdefghijklmnopqrstuvwxyz0123456789"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := kessel.ValidateUnits(tc.units)
			if (err == nil) != tc.ok || err != nil && kessel.ErrorCode(err) != kessel.EINVALID {
				t.Errorf("ValidateUnits(%v) = %v", tc.units, err)
			}
			d := kessel.Device{ID: "d", Kind: "air_quality", Visibility: kessel.Public, Units: tc.units}
			if err := d.Validate(); (err == nil) != tc.ok {
				t.Errorf("Device.Validate = %v", err)
			}
		})
	}
}
