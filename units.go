package kessel

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Unit is a unit of measurement: Symbol for people (µg/m³, °C; empty for
// a plain count or fraction), UCUM its code in the Unified Code for Units
// of Measure (case-sensitive form: ug/m3, Cel), Name in English words.
// A unit Kessel does not know has its given text as Symbol and no UCUM.
type Unit struct {
	Symbol string `json:"symbol"`
	UCUM   string `json:"ucum,omitempty"`
	Name   string `json:"name,omitempty"`
}

// UCUMURI is the unit's definition as a URI (the OGC definition server's
// UCUM namespace, the code percent-encoded), or "" without a UCUM code.
func (u Unit) UCUMURI() string {
	if u.UCUM == "" {
		return ""
	}
	return "http://www.opengis.net/def/uom/UCUM/0/" + url.PathEscape(u.UCUM)
}

// knownUnits are the units Kessel recognises, by UCUM code. Sound levels
// are dB[SPL] (decibel sound pressure level, re 20 µPa): UCUM has no code
// for the A weighting, which Symbol and Name carry.
var knownUnits = []Unit{
	{"µg/m³", "ug/m3", "microgram per cubic metre"},
	{"mg/m³", "mg/m3", "milligram per cubic metre"},
	{"ppm", "[ppm]", "part per million"},
	{"ppb", "[ppb]", "part per billion"},
	{"°C", "Cel", "degree Celsius"},
	{"K", "K", "kelvin"},
	{"%", "%", "percent"},
	{"hPa", "hPa", "hectopascal"},
	{"Pa", "Pa", "pascal"},
	{"dB(A)", "dB[SPL]", "decibel, A-weighted sound pressure level"},
	{"dB", "dB", "decibel"},
	{"mm", "mm", "millimetre"},
	{"cm", "cm", "centimetre"},
	{"m", "m", "metre"},
	{"m/s", "m/s", "metre per second"},
	{"km/h", "km/h", "kilometre per hour"},
	{"V", "V", "volt"},
	{"A", "A", "ampere"},
	{"W", "W", "watt"},
	{"lx", "lx", "lux"},
	{"W/m²", "W/m2", "watt per square metre"},
	{"°", "deg", "degree (angle)"},
	{"", "{count}", "count"},
	{"", "1", "fraction (0 to 1)"},
}

// unitAliases map other spellings to a UCUM code: SenML's unit names (RFC
// 8428 section 12.1: Cel, %RH, %EL, …) and common display symbols.
var unitAliases = map[string]string{
	"%RH": "%", "%EL": "%", "/": "1", "count": "{count}", "dBA": "dB[SPL]", "dB(A)": "dB[SPL]",
	"°C": "Cel", "µg/m³": "ug/m3", "μg/m³": "ug/m3", "mg/m³": "mg/m3", "ppm": "[ppm]", "ppb": "[ppb]",
	"W/m²": "W/m2", "°": "deg",
}

// defaultUnits are the units of the fields Kessel's device kinds report,
// by kind and field; kind "" holds fields whose unit is the same whatever
// the kind. The one table every output (JSON, GeoJSON, CSV, catalogue,
// SensorThings) takes units from.
var defaultUnits = map[string]map[string]string{
	"": {
		"pm1": "ug/m3", "pm4": "ug/m3", "pm10": "ug/m3", "pm25": "ug/m3", "pm2_5": "ug/m3", "no2": "ug/m3", "no": "ug/m3",
		"o3": "ug/m3", "so2": "ug/m3", "co": "mg/m3", "co2": "[ppm]",
		"temperature": "Cel", "humidity": "%", "pressure": "hPa", "laeq": "dB[SPL]", "lamax": "dB[SPL]", "la_min": "dB[SPL]",
		"la_max": "dB[SPL]", "wind": "m/s", "wind_speed": "m/s", "wind_direction": "deg", "rain": "mm", "illuminance": "lx",
		"surface_temperature": "Cel", "freezing_point": "Cel", "altitude": "m", "voltage": "V", "current": "A", "power": "W",
	},
	"noise":        {"la_avg": "dB[SPL]", "la_min": "dB[SPL]", "la_max": "dB[SPL]"},
	"traffic":      {"vehicles": "{count}", "speed": "km/h"},
	"parking":      {"occupied": "{count}", "free": "{count}"},
	"water_level":  {"level": "cm"},
	"road_surface": {"wetness": "1"},
	"waste_bin":    {"fill": "%"},
	"wildfire":     {"smoke": "1", "battery": "V"},
}

// LookupUnit returns the unit a text names: a UCUM code, a SenML unit or
// a display symbol Kessel knows; ok is false for any other text, which is
// then the returned unit's Symbol.
func LookupUnit(s string) (u Unit, ok bool) {
	code := s
	if c, alias := unitAliases[s]; alias {
		code = c
	}
	for _, k := range knownUnits {
		if k.UCUM == code {
			return k, true
		}
	}
	return Unit{Symbol: s}, false
}

// DefaultUnit returns the unit of field in readings of kind when neither
// the reading nor the device names one; ok is false when Kessel has none.
func DefaultUnit(kind, field string) (Unit, bool) {
	code, ok := defaultUnits[kind][field]
	if !ok {
		code, ok = defaultUnits[""][field]
	}
	if !ok {
		return Unit{}, false
	}
	return LookupUnit(code)
}

// UnitOf returns the unit of a field of a reading of device d (r may be
// nil), in this order of precedence: the unit the reading itself named
// (SenML u or bu: the sender's word on that very value), the device's
// units (device meta, the API or the config file), the default of the
// device's kind (DefaultUnit). ok is false when none says; a unit named
// but unknown to Kessel is returned as LookupUnit returns it.
func UnitOf(d *Device, r *Reading, field string) (Unit, bool) {
	if r != nil {
		if s := r.Units[field]; s != "" {
			u, _ := LookupUnit(s)
			return u, true
		}
	}
	kind := ""
	if d != nil {
		if s := d.Units[field]; s != "" {
			u, _ := LookupUnit(s)
			return u, true
		}
		kind = d.Kind
	}
	if kind == "" && r != nil {
		kind = r.Kind
	}
	return DefaultUnit(kind, field)
}

// MaxUnitLen is the longest unit text a device may declare, in bytes.
const MaxUnitLen = 32

// ValidateUnits checks a device's units: field names a reading may have
// and non-empty printable texts of at most MaxUnitLen bytes. It returns an
// EINVALID error naming the first bad entry.
func ValidateUnits(units map[string]string) error {
	for f, u := range units {
		if err := ValidateFieldName(f); err != nil {
			return Errorf(EINVALID, "units: %s", ErrorMessage(err))
		}
		if u == "" || len(u) > MaxUnitLen || !utf8.ValidString(u) || strings.ContainsFunc(u, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			return Errorf(EINVALID, "units: the unit of %q must be 1-%d printable characters (a UCUM code such as ug/m3 or Cel, or a SenML unit), not %q", f, MaxUnitLen, u)
		}
	}
	return nil
}
