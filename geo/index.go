package geo

import (
	"math"
	"sort"
	"sync"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
	"github.com/paulmach/orb/project"
	"github.com/paulmach/orb/quadtree"

	"github.com/kessel-city/kessel"
)

// Entry is what the index keeps of a device.
type Entry struct {
	ID         string
	Location   orb.Point // WGS84 lon, lat
	Kind       string
	Department string
	Visibility kessel.Visibility
}

// Match filters entries; zero fields match everything, and internal
// devices match only with IncludeInternal.
type Match struct {
	Kind            string
	Department      string
	IncludeInternal bool
}

func (m Match) ok(e *Entry) bool {
	return (m.Kind == "" || m.Kind == e.Kind) &&
		(m.Department == "" || m.Department == e.Department) &&
		(m.IncludeInternal || e.Visibility != kessel.Internal)
}

// Hit is a query result: an entry and its geodesic distance in metres from
// the query point (0 for queries without one).
type Hit struct {
	Entry
	Distance float64
}

// item is stored in the quadtree in Web Mercator coordinates, in which
// planar nearest-neighbour order matches geodesic order at city scale.
type item struct {
	merc orb.Point
	e    Entry
}

func (it *item) Point() orb.Point { return it.merc }

// Index is a spatial index of devices on an orb quadtree. It is safe for
// concurrent use: queries share a read lock, updates take the write lock
// (the quadtree itself is not safe for concurrent writes).
type Index struct {
	mu    sync.RWMutex
	qt    *quadtree.Quadtree
	items map[string]*item
}

var worldMerc = orb.Bound{Min: project.WGS84.ToMercator(orb.Point{-180, -85.05}), Max: project.WGS84.ToMercator(orb.Point{180, 85.05})}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{qt: quadtree.New(worldMerc), items: map[string]*item{}}
}

// Len returns how many devices are indexed.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.items)
}

// Upsert adds a device or moves it. It returns EINVALID for a location
// outside lon [-180,180] and lat [-85.05,85.05] (Web Mercator's range).
func (ix *Index) Upsert(e Entry) error {
	p := e.Location
	if !kessel.ValidLonLat(p[0], p[1]) || math.Abs(p[1]) > 85.05 {
		return kessel.Errorf(kessel.EINVALID, "location %v is outside the indexable range", p)
	}
	it := &item{merc: project.WGS84.ToMercator(p), e: e}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old, ok := ix.items[e.ID]; ok {
		ix.qt.Remove(old, func(p orb.Pointer) bool { return p == old })
	}
	ix.items[e.ID] = it
	return ix.qt.Add(it)
}

// Remove deletes a device; it reports whether it was indexed.
func (ix *Index) Remove(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old, ok := ix.items[id]
	if !ok {
		return false
	}
	delete(ix.items, id)
	ix.qt.Remove(old, func(p orb.Pointer) bool { return p == old })
	return true
}

func (m Match) filter() quadtree.FilterFunc {
	return func(p orb.Pointer) bool { return m.ok(&p.(*item).e) }
}

// Bound returns the devices inside the WGS84 box b, sorted by id.
func (ix *Index) Bound(b orb.Bound, m Match) []Hit {
	mb := orb.Bound{Min: project.WGS84.ToMercator(clampLat(b.Min)), Max: project.WGS84.ToMercator(clampLat(b.Max))}
	ix.mu.RLock()
	ps := ix.qt.InBoundMatching(nil, mb, m.filter())
	ix.mu.RUnlock()
	hits := make([]Hit, len(ps))
	for i, p := range ps {
		hits[i] = Hit{Entry: p.(*item).e}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].ID < hits[j].ID })
	return hits
}

func clampLat(p orb.Point) orb.Point {
	return orb.Point{p[0], math.Max(-85.05, math.Min(85.05, p[1]))}
}

// Radius returns the devices within r metres (geodesic) of p, nearest first.
func (ix *Index) Radius(p orb.Point, r float64, m Match) []Hit {
	wb := orbgeo.NewBoundAroundPoint(p, r)
	mb := orb.Bound{Min: project.WGS84.ToMercator(clampLat(wb.Min)), Max: project.WGS84.ToMercator(clampLat(wb.Max))}
	ix.mu.RLock()
	ps := ix.qt.InBoundMatching(nil, mb, m.filter())
	ix.mu.RUnlock()
	hits := make([]Hit, 0, len(ps))
	for _, q := range ps {
		e := q.(*item).e
		if d := orbgeo.Distance(p, e.Location); d <= r {
			hits = append(hits, Hit{Entry: e, Distance: d})
		}
	}
	sortByDistance(hits)
	return hits
}

// Nearest returns up to k devices nearest to p, nearest first, with their
// geodesic distance in metres; maxDistance > 0 leaves out devices farther away.
func (ix *Index) Nearest(p orb.Point, k int, maxDistance float64, m Match) []Hit {
	if k <= 0 {
		return nil
	}
	mp := project.WGS84.ToMercator(clampLat(p))
	// Mercator stretches distances by 1/cos(lat); ask for a few extra
	// candidates and re-rank them by true distance.
	extra := k + 4
	var ps []orb.Pointer
	ix.mu.RLock()
	if maxDistance > 0 {
		scale := 1 / math.Cos(p[1]*math.Pi/180)
		ps = ix.qt.KNearestMatching(nil, mp, extra, m.filter(), maxDistance*scale*1.01)
	} else {
		ps = ix.qt.KNearestMatching(nil, mp, extra, m.filter())
	}
	ix.mu.RUnlock()
	hits := make([]Hit, 0, len(ps))
	for _, q := range ps {
		e := q.(*item).e
		d := orbgeo.Distance(p, e.Location)
		if maxDistance > 0 && d > maxDistance {
			continue
		}
		hits = append(hits, Hit{Entry: e, Distance: d})
	}
	sortByDistance(hits)
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// Polygon returns the devices inside poly (a WGS84 Polygon or
// MultiPolygon), sorted by id.
func (ix *Index) Polygon(poly orb.Geometry, m Match) []Hit {
	var contains func(orb.Point) bool
	switch g := poly.(type) {
	case orb.Polygon:
		contains = func(p orb.Point) bool { return planar.PolygonContains(g, p) }
	case orb.MultiPolygon:
		contains = func(p orb.Point) bool { return planar.MultiPolygonContains(g, p) }
	default:
		return nil
	}
	hits := ix.Bound(poly.Bound(), m)
	out := hits[:0]
	for _, h := range hits {
		if contains(h.Location) {
			out = append(out, h)
		}
	}
	return out
}

func sortByDistance(hits []Hit) {
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Distance != hits[j].Distance {
			return hits[i].Distance < hits[j].Distance
		}
		return hits[i].ID < hits[j].ID
	})
}
