package quality

// Range is a closed interval [Min, Max] in the field's unit.
type Range struct {
	Min float64 `yaml:"min" json:"min"`
	Max float64 `yaml:"max" json:"max"`
}

func (r Range) contains(v float64) bool { return v >= r.Min && v <= r.Max }

// Quantity holds the test limits of one quantity (a field name such as
// pm10), in the field's unit.
type Quantity struct {
	// Gross is what the quantity can physically be; outside it a value
	// fails. A sensor type may narrow it (GrossRanges, "sds011/pm10").
	Gross *Range `yaml:"gross" json:"gross,omitempty"`
	// A spike is a value further from the median of the last values
	// than Abs + Rel × |median|; suspect at SpikeSuspect, fail at SpikeFail.
	SpikeSuspect Threshold `yaml:"spike_suspect" json:"spike_suspect"`
	SpikeFail    Threshold `yaml:"spike_fail" json:"spike_fail"`
	// RatePerMinute, when > 0, is the largest plausible change per
	// minute between two readings; beyond it a value is suspect.
	RatePerMinute float64 `yaml:"rate_per_minute" json:"rate_per_minute,omitempty"`
	// A flat line is a run of values that differ by at most FlatTolerance
	// from the one before: suspect from FlatSuspect values in a row, fail
	// from FlatFail. 0 turns the test off.
	FlatTolerance float64 `yaml:"flat_tolerance" json:"flat_tolerance,omitempty"`
	FlatSuspect   int     `yaml:"flat_suspect" json:"flat_suspect,omitempty"`
	FlatFail      int     `yaml:"flat_fail" json:"flat_fail,omitempty"`
}

// Threshold is Abs + Rel × |reference|; zero means the test is off.
type Threshold struct {
	Abs float64 `yaml:"abs" json:"abs,omitempty"`
	Rel float64 `yaml:"rel" json:"rel,omitempty"`
}

func (t Threshold) on() bool { return t.Abs > 0 || t.Rel > 0 }

func (t Threshold) at(ref float64) float64 {
	if ref < 0 {
		ref = -ref
	}
	return t.Abs + t.Rel*ref
}

func rng(lo, hi float64) *Range { return &Range{lo, hi} }

// Quantities are the default limits per field name. Gross ranges are
// physical bounds (a relative humidity beyond 0-100 %, a negative mass
// concentration); the spike, rate and flat-line limits are deliberately
// loose, for 1-10 minute reporting intervals, and meant to be tuned per
// city in the config file (quality.quantities).
var Quantities = map[string]Quantity{
	// Particulate matter, µg/m³. SDS011 and PMS sensors report to 0.1
	// µg/m³, so in clean air a run of equal values is normal: a flat line
	// is suspect only after 2 hours at 2.5-minute intervals.
	"pm1":  pmQuantity,
	"pm25": pmQuantity,
	"pm4":  pmQuantity,
	"pm10": pmQuantity,
	// Air temperature, °C (the world records are -89.2 and 56.7).
	"temperature": {Gross: rng(-90, 60), SpikeSuspect: Threshold{Abs: 5}, SpikeFail: Threshold{Abs: 15}, RatePerMinute: 2,
		FlatTolerance: 0, FlatSuspect: 144, FlatFail: 288},
	"surface_temperature": {Gross: rng(-60, 80), SpikeSuspect: Threshold{Abs: 8}, SpikeFail: Threshold{Abs: 20}, RatePerMinute: 3},
	"road_temperature":    {Gross: rng(-60, 80), SpikeSuspect: Threshold{Abs: 8}, SpikeFail: Threshold{Abs: 20}, RatePerMinute: 3},
	"dew_point":           {Gross: rng(-90, 40)},
	// Relative humidity, %. Saturation (fog) can hold 100 % for hours.
	"humidity": {Gross: rng(0, 100), SpikeSuspect: Threshold{Abs: 20}, SpikeFail: Threshold{Abs: 50}, RatePerMinute: 10},
	// Air pressure, hPa (records 870 and 1084; higher up it is lower).
	"pressure": {Gross: rng(300, 1100), SpikeSuspect: Threshold{Abs: 5}, SpikeFail: Threshold{Abs: 20}, RatePerMinute: 1},
	// Sound level, dB(A).
	"laeq":   {Gross: rng(0, 140)},
	"la_min": {Gross: rng(0, 140)},
	"la_max": {Gross: rng(0, 160)},
	// Gases, µg/m³ or ppm as the device reports them; never negative.
	"no2": {Gross: rng(0, 10000)},
	"o3":  {Gross: rng(0, 10000)},
	"co2": {Gross: rng(0, 50000)},
	// Water level (m above gauge zero may be negative) and wind.
	"wind_speed":    {Gross: rng(0, 120)},
	"precipitation": {Gross: rng(0, 500)},
	"battery":       {Gross: rng(0, 100)},
}

var pmQuantity = Quantity{Gross: rng(0, 2000),
	SpikeSuspect: Threshold{Abs: 30, Rel: 1}, SpikeFail: Threshold{Abs: 150, Rel: 4}, RatePerMinute: 0,
	FlatTolerance: 0, FlatSuspect: 48, FlatFail: 96}

// GrossRanges narrow a quantity's gross range for a sensor type: the
// range of what the sensor can report at all, from its data sheet. Keys
// are "sensor/field"; the sensor type is a device's "sensor" label.
var GrossRanges = map[string]Range{
	// Nova Fitness SDS011 data sheet V1.3: 0.0-999.9 µg/m³.
	"sds011/pm25": {0, 999.9}, "sds011/pm10": {0, 999.9},
	// Plantower PMS5003/7003: effective range 0-500, maximum 1000 µg/m³.
	"pms5003/pm1": {0, 1000}, "pms5003/pm25": {0, 1000}, "pms5003/pm10": {0, 1000},
	"pms7003/pm1": {0, 1000}, "pms7003/pm25": {0, 1000}, "pms7003/pm10": {0, 1000},
	// Bosch BME280: -40-85 °C, 0-100 %, 300-1100 hPa.
	"bme280/temperature": {-40, 85}, "bme280/humidity": {0, 100}, "bme280/pressure": {300, 1100},
	// Aosong DHT22: -40-80 °C, 0-100 %.
	"dht22/temperature": {-40, 80}, "dht22/humidity": {0, 100},
	// Sensirion SHT3x: -40-125 °C.
	"sht31/temperature": {-40, 125}, "sht31/humidity": {0, 100},
}
