package api

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/kessel-city/kessel"
)

// evalSTAFilter evaluates e for one entity; get resolves a property path (nil
// when the entity has no such property). Comparisons of values of
// different types, and with null, are false (ne: true), as in OData.
func evalSTAFilter(e staExpr, get func([]string) (any, error)) (any, error) {
	switch e := e.(type) {
	case staLit:
		return e.v, nil
	case staPath:
		return get(e.segs)
	case staUnary:
		x, err := evalSTAFilter(e.x, get)
		if err != nil {
			return nil, err
		}
		if e.op == "not" {
			b, _ := x.(bool)
			return !b, nil
		}
		if f, ok := x.(float64); ok {
			return -f, nil
		}
		return nil, nil
	case staBinary:
		l, err := evalSTAFilter(e.l, get)
		if err != nil {
			return nil, err
		}
		if b, _ := l.(bool); e.op == "and" && !b || e.op == "or" && b {
			return b, nil
		}
		r, err := evalSTAFilter(e.r, get)
		if err != nil {
			return nil, err
		}
		return staBinaryOp(e.op, l, r), nil
	case staCallExpr:
		if e.fn == "now" {
			return get([]string{"$now"})
		}
		args := make([]any, len(e.args))
		for i, a := range e.args {
			v, err := evalSTAFilter(a, get)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
		return staCall(e.fn, args)
	}
	return nil, nil
}

func staBinaryOp(op string, l, r any) any {
	switch op {
	case "and", "or":
		b, _ := r.(bool)
		return b
	case "add", "sub", "mul", "div", "mod":
		a, ok1 := l.(float64)
		b, ok2 := r.(float64)
		if !ok1 || !ok2 {
			return nil
		}
		return map[string]float64{"add": a + b, "sub": a - b, "mul": a * b, "div": a / b, "mod": math.Mod(a, b)}[op]
	}
	c, ok := staCompare(l, r)
	switch op {
	case "eq":
		return ok && c == 0 || l == nil && r == nil
	case "ne":
		return !(ok && c == 0 || l == nil && r == nil)
	case "gt":
		return ok && c > 0
	case "ge":
		return ok && c >= 0
	case "lt":
		return ok && c < 0
	}
	return ok && c <= 0 // le
}

// compareValues orders two values of one type; a time compares with text
// that parses as a time. ok is false for values that do not compare.
func staCompare(l, r any) (int, bool) {
	if _, ok := l.(time.Time); ok {
		if s, ok := r.(string); ok {
			r = parseTimeText(s)
		}
	}
	if rt, ok := r.(time.Time); ok {
		if s, ok := l.(string); ok {
			l = parseTimeText(s)
		}
		if lt, ok := l.(time.Time); ok {
			return lt.Compare(rt), true
		}
		return 0, false
	}
	switch a := l.(type) {
	case float64:
		if b, ok := r.(float64); ok {
			return staCmpFloat(a, b), true
		}
	case string:
		if b, ok := r.(string); ok {
			return strings.Compare(a, b), true
		}
	case bool:
		if b, ok := r.(bool); ok && a == b {
			return 0, true
		} else if ok {
			return map[bool]int{true: 1, false: -1}[a], true
		}
	case time.Time:
		if b, ok := r.(time.Time); ok {
			return a.Compare(b), true
		}
	}
	return 0, false
}

func staCmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func parseTimeText(s string) any {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	return s
}

func staCall(fn string, a []any) (any, error) {
	switch {
	case strings.HasPrefix(fn, "geo.") || strings.HasPrefix(fn, "st_"):
		return staGeoFunc(fn, a)
	case fn == "mindatetime":
		return time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), nil
	case fn == "maxdatetime":
		return time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), nil
	case fn == "substring":
		return staSubstring(a), nil
	}
	s0, _ := a[0].(string)
	if len(a) == 2 {
		s1, ok := a[1].(string)
		if !ok {
			return nil, nil
		}
		switch fn {
		case "substringof":
			return strings.Contains(s1, s0), nil
		case "startswith":
			return strings.HasPrefix(s0, s1), nil
		case "endswith":
			return strings.HasSuffix(s0, s1), nil
		case "concat":
			return s0 + s1, nil
		}
		return float64(strings.Index(s0, s1)), nil // indexof
	}
	switch fn {
	case "length":
		return float64(len(s0)), nil
	case "tolower":
		return strings.ToLower(s0), nil
	case "toupper":
		return strings.ToUpper(s0), nil
	case "trim":
		return strings.TrimSpace(s0), nil
	case "round", "floor", "ceiling":
		f, ok := a[0].(float64)
		if !ok {
			return nil, nil
		}
		return map[string]func(float64) float64{"round": math.Round, "floor": math.Floor, "ceiling": math.Ceil}[fn](f), nil
	}
	t, ok := a[0].(time.Time)
	if !ok {
		t, ok = parseTimeText(s0).(time.Time)
	}
	if !ok {
		return nil, nil
	}
	if fn == "totaloffsetminutes" {
		_, off := t.Zone()
		return float64(off / 60), nil
	}
	t = t.UTC()
	switch fn {
	case "date":
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
	case "time":
		return t.Format(staTimeOfDay), nil
	case "fractionalseconds":
		return float64(t.Nanosecond()) / 1e9, nil
	}
	return float64(map[string]int{"year": t.Year(), "month": int(t.Month()), "day": t.Day(), "hour": t.Hour(), "minute": t.Minute(), "second": t.Second()}[fn]), nil
}

