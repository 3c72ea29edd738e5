// Package geo answers Kessel's spatial questions: which district a point
// lies in, and which devices lie in a box, a radius, a polygon or nearest to
// a point. It is built on paulmach/orb; distances are in metres.
package geo

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/kessel-city/kessel"
)

// District is one named area: a Polygon or MultiPolygon in WGS84.
type District struct {
	ID         string
	Name       string
	Geometry   orb.Geometry // orb.Polygon or orb.MultiPolygon
	Bound      orb.Bound
	Properties map[string]any
}

// Contains reports whether p lies in the district (holes excluded).
func (d *District) Contains(p orb.Point) bool {
	if !d.Bound.Contains(p) {
		return false
	}
	switch g := d.Geometry.(type) {
	case orb.Polygon:
		return planar.PolygonContains(g, p)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, p)
	}
	return false
}

// Districts is an immutable set of districts, safe for concurrent use.
type Districts struct {
	list   []District
	byID   map[string]int
	byName map[string]int
}

// LoadDistrictsFile reads a GeoJSON FeatureCollection from path; see LoadDistricts.
func LoadDistrictsFile(path, nameProp string, log *slog.Logger) (*Districts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geo: districts: %w", err)
	}
	defer f.Close()
	d, err := LoadDistricts(f, nameProp, log)
	if err != nil {
		return nil, fmt.Errorf("geo: districts %s: %w", path, err)
	}
	return d, nil
}

// LoadDistricts reads a GeoJSON FeatureCollection of Polygons and
// MultiPolygons, naming each district by the property nameProp (default
// "name"). Real-world quirks are accepted: legacy "crs" members, a
// "properties" member on the collection, either ring winding. Features of
// other geometry types are skipped with a warning. It returns an EINVALID
// error when nothing usable is found or a name is missing or repeated.
func LoadDistricts(r io.Reader, nameProp string, log *slog.Logger) (*Districts, error) {
	if nameProp == "" {
		nameProp = "name"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, err
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		return nil, kessel.Errorf(kessel.EINVALID, "not a GeoJSON FeatureCollection: %v", err)
	}
	ds := &Districts{byID: map[string]int{}, byName: map[string]int{}}
	for i, f := range fc.Features {
		switch f.Geometry.(type) {
		case orb.Polygon, orb.MultiPolygon:
		default:
			log.Warn("skipping district feature that is not a polygon", "index", i, "type", geomType(f.Geometry))
			continue
		}
		name := propString(f.Properties[nameProp])
		if name == "" {
			return nil, kessel.Errorf(kessel.EINVALID, "feature %d has no %q property to name it", i, nameProp)
		}
		if err := kessel.ValidateTagValue("district name", name); err != nil {
			return nil, kessel.Errorf(kessel.EINVALID, "feature %d: %s", i, kessel.ErrorMessage(err))
		}
		if _, dup := ds.byName[name]; dup {
			return nil, kessel.Errorf(kessel.EINVALID, "district name %q appears twice", name)
		}
		id := propString(f.ID)
		if id == "" {
			id = Slug(name)
		}
		if _, dup := ds.byID[id]; dup {
			id = Slug(name)
		}
		ds.byID[id] = len(ds.list)
		ds.byName[name] = len(ds.list)
		ds.list = append(ds.list, District{ID: id, Name: name, Geometry: f.Geometry, Bound: f.Geometry.Bound(), Properties: f.Properties})
	}
	if len(ds.list) == 0 {
		return nil, kessel.Errorf(kessel.EINVALID, "no Polygon or MultiPolygon features")
	}
	return ds, nil
}

func geomType(g orb.Geometry) string {
	if g == nil {
		return "null"
	}
	return g.GeoJSONType()
}

func propString(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	case int:
		return strconv.Itoa(v)
	}
	return ""
}

// Slug turns a district name into an id usable in a URL:
// "Bad Cannstatt" -> "bad-cannstatt", "Möhringen" -> "moehringen".
func Slug(name string) string {
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "Ä", "ae", "Ö", "oe", "Ü", "ue")
	s := strings.ToLower(r.Replace(name))
	var b strings.Builder
	dash := false
	for _, c := range s {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// Locate returns the district containing p. Districts should not overlap;
// where they do, the first in file order wins.
func (ds *Districts) Locate(p orb.Point) (*District, bool) {
	if ds == nil {
		return nil, false
	}
	for i := range ds.list {
		if ds.list[i].Contains(p) {
			return &ds.list[i], true
		}
	}
	return nil, false
}

// District returns the name of the district containing p, or "".
func (ds *Districts) District(p orb.Point) string {
	if d, ok := ds.Locate(p); ok {
		return d.Name
	}
	return ""
}

// Lookup finds a district by id, name or slug of its name.
func (ds *Districts) Lookup(key string) (*District, bool) {
	if ds == nil {
		return nil, false
	}
	if i, ok := ds.byID[key]; ok {
		return &ds.list[i], true
	}
	if i, ok := ds.byName[key]; ok {
		return &ds.list[i], true
	}
	for i := range ds.list {
		if Slug(ds.list[i].Name) == key {
			return &ds.list[i], true
		}
	}
	return nil, false
}

// All returns the districts in file order. The slice must not be modified.
func (ds *Districts) All() []District {
	if ds == nil {
		return nil
	}
	return ds.list
}

// List returns the districts in file order as domain values.
func (ds *Districts) List() []kessel.District {
	out := make([]kessel.District, 0, len(ds.All()))
	for _, d := range ds.All() {
		out = append(out, kessel.District{ID: d.ID, Name: d.Name, Geometry: d.Geometry})
	}
	return out
}

// Get finds a district by id, name or slug, as a domain value.
func (ds *Districts) Get(key string) (kessel.District, bool) {
	d, ok := ds.Lookup(key)
	if !ok {
		return kessel.District{}, false
	}
	return kessel.District{ID: d.ID, Name: d.Name, Geometry: d.Geometry}, true
}
