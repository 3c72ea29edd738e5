package kessel

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Names that come from outside (device kinds, field names, department and
// district names) never reach Kessel's own namespaces. Kessel's own records
// (rules, usage, dead letters, alerts, the device journal) are stored under
// ReservedPrefix; a kind may not start with it or with '_', the prefix of
// the store's own columns. The rules are here once; every entry point
// (MQTT meta and readings, REST, the config file, TTS, airrohr, SenML)
// calls them.

// ReservedPrefix starts the name of every record Kessel stores for itself
// (kessel_rules, kessel_usage, kessel_deadletters, …). No device kind may
// start with it.
const ReservedPrefix = "kessel_"

// TagKeys are the tags a stored reading carries besides its kind. A field
// may not be named after one of them.
var TagKeys = []string{"correction", "department", "device", "district", "source"}

// ReservedFields are the names a reading's field may not take: the store's
// own columns (result, table, time; everything starting with '_' is
// refused too), the tag keys, lat and lon (a reading's location is stored
// under them) and empty (the placeholder of a reading without values).
var ReservedFields = append([]string{"empty", "lat", "lon", "result", "table", "time"}, TagKeys...)

// ValidateKind returns nil for an acceptable device kind (or ""), else an
// EINVALID error saying why: a kind is 1-64 lower-case letters, digits or
// '_', not starting with '_' or ReservedPrefix.
func ValidateKind(kind string) error {
	switch {
	case kind == "":
		return nil
	case !ValidFieldName(kind):
		return Errorf(EINVALID, "kind %q: use 1-64 lower-case letters, digits or '_'", kind)
	case ReservedKind(kind):
		return Errorf(EINVALID, "kind %q is reserved: a kind may not start with %q or '_'", kind, ReservedPrefix)
	}
	return nil
}

// ReservedKind reports whether kind lies in Kessel's own namespace.
func ReservedKind(kind string) bool {
	return strings.HasPrefix(kind, "_") || strings.HasPrefix(kind, ReservedPrefix)
}

// ValidateFieldName returns nil when name may name a value of a reading
// (ValidFieldName and not ReservedField), else an EINVALID error saying
// why. It does not allocate when name is acceptable.
func ValidateFieldName(name string) error {
	switch {
	case !ValidFieldName(name):
		return Errorf(EINVALID, "field %q: use 1-64 lower-case letters, digits or '_'", name)
	case ReservedField(name):
		return Errorf(EINVALID, "field %q is reserved: a field may not start with '_' nor be one of %s", name, strings.Join(ReservedFields, ", "))
	}
	return nil
}

// ReservedField reports whether name is one of ReservedFields or starts
// with '_'.
func ReservedField(name string) bool {
	if strings.HasPrefix(name, "_") {
		return true
	}
	switch name {
	case "empty", "lat", "lon", "result", "table", "time", "correction", "department", "device", "district", "source":
		return true
	}
	return false
}

// MaxTagValue is the longest department or district name, in bytes.
const MaxTagValue = 256

// ValidateTagValue returns nil when v may be stored as the tag what
// (department, district): valid UTF-8 of at most MaxTagValue bytes without
// control characters and without a backslash at its end or before ',', '='
// or ' ' (which line protocol cannot carry); else an EINVALID error naming
// what.
func ValidateTagValue(what, v string) error {
	if len(v) > MaxTagValue {
		return Errorf(EINVALID, "%s is %d bytes long; the limit is %d", what, len(v), MaxTagValue)
	}
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, "%s %q is not valid UTF-8", what, v)
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return Errorf(EINVALID, "%s %q contains a control character", what, v)
		}
	}
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && (i+1 == len(v) || strings.IndexByte(",= ", v[i+1]) >= 0) {
			return Errorf(EINVALID, "%s %q has a backslash at its end or before ',', '=' or ' ', which the store cannot carry", what, v)
		}
	}
	return nil
}

// MinTime and MaxTime bound the instants the store can hold (nanoseconds
// since 1970 in an int64, less the two values InfluxDB reserves).
var (
	MinTime = time.Unix(0, math.MinInt64+2).UTC()
	MaxTime = time.Unix(0, math.MaxInt64-1).UTC()
)

// ValidateTime returns nil when t lies in [MinTime, MaxTime], else an
// EINVALID error.
func ValidateTime(t time.Time) error {
	if t.Before(MinTime) || t.After(MaxTime) {
		return Errorf(EINVALID, "time %s is outside what the store can hold (%s to %s)",
			t.UTC().Format(time.RFC3339), MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
	}
	return nil
}

// ValidateValue returns nil for a finite number, else an EINVALID error
// naming field.
func ValidateValue(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Errorf(EINVALID, "value of %q is %v; only finite numbers are stored", field, v)
	}
	return nil
}
