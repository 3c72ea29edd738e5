package api

// staUnit is a SensorThings unitOfMeasurement; definition names the UCUM
// code ("ucum:<code>") where UCUM has one.
type staUnit struct {
	name, symbol, ucum string
}

// staUnitsByField are the units of the fields Kessel's device kinds
// report, used when a reading does not name its unit.
var staUnitsByField = map[string]staUnit{
	"pm10": {"microgram per cubic metre", "µg/m³", "ug/m3"}, "pm25": {"microgram per cubic metre", "µg/m³", "ug/m3"},
	"pm1": {"microgram per cubic metre", "µg/m³", "ug/m3"}, "pm4": {"microgram per cubic metre", "µg/m³", "ug/m3"},
	"no2": {"microgram per cubic metre", "µg/m³", "ug/m3"}, "o3": {"microgram per cubic metre", "µg/m³", "ug/m3"},
	"temperature": {"degree Celsius", "°C", "Cel"}, "surface_temperature": {"degree Celsius", "°C", "Cel"},
	"freezing_point": {"degree Celsius", "°C", "Cel"}, "humidity": {"percent", "%", "%"},
	"pressure": {"hectopascal", "hPa", "hPa"}, "wind": {"metre per second", "m/s", "m/s"}, "rain": {"millimetre", "mm", "mm"},
	"laeq": {"decibel (A-weighted)", "dB(A)", "dB"}, "lamax": {"decibel (A-weighted)", "dB(A)", "dB"},
	"level": {"centimetre", "cm", "cm"}, "fill": {"percent", "%", "%"}, "speed": {"kilometre per hour", "km/h", "km/h"},
	"vehicles": {"count", "1", "{count}"}, "occupied": {"count", "1", "{count}"}, "free": {"count", "1", "{count}"},
	"battery": {"volt", "V", "V"}, "wetness": {"fraction", "1", "1"}, "smoke": {"fraction", "1", "1"},
}

// staUnitsBySenML maps SenML units (RFC 8428 §12.1) a reading may carry.
var staUnitsBySenML = map[string]staUnit{
	"Cel": {"degree Celsius", "°C", "Cel"}, "%RH": {"percent relative humidity", "%", "%"}, "%": {"percent", "%", "%"},
	"ug/m3": {"microgram per cubic metre", "µg/m³", "ug/m3"}, "hPa": {"hectopascal", "hPa", "hPa"}, "Pa": {"pascal", "Pa", "Pa"},
	"dB": {"decibel", "dB", "dB"}, "m/s": {"metre per second", "m/s", "m/s"}, "cm": {"centimetre", "cm", "cm"},
	"m": {"metre", "m", "m"}, "V": {"volt", "V", "V"}, "lx": {"lux", "lx", "lx"}, "ppm": {"parts per million", "ppm", "[ppm]"},
}

// unitOfMeasurement answers the unit a reading named (SenML) or, without
// one, the field's default; an unknown unit is passed on by name.
func staUnitOf(field, given string) map[string]any {
	u, ok := staUnitsBySenML[given]
	if !ok && given != "" {
		u = staUnit{given, given, ""}
	} else if !ok {
		u, ok = staUnitsByField[field]
		if !ok {
			return map[string]any{"name": "unknown", "symbol": nil, "definition": nil}
		}
	}
	var def any
	if u.ucum != "" {
		def = "ucum:" + u.ucum
	}
	return map[string]any{"name": u.name, "symbol": u.symbol, "definition": def}
}
