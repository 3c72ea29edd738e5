package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/kessel-city/kessel"
)

// ogcQuery is a parsed items request.
type ogcQuery struct {
	offset, limit int
	boxes         []orb.Bound // bbox; two boxes when it crosses the antimeridian
	from, to      time.Time   // datetime; a zero end is open
	hasTime       bool
}

func (s *server) parseOGCQuery(v url.Values) (ogcQuery, error) {
	q := ogcQuery{limit: OGCDefaultLimit}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return q, invalid("limit must be a whole number of at least 1 (at most %d are served), got %q", OGCMaxLimit, l)
		}
		q.limit = min(n, OGCMaxLimit)
	}
	if c := v.Get("cursor"); c != "" {
		pg, err := parsePage(url.Values{"cursor": {c}}) // the REST API's cursors
		if err != nil {
			return q, err
		}
		q.offset = pg.offset
	}
	var err error
	if b := v.Get("bbox"); b != "" {
		if q.boxes, err = parseOGCBBox(b); err != nil {
			return q, err
		}
	}
	if d := v.Get("datetime"); d != "" {
		if q.from, q.to, err = parseDatetime(d); err != nil {
			return q, err
		}
		q.hasTime = true
	}
	return q, nil
}

// parseOGCBBox reads bbox=minLon,minLat,maxLon,maxLat (or the six numbers
// of a 3D box, whose heights are ignored) in CRS84. A box whose minLon is
// greater than its maxLon crosses the antimeridian.
func parseOGCBBox(s string) ([]orb.Bound, error) {
	n := strings.Count(s, ",") + 1
	if n != 4 && n != 6 {
		return nil, invalid("bbox must be minLon,minLat,maxLon,maxLat (or 6 numbers with heights), got %q", s)
	}
	f, err := parseFloats("bbox", s, n)
	if err != nil {
		return nil, err
	}
	if n == 6 {
		f = []float64{f[0], f[1], f[3], f[4]}
	}
	if !kessel.ValidLonLat(f[0], f[1]) || !kessel.ValidLonLat(f[2], f[3]) || f[1] > f[3] {
		return nil, invalid("bbox must be minLon,minLat,maxLon,maxLat in WGS84 degrees with minLat <= maxLat, got %q", s)
	}
	if f[0] > f[2] {
		return []orb.Bound{{Min: orb.Point{f[0], f[1]}, Max: orb.Point{180, f[3]}}, {Min: orb.Point{-180, f[1]}, Max: orb.Point{f[2], f[3]}}}, nil
	}
	return []orb.Bound{{Min: orb.Point{f[0], f[1]}, Max: orb.Point{f[2], f[3]}}}, nil
}

// parseDatetime reads an RFC 3339 instant or an interval "start/end" whose
// ends may be open (".." or empty).
func parseDatetime(s string) (from, to time.Time, err error) {
	bad := func() error {
		return invalid("datetime must be an RFC 3339 date-time or an interval start/end with '..' for an open end (2026-11-23T08:00:00Z, 2026-11-23T00:00:00Z/.., ../2026-11-24T00:00:00Z), got %q", s)
	}
	end := func(p string) (time.Time, error) {
		if p == ".." || p == "" {
			return time.Time{}, nil
		}
		return time.Parse(time.RFC3339Nano, p)
	}
	a, b, interval := strings.Cut(s, "/")
	if !interval {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return from, to, bad()
		}
		return t, t, nil
	}
	if strings.Contains(b, "/") {
		return from, to, bad()
	}
	if from, err = end(a); err != nil {
		return from, to, bad()
	}
	if to, err = end(b); err != nil {
		return from, to, bad()
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return from, to, invalid("datetime: the interval's end %s is before its start %s", b, a)
	}
	return from, to, nil
}

// match reports whether an item passes the query's bbox and datetime.
func (q *ogcQuery) match(l *ogcLayer, it *ogcItem, now time.Time) bool {
	if q.boxes != nil {
		hit := false
		for _, b := range q.boxes {
			hit = hit || intersects(it.geom, b)
		}
		if !hit {
			return false
		}
	}
	if q.hasTime && l.temporal {
		if it.from.IsZero() {
			return false
		}
		to := it.to
		if it.ongoing {
			to = now
		}
		if (!q.to.IsZero() && it.from.After(q.to)) || (!q.from.IsZero() && to.Before(q.from)) {
			return false
		}
	}
	return true
}

