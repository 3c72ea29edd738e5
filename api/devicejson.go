package api

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The device collections (/devices, /latest) are the API's largest
// answers: a district of a dense city is a thousand devices. encoding/json
// spent a third of such a request reflecting over them, so these append
// the same bytes directly (TestDeviceJSONMatchesEncodingJSON holds them to
// encoding/json's output with SetEscapeHTML(false)).

// pageLinks say where the next page of a list is: its cursor and URL;
// both empty on the last page.
type pageLinks struct{ cursor, url string }

// appendDeviceList appends the JSON list answer and encoding/json's
// trailing newline.
func appendDeviceList(b []byte, items []deviceJSON, total int, next pageLinks) []byte {
	b = append(b, `{"items":[`...)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDevice(b, &items[i])
	}
	b = append(b, `],"count":`...)
	b = strconv.AppendInt(b, int64(len(items)), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	if next.cursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = appendJSONString(b, next.cursor)
		b = append(b, `,"next":`...)
		b = appendJSONString(b, next.url)
	}
	return append(b, "}\n"...)
}

// appendFeatureCollection appends the GeoJSON answer: each device a
// Feature with its location as a Point geometry (null without one) and
// everything else as flat properties (appendFlatDevice); a "links" member
// with rel=next points to the next page.
func appendFeatureCollection(b []byte, items []deviceJSON, next pageLinks) []byte {
	b = append(b, `{"type":"FeatureCollection","features":[`...)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		d := items[i]
		b = append(b, `{"type":"Feature"`...)
		if d.ID != "" {
			b = append(b, `,"id":`...)
			b = appendJSONString(b, d.ID)
		}
		b = append(b, `,"geometry":`...)
		if d.Location != nil {
			b = append(b, `{"type":"Point","coordinates":[`...)
			b = appendJSONFloat(b, d.Location.Lon)
			b = append(b, ',')
			b = appendJSONFloat(b, d.Location.Lat)
			b = append(b, "]}"...)
		} else {
			b = append(b, "null"...)
		}
		d.Location = nil
		b = append(b, `,"properties":`...)
		b = appendFlatDevice(b, &d)
		b = append(b, '}')
	}
	b = append(b, "]"...)
	if next.cursor != "" {
		b = append(b, `,"links":[{"href":`...)
		b = appendJSONString(b, next.url)
		b = append(b, `,"rel":"next","type":"`+mediaGeoJSON+`"}],"next_cursor":`...)
		b = appendJSONString(b, next.cursor)
	}
	return append(b, "}\n"...)
}

// appendDevice appends d as encoding/json would (field order and
// omitempty as in deviceJSON's tags).
func appendDevice(b []byte, d *deviceJSON) []byte {
	b = appendDeviceHead(b, d)
	if d.Latest != nil {
		b = append(b, `,"latest":`...)
		b = appendReading(b, d.Latest)
	}
	return append(b, '}')
}

// appendDeviceHead appends d's properties up to distance_m, without the
// latest reading and the closing brace.
func appendDeviceHead(b []byte, d *deviceJSON) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, d.ID)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, d.Kind)
	if d.Name != "" {
		b = append(b, `,"name":`...)
		b = appendJSONString(b, d.Name)
	}
	if d.Location != nil {
		b = append(b, `,"location":`...)
		b = appendLonLat(b, d.Location)
	}
	if d.District != "" {
		b = append(b, `,"district":`...)
		b = appendJSONString(b, d.District)
	}
	if d.Department != "" {
		b = append(b, `,"department":`...)
		b = appendJSONString(b, d.Department)
	}
	b = append(b, `,"visibility":`...)
	b = appendJSONString(b, string(d.Visibility))
	if d.Class != "" {
		b = append(b, `,"measurement_class":`...)
		b = appendJSONString(b, string(d.Class))
	}
	if len(d.Labels) > 0 {
		b = append(b, `,"labels":`...)
		b = appendStrings(b, d.Labels)
	}
	if len(d.Units) > 0 {
		b = append(b, `,"units":`...)
		b = appendStrings(b, d.Units)
	}
	if len(d.Levels) > 0 { // rare: encoding/json's own form
		if lv, err := json.Marshal(d.Levels); err == nil {
			b = append(b, `,"levels":`...)
			b = append(b, lv...)
		}
	}
	b = append(b, `,"created_at":`...)
	b = appendJSONTime(b, d.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendJSONTime(b, d.UpdatedAt)
	if d.LastSeen != nil {
		b = append(b, `,"last_seen":`...)
		b = appendJSONTime(b, *d.LastSeen)
	}
	if d.Distance != nil {
		b = append(b, `,"distance_m":`...)
		b = appendJSONFloat(b, *d.Distance)
	}
	return b
}

