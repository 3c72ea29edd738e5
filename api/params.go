package api

import (
	"encoding/base64"
	"math"
	"net/url"
	"slices"
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
	if err := checkKind(q.Kind); err != nil {
		return q, err
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

// page is a slice of a list: the cursor's offset and the limit.
type page struct{ offset, limit int }

// maxOffset bounds a cursor's offset: no list is longer.
const maxOffset = 1 << 30

// parsePage reads limit and cursor; the cursor is an opaque offset, and
// only a cursor this API could have issued is taken.
func parsePage(v url.Values) (page, error) {
	pg := page{limit: DefaultLimit}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxLimit {
			return pg, invalid("limit must be a whole number from 1 to %d, got %q", MaxLimit, l)
		}
		pg.limit = n
	}
	if c := v.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		digits, ok := strings.CutPrefix(string(b), "o")
		n, err2 := strconv.Atoi(digits)
		if err != nil || err2 != nil || !ok || n < 0 || n > maxOffset || cursorFor(n) != c {
			return pg, invalid("cursor %q is not one this API issued; follow next_cursor or the Link header of the previous page", c)
		}
		pg.offset = n
	}
	return pg, nil
}

func cursorFor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

// checkKind refuses a kind filter that no device kind can match.
func checkKind(kind string) error {
	if kind != "" && !kessel.ValidFieldName(kind) {
		return invalid("kind %q: use lower-case letters, digits and '_'", kind)
	}
	return nil
}

// The instants the store can be asked for: nanoseconds since 1970 in an
// int64, and none before 1970 (InfluxDB reads a range bound at or before
// the epoch as none: a range ending in 1969 answered every reading up to
// now).
var (
	minTime = time.Unix(0, 1).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// parseTime accepts RFC 3339, "now", or a negative offset from now such as
// -24h, -90m or -7d, between minTime and maxTime.
func parseTime(name, s string, now time.Time) (time.Time, error) {
	t := now
	switch {
	case s == "now":
	case strings.HasPrefix(s, "-"):
		d, err := parseDuration(s[1:])
		if err != nil {
			return time.Time{}, invalid("%s: %q is neither RFC 3339 nor a relative time like -24h or -7d", name, s)
		}
		t = now.Add(-d)
	default:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, invalid("%s: %q is neither RFC 3339 (2026-11-23T08:00:00Z) nor a relative time like -24h", name, s)
		}
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, invalid("%s: %s is outside the stored range, %s to %s", name, s, minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339))
	}
	return t, nil
}

// parseRange reads from and to, defaulting to from and to, and demands
// from before to.
func parseRange(v url.Values, now, from, to time.Time) (time.Time, time.Time, error) {
	var err error
	if f := v.Get("from"); f != "" {
		if from, err = parseTime("from", f, now); err != nil {
			return from, to, err
		}
	}
	if t := v.Get("to"); t != "" {
		if to, err = parseTime("to", t, now); err != nil {
			return from, to, err
		}
	}
	if !from.Before(to) {
		return from, to, invalid("from (%s) must be before to (%s)", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	}
	return from, to, nil
}

// span is the time range and aggregation of a history request.
type span struct {
	from, to time.Time
	every    time.Duration // 0: raw readings
	fn       string
	// resolution is the stored resolution asked for (resolution=raw,
	// 1h or 1d); "" lets the store choose.
	resolution string
}

// spanDefaults are what a history request gets for what it leaves out.
type spanDefaults struct {
	span      time.Duration // from = to - span; to defaults to now
	every     time.Duration // 0: raw unless every is given
	fn        string        // the aggregate when every is given without fn
	maxPoints int           // most windows per field
}

// maxStreamWindows bounds the windows of a streamed (CSV) aggregate: a
// year of minutes.
const maxStreamWindows = 366 * 24 * 60

// parseSpan reads from, to, every and fn of a history request.
func parseSpan(v url.Values, now time.Time, d spanDefaults) (span, error) {
	from, to, err := parseRange(v, now, now.Add(-d.span), now)
	sp := span{from: from, to: to, every: d.every, fn: v.Get("fn")}
	if err != nil {
		return sp, err
	}
	if sp.fn != "" && !kessel.ValidAggregate(sp.fn) {
		return sp, invalid("fn %q is unknown; use one of %s", sp.fn, strings.Join(kessel.Aggregates, ", "))
	}
	if err := sp.parseResolution(v); err != nil {
		return sp, err
	}
	if e := v.Get("every"); e != "" {
		sp.every, err = parseDuration(e)
		if err != nil || sp.every < time.Minute || sp.every > 31*24*time.Hour {
			return sp, invalid("every must be a duration from 1m to 31d (e.g. 15m, 1h, 1d), got %q", e)
		}
	}
	if sp.every == 0 {
		if sp.fn != "" {
			return sp, invalid("fn needs every (the window length, e.g. every=1h)")
		}
		return sp, nil
	}
	if sp.fn == "" {
		sp.fn = d.fn
	}
	if windows := int64(to.Sub(from) / sp.every); windows > int64(d.maxPoints) {
		e := v.Get("every")
		if e == "" {
			e = sp.every.String()
		}
		return sp, invalid("every=%s gives %d points per field, more than the maximum of %d; use every=%s or larger",
			e, windows, d.maxPoints, suggestEvery(to.Sub(from), d.maxPoints))
	}
	return sp, nil
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

// parseResolution reads resolution=raw|1h|1d; a rollup resolution without
// every asks for its own windows (every=1h or 1d).
func (sp *span) parseResolution(v url.Values) error {
	sp.resolution = v.Get("resolution")
	switch {
	case sp.resolution == "":
	case !slices.Contains(kessel.Resolutions, sp.resolution):
		return invalid("resolution %q is unknown; use raw (every reading, kept for the raw retention window), 1h or 1d (rollups: mean, min, max, count)", sp.resolution)
	case sp.resolution != kessel.ResolutionRaw && v.Get("every") == "":
		sp.every = kessel.ResolutionWindow(sp.resolution)
	}
	return nil
}