func (s *server) handleOGCItems() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := s.parseOGCQuery(r.URL.Query())
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		l, ok := s.ogcLayerOf(w, r)
		if !ok {
			return
		}
		now := s.opts.Now()
		matched := make([]*ogcItem, 0, len(l.items))
		for i := range l.items {
			if q.match(l, &l.items[i], now) {
				matched = append(matched, &l.items[i])
			}
		}
		pageItems := matched[min(q.offset, len(matched)):min(q.offset+q.limit, len(matched))]
		b := append(make([]byte, 0, 512*len(pageItems)+1024), `{"type":"FeatureCollection","features":[`...)
		for i, it := range pageItems {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendFeature(b, l, it, nil); err != nil {
				s.errorResponse(w, r, err)
				return
			}
		}
		links, err := marshalNoEscape(s.itemsLinks(r, l, q, len(matched)))
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		b = append(append(append(b, `],"links":`...), bytes.TrimSpace(links)...), `,"numberMatched":`...)
		b = strconv.AppendInt(b, int64(len(matched)), 10)
		b = strconv.AppendInt(append(b, `,"numberReturned":`...), int64(len(pageItems)), 10)
		b = append(append(append(b, `,"timeStamp":"`...), now.UTC().Format(time.RFC3339)...), "\"}\n"...)
		s.writeOGC(w, r, ogcGeoJSON, b)
	})
}

// itemsLinks are self, the collection and, where there are more, next and
// prev: the standard's paging, in the body, with the same filters.
func (s *server) itemsLinks(r *http.Request, l *ogcLayer, q ogcQuery, matched int) []ogcLink {
	coll := s.ogcBase(r) + "/collections/" + url.PathEscape(l.id)
	at := func(offset int) string {
		v := r.URL.Query()
		v.Del("f")
		v.Set("limit", strconv.Itoa(q.limit))
		if offset > 0 {
			v.Set("cursor", cursorFor(offset))
		} else {
			v.Del("cursor")
		}
		return coll + "/items?" + v.Encode()
	}
	self := coll + "/items"
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	links := []ogcLink{{self, "self", ogcGeoJSON, "This page"}, {coll, "collection", ogcJSON, l.title}}
	if q.offset+q.limit < matched {
		links = append(links, ogcLink{at(q.offset + q.limit), "next", ogcGeoJSON, "Next page"})
	}
	if q.offset > 0 {
		links = append(links, ogcLink{at(max(0, q.offset-q.limit)), "prev", ogcGeoJSON, "Previous page"})
	}
	return links
}

func (s *server) handleOGCFeature() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, ok := s.ogcLayerOf(w, r)
		if !ok {
			return
		}
		id := mux.Vars(r)["featureId"]
		for i := range l.items {
			if l.items[i].id != id {
				continue
			}
			coll := s.ogcBase(r) + "/collections/" + url.PathEscape(l.id)
			b, err := appendFeature(nil, l, &l.items[i], []ogcLink{
				{coll + "/items/" + url.PathEscape(id), "self", ogcGeoJSON, "This feature"},
				{coll, "collection", ogcJSON, l.title},
			})
			if err != nil {
				s.errorResponse(w, r, err)
				return
			}
			s.writeOGC(w, r, ogcGeoJSON, append(b, '\n'))
			return
		}
		s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "feature %q not found in collection %q", id, l.id))
	})
}

// appendFeature writes a GeoJSON Feature whose properties follow the
// collection's schema. Numbers always carry a decimal point, so that tools
// that guess column types from values see a real number, not an integer.
func appendFeature(b []byte, l *ogcLayer, it *ogcItem, links []ogcLink) ([]byte, error) {
	b = append(b, `{"type":"Feature","id":`...)
	b = appendString(b, it.id)
	b = append(b, `,"geometry":`...)
	if it.geom == nil {
		b = append(b, "null"...)
	} else {
		g, err := geojson.NewGeometry(it.geom).MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("api: encode geometry of %s: %w", it.id, err)
		}
		b = append(b, g...)
	}
	b = append(b, `,"properties":{`...)
	values := it.values()
	first := true
	for _, p := range l.schema {
		v, ok := values[p.name]
		if !ok {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(appendString(b, p.name), ':')
		b = appendValue(b, v)
	}
	b = append(b, '}')
	if links != nil {
		lb, err := marshalNoEscape(links)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"links":`...), bytes.TrimSpace(lb)...)
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case time.Time:
		return append(append(append(b, '"'), x.UTC().Format(time.RFC3339Nano)...), '"')
	case float64:
		return appendReal(b, x)
	}
	return append(b, "null"...)
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// appendReal writes f as JSON with a decimal point or exponent (23.0, not 23).
func appendReal(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	start := len(b)
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	if !bytes.ContainsRune(b[start:], '.') {
		b = append(b, ".0"...)
	}
	return b
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("api: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// intersects reports whether a geometry (point, polygon or multipolygon)
// shares a point with the box; a null geometry never does.
func intersects(g orb.Geometry, b orb.Bound) bool {
	if g == nil || !g.Bound().Intersects(b) {
		return false
	}
	switch g := g.(type) {
	case orb.Point:
		return b.Contains(g)
	case orb.Polygon:
		return polygonIntersects(g, b)
	case orb.MultiPolygon:
		for _, p := range g {
			if polygonIntersects(p, b) {
				return true
			}
		}
		return false
	}
	return true // other geometries: by their bounds
}