// appendReading appends l as encoding/json would.
func appendReading(b []byte, l *readingJSON) []byte {
	b = append(b, `{"time":`...)
	b = appendJSONTime(b, l.Time)
	b = append(b, `,"values":`...)
	if l.Values == nil {
		b = append(b, "null"...)
	} else {
		b = appendNumbers(b, l.Values)
	}
	b = appendQC(b, l)
	if len(l.Units) > 0 {
		b = append(b, `,"units":`...)
		b = appendObject(b, l.Units, func(b []byte, u unitJSON) []byte {
			b = append(b, `{"symbol":`...)
			b = appendJSONString(b, u.Symbol)
			if u.UCUM != "" {
				b = append(b, `,"ucum":`...)
				b = appendJSONString(b, u.UCUM)
			}
			return append(b, '}')
		})
	}
	if len(l.Link) > 0 {
		b = append(b, `,"link":`...)
		b = appendNumbers(b, l.Link)
	}
	if l.Location != nil {
		b = append(b, `,"location":`...)
		b = appendLonLat(b, l.Location)
	}
	return append(b, '}')
}

// appendObject appends m as a JSON object, keys sorted, each value
// written by value.
func appendObject[V any](b []byte, m map[string]V, value func([]byte, V) []byte) []byte {
	b = append(b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = value(b, m[k])
	}
	return append(b, '}')
}

// appendStrings appends m as a JSON object, keys sorted.
func appendStrings(b []byte, m map[string]string) []byte { return appendObject(b, m, appendJSONString) }

// appendNumbers appends m as a JSON object, keys sorted.
func appendNumbers(b []byte, m map[string]float64) []byte { return appendObject(b, m, appendJSONFloat) }

// appendQC appends a reading's quality flags, the tests behind them and
// its corrected values, as encoding/json would (see readingJSON).
func appendQC(b []byte, l *readingJSON) []byte {
	if len(l.QC) > 0 {
		b = append(b, `,"qc":`...)
		b = appendObject(b, l.QC, func(b []byte, f int) []byte { return strconv.AppendInt(b, int64(f), 10) })
	}
	if len(l.QCTests) > 0 {
		b = append(b, `,"qc_tests":`...)
		b = appendObject(b, l.QCTests, func(b []byte, tests []string) []byte {
			b = append(b, '[')
			for j, t := range tests {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, t)
			}
			return append(b, ']')
		})
	}
	if len(l.Corrected) > 0 {
		b = append(b, `,"corrected":`...)
		b = appendNumbers(b, l.Corrected)
		if l.Correction != "" {
			b = append(b, `,"correction":`...)
			b = appendJSONString(b, l.Correction)
		}
	}
	return b
}

func appendLonLat(b []byte, p *lonLat) []byte {
	b = append(b, `{"lon":`...)
	b = appendJSONFloat(b, p.Lon)
	b = append(b, `,"lat":`...)
	b = appendJSONFloat(b, p.Lat)
	return append(b, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// appendJSONString quotes s as encoding/json does without HTML escaping;
// strings of printable ASCII (all ids, kinds and names in practice) take
// the fast path.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			// rare: let encoding/json escape it, as the answers are encoded
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s)
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONFloat formats f as encoding/json does: the shortest
// representation, in exponent form below 1e-6 and from 1e21, with a
// one-digit negative exponent not padded. NaN and infinities, which
// encoding/json refuses, become null.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b) - start; n >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

// appendJSONTime formats t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds as needed).
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
