package ingest

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// fastNative decodes the common shape of a native reading without
// reflection: an object with "ts" (string, number or null), "kind",
// "values" (numbers and booleans) and "location" (lon, lat). Anything else
// (escapes in strings, unknown or repeated keys, bad values, invalid JSON,
// a reading that must be rejected) returns ok=false, and the caller decodes
// with encoding/json, which accepts or rejects it with the exact reason.
// FuzzFastNative checks that whatever this accepts, the reference decoder
// accepts identically.
func fastNative(device string, p []byte, now time.Time, lim Limits) (r kessel.Reading, ok bool) {
	s := scanner{b: p}
	if !s.consume('{') {
		return r, false
	}
	r = kessel.Reading{Device: device, Source: "native", Time: now}
	var seenTS, seenKind, seenValues, seenLoc bool
	for first := true; ; first = false {
		key, more := s.member(first)
		if !more {
			break
		}
		switch {
		case key == "ts" && !seenTS:
			seenTS, ok = true, s.timestamp(&r.Time)
		case key == "kind" && !seenKind:
			seenKind = true
			r.Kind, ok = s.simpleString()
			ok = ok && kessel.ValidateKind(r.Kind) == nil
		case key == "values" && !seenValues:
			seenValues = true
			r.Values = make(map[string]float64, 8)
			ok = s.values(r.Values, lim.MaxFields)
		case key == "location" && !seenLoc:
			seenLoc = true
			r.Location, ok = s.location()
		default:
			ok = false
		}
		if !ok {
			return r, false
		}
	}
	s.ws()
	if s.err || s.i != len(s.b) || len(r.Values) == 0 || checkTime(r.Time, now, lim) != nil {
		return r, false
	}
	return r, true
}

// member reads up to the value of an object's next member (after its
// opening '{') and returns the member's key, a view into the payload (see
// view); more is false at the closing '}' and on a syntax error, which sets
// s.err.
func (s *scanner) member(first bool) (key string, more bool) {
	if s.consume('}') {
		return "", false
	}
	if !first && !s.consume(',') {
		s.err = true
		return "", false
	}
	key, ok := s.view()
	if !ok || !s.consume(':') {
		s.err = true
		return "", false
	}
	return key, true
}

// timestamp reads "ts": an RFC 3339 string, Unix seconds or null (which
// leaves t as it is).
func (s *scanner) timestamp(t *time.Time) bool {
	s.ws()
	switch {
	case s.peek() == '"':
		v, ok := s.view() // parsed, not kept
		if !ok {
			return false
		}
		ts, err := time.Parse(time.RFC3339Nano, v)
		*t = ts
		return err == nil
	case s.literal("null"):
		return true
	}
	f, ok := s.number()
	if !ok || f < 0 || f > 1e11 {
		return false
	}
	sec, frac := math.Modf(f)
	*t = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return true
}

// values reads "values": numbers and booleans (as 1 and 0) under field
// names a reading may have, at most maxFields of them, none twice.
func (s *scanner) values(into map[string]float64, maxFields int) bool {
	if !s.consume('{') {
		return false
	}
	for first := true; ; first = false {
		k, more := s.member(first)
		if !more {
			return !s.err
		}
		name := NormalizeField(k)
		if !kessel.ValidFieldName(name) || kessel.ReservedField(name) { // ValidateFieldName, inlined
			return false
		}
		if _, dup := into[name]; dup {
			return false
		}
		if unsafe.StringData(name) == unsafe.StringData(k) {
			name = strings.Clone(name) // unchanged by NormalizeField: still a view
		}
		s.ws()
		switch {
		case s.literal("true"):
			into[name] = 1
		case s.literal("false"):
			into[name] = 0
		default:
			f, ok := s.number()
			if !ok {
				return false
			}
			into[name] = f
		}
		if len(into) > maxFields {
			return false
		}
	}
}

// location reads "location": lon and lat, each once, a WGS84 position.
func (s *scanner) location() (*orb.Point, bool) {
	if !s.consume('{') {
		return nil, false
	}
	var lon, lat float64
	var hasLon, hasLat bool
	for first := true; ; first = false {
		k, more := s.member(first)
		if !more {
			break
		}
		f, ok := s.number()
		switch {
		case !ok:
			return nil, false
		case k == "lon" && !hasLon:
			lon, hasLon = f, true
		case k == "lat" && !hasLat:
			lat, hasLat = f, true
		default:
			return nil, false
		}
	}
	if s.err || !hasLon || !hasLat || !kessel.ValidLonLat(lon, lat) {
		return nil, false
	}
	return &orb.Point{lon, lat}, true
}

type scanner struct {
	b   []byte
	i   int
	err bool // a syntax error was met (see member)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// simpleString reads a JSON string of printable ASCII without escapes.
func (s *scanner) simpleString() (string, bool) {
	v, ok := s.view()
	return strings.Clone(v), ok // kept (the kind): a copy
}

// view reads a JSON string of printable ASCII without escapes and returns
// it without copying: a view into the payload, valid only while the
// payload is, so never to be kept (keys compared, or cloned to keep).
func (s *scanner) view() (string, bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return unsafe.String(unsafe.SliceData(s.b[start:j]), j-start), true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// number reads a JSON number (RFC 8259 grammar) as a finite float64.
func (s *scanner) number() (float64, bool) {
	s.ws()
	start, j := s.i, s.i
	b := s.b
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return 0, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return 0, false
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return 0, false
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b[start:j]), j-start), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	s.i = j
	return f, true
}
