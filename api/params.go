package api

import (
	"encoding/base64"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

// Documented limits of list parameters.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
	MaxRadius    = 50_000.0 // metres
	MaxK         = 1000
)

func parseFloats(name, s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, invalid("%s must be %d comma-separated numbers, got %q", name, n, s)
	}
	out := make([]float64, n)
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, invalid("%s: %q is not a number", name, p)
		}
		out[i] = f
	}
	return out, nil
}

func parsePoint(name, s string) (orb.Point, error) {
	f, err := parseFloats(name, s, 2)
	if err != nil {
		return orb.Point{}, err
	}
	if !kessel.ValidLonLat(f[0], f[1]) {
		return orb.Point{}, invalid("%s must be lon,lat in WGS84 degrees (lon first), got %q", name, s)
	}
	return orb.Point{f[0], f[1]}, nil
}

func parseBBox(s string) (orb.Bound, error) {
	f, err := parseFloats("bbox", s, 4)
	if err != nil {
		return orb.Bound{}, err
	}
	if !kessel.ValidLonLat(f[0], f[1]) || !kessel.ValidLonLat(f[2], f[3]) {
		return orb.Bound{}, invalid("bbox must be minLon,minLat,maxLon,maxLat in WGS84 degrees, got %q", s)
	}
	if f[0] > f[2] || f[1] > f[3] {
		return orb.Bound{}, invalid("bbox minimum must not exceed its maximum (minLon,minLat,maxLon,maxLat), got %q", s)
	}
	return orb.Bound{Min: orb.Point{f[0], f[1]}, Max: orb.Point{f[2], f[3]}}, nil
}

func parseRadius(s string) (float64, error) {
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(r) || r <= 0 || r > MaxRadius {
		return 0, invalid("radius must be a number of metres in (0, %g], got %q", MaxRadius, s)
	}
	return r, nil
}

// deviceQuery reads the filters shared by /devices and /latest.
func (s *server) deviceQuery(v url.Values) (kessel.DeviceQuery, error) {
	q := kessel.DeviceQuery{Kind: v.Get("kind"), Department: v.Get("department")}
	if q.Kind != "" && !kessel.ValidFieldName(q.Kind) {
		return q, invalid("kind %q: use lower-case letters, digits and '_'", q.Kind)
	}
	if d := v.Get("district"); d != "" {
		if s.districts == nil {
			return q, invalid("district filter: no districts are configured")
		}
		dist, ok := s.districts.Get(d)
		if !ok {
			return q, invalid("district %q is unknown; see /api/v1/districts", d)
		}
		q.District = dist.Name
	}
	if b := v.Get("bbox"); b != "" {
		bb, err := parseBBox(b)
		if err != nil {
			return q, err
		}
		q.BBox = &bb
	}
	near, radius := v.Get("near"), v.Get("radius")
	switch {
	case near != "" && radius == "":
		return q, invalid("near needs radius (metres)")
	case near == "" && radius != "":
		return q, invalid("radius needs near=lon,lat")
	case near != "":
		p, err := parsePoint("near", near)
		if err != nil {
			return q, err
		}
		r, err := parseRadius(radius)
		if err != nil {
			return q, err
		}
		q.Near, q.Radius = &p, r
	}
	if w := v.Get("within"); w != "" {
		if s.districts == nil {
			return q, invalid("within: no districts are configured")
		}
		dist, ok := s.districts.Get(w)
		if !ok {
			return q, invalid("within: district %q is unknown", w)
		}
		q.Within = dist.Geometry
	}
	return q, nil
}

// page reads limit and cursor; the cursor is an opaque offset.
func page(v url.Values) (offset, limit int, err error) {
	limit = DefaultLimit
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, 0, invalid("limit must be a whole number from 1 to %d, got %q", MaxLimit, l)
		}
		limit = n
	}
	if c := v.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "o") || n < 0 {
			return 0, 0, invalid("cursor %q is not one this API issued", c)
		}
		offset = n
	}
	return offset, limit, nil
}

func cursorFor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

// parseTime accepts RFC 3339, "now", or a negative offset from now such as
// -24h, -90m or -7d.
func parseTime(name, s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if strings.HasPrefix(s, "-") {
		d, err := parseDuration(s[1:])
		if err != nil {
			return time.Time{}, invalid("%s: %q is neither RFC 3339 nor a relative time like -24h or -7d", name, s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid("%s: %q is neither RFC 3339 (2026-11-23T08:00:00Z) nor a relative time like -24h", name, s)
	}
	return t, nil
}

// parseDuration is time.ParseDuration plus a "d" (24h) unit.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100000 {
			return 0, invalid("bad duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, invalid("bad duration %q", s)
	}
	return d, nil
}