// staGeoFunc answers the spatial functions on WGS84 lon,lat geometries:
// geo.distance in metres (great circle between points), geo.length in
// metres, and the relations for points against points and polygons.
func staGeoFunc(fn string, a []any) (any, error) {
	switch fn {
	case "st_disjoint":
		v, err := staGeoFunc("st_intersects", a)
		if b, ok := v.(bool); ok {
			return !b, err
		}
		return v, err
	}
	g0 := staGeometry(a[0])
	if g0 == nil {
		return nil, nil
	}
	if fn == "geo.length" {
		ls, ok := g0.(orb.LineString)
		if !ok {
			return nil, invalid("$filter: geo.length needs a LINESTRING")
		}
		return orbgeo.LengthHaversine(ls), nil
	}
	g1 := staGeometry(a[1])
	if g1 == nil {
		return nil, nil
	}
	if fn == "geo.distance" {
		p, ok1 := g0.(orb.Point)
		q, ok2 := g1.(orb.Point)
		if !ok1 || !ok2 {
			return nil, invalid("$filter: geo.distance is served between points (metres, great circle)")
		}
		return orbgeo.DistanceHaversine(p, q), nil
	}
	if p, ok := g0.(orb.Point); ok && fn == "st_equals" {
		q, ok := g1.(orb.Point)
		if !ok {
			return nil, invalid("$filter: st_equals is served between points")
		}
		return p.Equal(q), nil
	}
	if fn == "st_contains" {
		g0, g1 = g1, g0
	}
	p, ok := g0.(orb.Point)
	if !ok {
		if p, ok = g1.(orb.Point); !ok || fn == "st_within" {
			return nil, invalid("$filter: %s is served for a point against a point or a polygon", fn)
		}
		g1 = g0
	}
	switch g := g1.(type) {
	case orb.Point:
		return g.Equal(p), nil
	case orb.Polygon:
		return planar.PolygonContains(g, p), nil
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, p), nil
	}
	return nil, invalid("$filter: %s is served for a point against a point or a polygon", fn)
}

func staGeometry(v any) orb.Geometry {
	switch g := v.(type) {
	case orb.Geometry:
		return g
	case *geojson.Geometry:
		if g != nil {
			return g.Coordinates
		}
	}
	return nil
}

// parseWKT reads the WKT geography literals $filter takes: POINT(lon lat),
// LINESTRING(...) and POLYGON((...)...), in WGS84 degrees.
func staParseWKT(s string) (orb.Geometry, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ';'); strings.HasPrefix(strings.ToUpper(s), "SRID=") && i > 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return nil, invalid("$filter: %q is not WKT (POINT(lon lat) or POLYGON((lon lat, ...)))", s)
	}
	kind, body := strings.ToUpper(strings.TrimSpace(s[:open])), s[open+1:len(s)-1]
	switch kind {
	case "POINT":
		ls, err := staWKTPoints(body)
		if err != nil || len(ls) != 1 {
			return nil, invalid("$filter: POINT takes one lon lat pair, got %q", body)
		}
		return ls[0], nil
	case "LINESTRING":
		ls, err := staWKTPoints(body)
		if err != nil || len(ls) < 2 {
			return nil, invalid("$filter: LINESTRING needs at least two lon lat pairs")
		}
		return orb.LineString(ls), nil
	case "POLYGON":
		var poly orb.Polygon
		for _, ring := range strings.Split(body, "),") {
			ring = strings.Trim(strings.TrimSpace(ring), "()")
			ls, err := staWKTPoints(ring)
			if err != nil || len(ls) < 4 || ls[0] != ls[len(ls)-1] {
				return nil, invalid("$filter: each POLYGON ring needs at least 4 lon lat pairs, the last equal to the first")
			}
			poly = append(poly, orb.Ring(ls))
		}
		return poly, nil
	}
	return nil, invalid("$filter: WKT %q is not served; use POINT, LINESTRING or POLYGON", kind)
}

func staWKTPoints(s string) ([]orb.Point, error) {
	var out []orb.Point
	for _, pair := range strings.Split(s, ",") {
		f := strings.Fields(pair)
		if len(f) != 2 {
			return nil, invalid("bad pair")
		}
		lon, err1 := strconv.ParseFloat(f[0], 64)
		lat, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil || !kessel.ValidLonLat(lon, lat) {
			return nil, invalid("bad pair")
		}
		out = append(out, orb.Point{lon, lat})
	}
	return out, nil
}

// substring(s, start[, length]) counts characters from 0.
func staSubstring(a []any) any {
	s, ok := a[0].(string)
	start, ok2 := a[1].(float64)
	if !ok || !ok2 {
		return nil
	}
	r := []rune(s)
	from := int(math.Max(0, math.Min(start, float64(len(r)))))
	to := len(r)
	if len(a) == 3 {
		n, ok := a[2].(float64)
		if !ok {
			return nil
		}
		to = from + int(math.Max(0, math.Min(n, float64(len(r)-from))))
	}
	return string(r[from:to])
}
