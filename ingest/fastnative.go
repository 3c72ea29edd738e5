package ingest

import (
	"math"
	"strconv"
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
		if s.consume('}') {
			break
		}
		if !first && !s.consume(',') {
			return r, false
		}
		key, ok := s.simpleString()
		if !ok || !s.consume(':') {
			return r, false
		}
		switch key {
		case "ts":
			if seenTS {
				return r, false
			}
			seenTS = true
			s.ws()
			switch {
			case s.peek() == '"':
				v, ok := s.simpleString()
				if !ok {
					return r, false
				}
				t, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					return r, false
				}
				r.Time = t
			case s.literal("null"):
			default:
				f, ok := s.number()
				if !ok || f < 0 || f > 1e11 {
					return r, false
				}
				sec, frac := math.Modf(f)
				r.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
			}
		case "kind":
			if seenKind {
				return r, false
			}
			seenKind = true
			v, ok := s.simpleString()
			if !ok || kessel.ValidateKind(v) != nil {
				return r, false
			}
			r.Kind = v
		case "values":
			if seenValues || !s.consume('{') {
				return r, false
			}
			seenValues = true
			r.Values = make(map[string]float64, 8)
			for vfirst := true; ; vfirst = false {
				if s.consume('}') {
					break
				}
				if !vfirst && !s.consume(',') {
					return r, false
				}
				k, ok := s.simpleString()
				if !ok || !s.consume(':') {
					return r, false
				}
				name := NormalizeField(k)
				if kessel.ValidateFieldName(name) != nil {
					return r, false
				}
				if _, dup := r.Values[name]; dup {
					return r, false
				}
				s.ws()
				var v float64
				switch {
				case s.literal("true"):
					v = 1
				case s.literal("false"):
					v = 0
				default:
					f, ok := s.number()
					if !ok {
						return r, false
					}
					v = f
				}
				r.Values[name] = v
				if len(r.Values) > lim.MaxFields {
					return r, false
				}
			}
		case "location":
			if seenLoc || !s.consume('{') {
				return r, false
			}
			seenLoc = true
			var lon, lat float64
			var hasLon, hasLat bool
			for lfirst := true; ; lfirst = false {
				if s.consume('}') {
					break
				}
				if !lfirst && !s.consume(',') {
					return r, false
				}
				k, ok := s.simpleString()
				if !ok || !s.consume(':') {
					return r, false
				}
				f, ok := s.number()
				switch {
				case !ok:
					return r, false
				case k == "lon" && !hasLon:
					lon, hasLon = f, true
				case k == "lat" && !hasLat:
					lat, hasLat = f, true
				default:
					return r, false
				}
			}
			if !hasLon || !hasLat || !kessel.ValidLonLat(lon, lat) {
				return r, false
			}
			r.Location = &orb.Point{lon, lat}
		default:
			return r, false
		}
	}
	s.ws()
	if s.i != len(s.b) || len(r.Values) == 0 || checkTime(r.Time, now, lim) != nil {
		return r, false
	}
	return r, true
}

type scanner struct {
	b []byte
	i int
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
			return string(s.b[start:j]), true
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
