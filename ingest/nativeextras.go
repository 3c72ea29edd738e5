package ingest

import "github.com/kessel-city/kessel"

// ReasonBadUnit: a unit a reading names that cannot be kept (empty, too
// long, control characters) or for a field it does not have.
const ReasonBadUnit = "bad_unit"

// nativeExtras reads a native reading's optional "link" (radio and
// transport data, numbers, kept apart from the values: Reading.Link) and
// "units" (a unit per field of values, as SenML's u: Reading.Units).
func nativeExtras(device string, n *nativeReading, r *kessel.Reading, lim Limits) *Rejection {
	if len(n.Link) > lim.MaxFields {
		return reject(ReasonTooManyFields, device, "%d link values; the limit is %d", len(n.Link), lim.MaxFields)
	}
	for k, raw := range n.Link {
		name := NormalizeField(k)
		if rej := checkField(device, "link key", k, name); rej != nil {
			return rej
		}
		v, rej := parseValue(device, k, raw)
		if rej != nil {
			return rej
		}
		if r.Link == nil {
			r.Link = make(map[string]float64, len(n.Link))
		}
		r.Link[name] = v
	}
	for k, u := range n.Units {
		name := NormalizeField(k)
		if _, ok := r.Values[name]; !ok {
			return reject(ReasonBadUnit, device, "units: %q is not among the values", k)
		}
		if err := kessel.ValidateUnits(map[string]string{name: u}); err != nil {
			return reject(ReasonBadUnit, device, "%s", kessel.ErrorMessage(err))
		}
		if r.Units == nil {
			r.Units = make(map[string]string, len(n.Units))
		}
		r.Units[name] = u
	}
	return nil
}
