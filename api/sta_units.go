package api

import "github.com/kessel-city/kessel"

// staUnitOf is a Datastream's unitOfMeasurement, from Kessel's one unit
// table (kessel.UnitOf: the reading's unit, else the device's, else the
// kind's default): name, symbol (the UCUM code where the display symbol
// is empty, as for counts) and definition, the UCUM code as a URI. A
// unit Kessel does not know is passed on by name, without a definition.
func staUnitOf(d *kessel.Device, r *kessel.Reading, field string) map[string]any {
	u, ok := kessel.UnitOf(d, r, field)
	if !ok {
		return map[string]any{"name": "unknown", "symbol": nil, "definition": nil}
	}
	name, symbol := u.Name, u.Symbol
	if name == "" {
		name = u.Symbol
	}
	if symbol == "" {
		symbol = u.UCUM
	}
	var def any
	if uri := u.UCUMURI(); uri != "" {
		def = uri
	}
	return map[string]any{"name": name, "symbol": symbol, "definition": def}
}
