package influx

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kessel-city/kessel"
)

var (
	measurementEscaper = strings.NewReplacer(",", `\,`, " ", `\ `, "\n", `\n`)
	keyEscaper         = strings.NewReplacer(",", `\,`, "=", `\=`, " ", `\ `, "\n", `\n`)
	stringEscaper      = strings.NewReplacer(`"`, `\"`, `\`, `\\`, "\n", `\n`, "\r", `\r`)
)

// UnknownKind is the measurement of readings whose device has no kind.
const UnknownKind = "unknown"

func appendReading(b []byte, r *kessel.Reading) []byte {
	kind := r.Kind
	if kind == "" {
		kind = UnknownKind
	}
	b = appendEscaped(b, kind, measurementEscaper, ", \n")
	// Tags in key order, as InfluxDB prefers.
	b = appendTag(b, "department", r.Department)
	b = appendTag(b, "device", r.Device)
	b = appendTag(b, "district", r.District)
	b = appendTag(b, "source", r.Source)
	b = append(b, ' ')
	var stack [16]string
	keys := stack[:0]
	for k, v := range r.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	first := true
	for _, k := range keys {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendEscaped(b, k, keyEscaper, keySpecial)
		b = append(b, '=')
		b = strconv.AppendFloat(b, r.Values[k], 'g', -1, 64)
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

func appendTag(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',')
	b = append(b, k...)
	b = append(b, '=')
	return appendEscaped(b, v, keyEscaper, keySpecial)
}

const keySpecial = ",= \n"

// appendEscaped appends s, escaped only when it holds a special character.
func appendEscaped(b []byte, s string, r *strings.Replacer, special string) []byte {
	if !strings.ContainsAny(s, special) {
		return append(b, s...)
	}
	return append(b, r.Replace(s)...)
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
