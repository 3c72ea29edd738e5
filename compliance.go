package kessel

import "fmt"

// validateExceedanceDays checks the fields of an exceedance_days rule, a
// compliance rule after the EU air quality directives:
//
//	{"id": "pm10-days", "kind": "air_quality", "field": "pm10",
//	 "condition": "exceedance_days", "threshold": 50, "count": 30}
//
// fires for a device once the calendar year (CET) has Count days whose
// daily mean of Field (from at least 18 hourly means) is above Threshold:
// "a station reached its 30th exceedance day this year". It stays firing
// for the rest of the year and resolves when the next year starts (its
// count is then 0), so it fires at most once per device and year. The
// days are counted from stored readings, not from the stream, so a
// restart neither loses nor repeats it. Op is ">" (the only one allowed;
// empty means it); Window, Silence, Clear, For, KeepFiringFor and Area
// do not apply.
func (r *Rule) validateExceedanceDays() error {
	bad := func(field, format string, args ...any) error {
		return Errorf(EINVALID, "rule %q: %s: %s", r.ID, field, fmt.Sprintf(format, args...))
	}
	switch {
	case !ValidFieldName(r.Field):
		return bad("field", "a field name such as pm10 is required")
	case r.Op != "" && r.Op != ">":
		return bad("op", "exceedance_days counts daily means above the threshold: use > or leave op out, not %q", r.Op)
	case r.Threshold <= 0:
		return bad("threshold", "a daily limit value such as 50 (µg/m³) is required")
	case r.Count < 1 || r.Count > 366:
		return bad("count", "the number of days that fires, 1 to 366, such as 30; not %d", r.Count)
	case r.Window != 0 || r.Silence != 0 || r.Clear != nil:
		return bad("window", "window, silence and clear do not apply to exceedance_days")
	case r.For != 0 || r.KeepFiringFor != 0:
		return bad("for", "for and keep_firing_for do not apply to exceedance_days")
	case r.Area:
		return bad("area", "exceedance_days is per device; area does not apply")
	}
	r.Op = ">"
	return nil
}
