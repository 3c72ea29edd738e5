package influx

import (
	"slices"
	"strconv"
	"strings"

	"github.com/kessel-city/kessel"
)

var stringEscaper = strings.NewReplacer(`"`, `\"`, `\`, `\\`, "\n", `\n`, "\r", `\r`)

// UnknownKind is the measurement of readings whose device has no kind.
const UnknownKind = "unknown"

func appendReading(b []byte, r *kessel.Reading) []byte {
	kind := r.Kind
	if kind == "" {
		kind = UnknownKind
	}
	b = appendEscaped(b, kind)
	// Tags in key order, as InfluxDB prefers.
	b = appendTag(b, "correction", r.Correction)
	b = appendTag(b, "department", r.Department)
	b = appendTag(b, "device", r.Device)
	b = appendTag(b, "district", r.District)
	b = appendTag(b, "source", r.Source)
	b = append(b, ' ')
	first := true
	b = appendValues(b, r.Values, &first)
	if len(r.Link) > 0 {
		b = appendFields(b, kessel.LinkNamespace+".", r.Link, &first) // link.rssi, …: see kessel.SplitAnnotation
	}
	if p := r.Location; p != nil {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, "lat="...)
		b = strconv.AppendFloat(b, p[1], 'g', -1, 64)
		b = append(b, ",lon="...)
		b = strconv.AppendFloat(b, p[0], 'g', -1, 64)
	}
	if first { // no field at all: line protocol needs one
		b = append(b, "empty=true"...)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, r.Time.UnixNano(), 10)
	return append(b, '\n')
}

// appendFields appends the finite values of m as fields named prefix+key,
// in key order; first says whether no field was written yet.
func appendFields(b []byte, prefix string, m map[string]float64, first *bool) []byte {
	return appendSome(b, prefix, m, first, false)
}

// appendSome is appendFields; with sparse, without the flags 1 of the
// values stored beside them (see appendValues).
func appendSome(b []byte, prefix string, m map[string]float64, first *bool, sparse bool) []byte {
	var stack [32]string
	keys := stack[:0]
	for k, v := range m {
		if !finite(v) || sparse && v == float64(kessel.FlagPass) && impliedPass(m, k) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !*first {
			b = append(b, ',')
		}
		*first = false
		b = append(b, prefix...)
		b = appendEscaped(b, k)
		b = append(b, '=')
		if flagField(prefix, k) { // quality flags are integers (qc.pm10=1i)
			b = strconv.AppendInt(b, int64(m[k]), 10)
			b = append(b, 'i')
			continue
		}
		b = strconv.AppendFloat(b, m[k], 'g', -1, 64)
	}
	return b
}

// flagField reports whether a field holds a quality flag or the tests
// behind one ("qc.<field>", "qct.<field>"), stored as integers.
func flagField(prefix, k string) bool {
	return prefix == "" && (strings.HasPrefix(k, "qc.") || strings.HasPrefix(k, "qct."))
}

func appendTag(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',')
	b = append(b, k...)
	b = append(b, '=')
	return appendEscaped(b, v)
}

// lineSpecial are the bytes a measurement, tag key, tag value or field key
// cannot hold as they are.
const lineSpecial = ",= \n\\"

// appendEscaped appends a measurement, tag key, tag value or field key,
// escaped for line protocol: ',', '=' and ' ' with a backslash, a newline
// as the two characters \n. InfluxDB reads a backslash as the escape of
// the next byte and refuses a name whose last byte is one, so a backslash
// before ',', '=', ' ' or at the end (which no escaping can carry) is
// written as U+FF3C (＼); any other backslash is kept. Kessel refuses such
// names where they enter (kessel.ValidateTagValue); this keeps one that
// got in from making a whole batch unwritable.
func appendEscaped(b []byte, s string) []byte {
	if !strings.ContainsAny(s, lineSpecial) {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ',', '=', ' ':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\\':
			if i+1 == len(s) || strings.IndexByte(",= ", s[i+1]) >= 0 {
				b = append(b, "\uFF3C"...)
			} else {
				b = append(b, c)
			}
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendDeadLetter(b []byte, d *kessel.DeadLetter) []byte {
	b = append(b, DeadLetterMeasurement...)
	b = appendTag(b, "reason", d.Reason)
	b = append(b, ' ')
	b = appendString(b, "detail", d.Detail)
	b = append(b, ',')
	b = appendString(b, "device", d.Device)
	b = append(b, ',')
	b = appendString(b, "payload", d.Payload)
	b = append(b, ',')
	b = appendString(b, "topic", d.Topic)
	b = append(b, ' ')
	b = strconv.AppendInt(b, d.Time.UnixNano(), 10)
	return append(b, '\n')
}

func appendString(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, '=', '"')
	b = append(b, stringEscaper.Replace(strings.ToValidUTF8(v, "\uFFFD"))...)
	return append(b, '"')
}
