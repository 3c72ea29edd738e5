package geo

import (
	"cmp"
	"math"
	"slices"
	"strings"
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

// Hit is a query result: an entry (shared, read-only) and its great-circle
// distance in metres from the query point (0 for queries without one).
type Hit struct {
	*Entry
	Distance float64
}

// item is stored in the quadtree in Web Mercator coordinates, in which
// planar nearest-neighbour order matches geodesic order at city scale.
type item struct {
	merc orb.Point
	e    Entry
}

func (it *item) Point() orb.Point { return it.merc }

// Index is a spatial index of devices. Box, radius and polygon queries,
// and nearest-neighbour queries in dense neighbourhoods, run on a grid of
// cells of cellSize Web Mercator metres, which answers a 500 m radius among
// 100,000 devices several times faster than a quadtree's box walk (see
// BenchmarkRadius500m); nearest-neighbour queries in sparse neighbourhoods
// and for large k run on an orb quadtree. It is safe for concurrent use:
// queries share a read lock, updates take the write lock (the quadtree is
// not safe for concurrent writes).
type Index struct {
	mu      sync.RWMutex
	qt      *quadtree.Quadtree
	items   map[string]*item
	cells   map[cellKey][]cellEntry
	kinds   symbols
	depts   symbols
	bufs    sync.Pool // []orb.Pointer result buffers, reused across queries
	scratch sync.Pool // *scratch
}

// cellSize is the grid's cell edge in Web Mercator metres (about 340 m of
// ground at Stuttgart's latitude).
const cellSize = 512.0

type cellKey struct{ x, y int32 }

// cellEntry keeps what a scan tests (unit vector, Mercator position, kind,
// department, visibility) beside the pointer, in 64 bytes, so a query never
// touches the memory of an item it does not return: at 100,000 devices it
// is cache misses, not arithmetic, that a query costs. (Keeping the unit
// vectors in a slice of their own was measured slower: most candidates of
// a radius query are hits, whose metadata is then a second cache miss.)
type cellEntry struct {
	v          vec3 // unit vector on the sphere, for radius tests without trigonometry
	merc       orb.Point
	it         *item
	kind, dept uint32
	internal   bool
}

// symbols interns kind and department names to small numbers.
type symbols map[string]uint32

func (s symbols) id(name string) uint32 {
	if id, ok := s[name]; ok {
		return id
	}
	id := uint32(len(s) + 1)
	s[name] = id
	return id
}

// cellMatch is a Match resolved against the index's symbols.
type cellMatch struct {
	kind, dept      uint32 // 0 = any
	includeInternal bool
	none            bool // a kind or department the index has never seen
}

func (ix *Index) resolve(m Match) cellMatch {
	cm := cellMatch{includeInternal: m.IncludeInternal}
	var ok bool
	if m.Kind != "" {
		if cm.kind, ok = ix.kinds[m.Kind]; !ok {
			cm.none = true
		}
	}
	if m.Department != "" {
		if cm.dept, ok = ix.depts[m.Department]; !ok {
			cm.none = true
		}
	}
	return cm
}

func (cm *cellMatch) ok(c *cellEntry) bool {
	return (cm.kind == 0 || cm.kind == c.kind) && (cm.dept == 0 || cm.dept == c.dept) && (cm.includeInternal || !c.internal)
}

func cellOf(p orb.Point) cellKey {
	return cellKey{int32(math.Floor(p[0] / cellSize)), int32(math.Floor(p[1] / cellSize))}
}

func (ix *Index) addCell(it *item) {
	k := cellOf(it.merc)
	ix.cells[k] = append(ix.cells[k], cellEntry{v: unitVector(it.e.Location), merc: it.merc, it: it,
		kind: ix.kinds.id(it.e.Kind), dept: ix.depts.id(it.e.Department), internal: it.e.Visibility == kessel.Internal})
}

func (ix *Index) removeCell(it *item) {
	k := cellOf(it.merc)
	c := ix.cells[k]
	for i, x := range c {
		if x.it == it {
			c[i] = c[len(c)-1]
			c[len(c)-1] = cellEntry{}
			c = c[:len(c)-1]
			break
		}
	}
	if len(c) == 0 {
		delete(ix.cells, k)
	} else {
		ix.cells[k] = c
	}
}

// cellsIn calls f for every populated cell that overlaps the Mercator box
// mb, under the read lock held by the caller.
func (ix *Index) cellsIn(mb orb.Bound, f func(c []cellEntry)) {
	lo, hi := cellOf(mb.Min), cellOf(mb.Max)
	if int64(hi.x-lo.x+1)*int64(hi.y-lo.y+1) > int64(len(ix.cells)) {
		// A box larger than the populated grid: walk the cells instead.
		for k, c := range ix.cells {
			if k.x >= lo.x && k.x <= hi.x && k.y >= lo.y && k.y <= hi.y {
				f(c)
			}
		}
		return
	}
	for x := lo.x; x <= hi.x; x++ {
		for y := lo.y; y <= hi.y; y++ {
			if c, ok := ix.cells[cellKey{x, y}]; ok {
				f(c)
			}
		}
	}
}

// scan calls f for every matching entry in the Mercator box mb, under the
// read lock held by the caller.
func (ix *Index) scan(mb orb.Bound, match Match, f func(c *cellEntry)) {
	m := ix.resolve(match)
	if m.none {
		return
	}
	ix.cellsIn(mb, func(c []cellEntry) {
		for i := range c {
			e := &c[i]
			if p := e.merc; p[0] >= mb.Min[0] && p[0] <= mb.Max[0] && p[1] >= mb.Min[1] && p[1] <= mb.Max[1] && m.ok(e) {
				f(e)
			}
		}
	})
}

var worldMerc = orb.Bound{Min: project.WGS84.ToMercator(orb.Point{-180, -85.05}), Max: project.WGS84.ToMercator(orb.Point{180, 85.05})}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{qt: quadtree.New(worldMerc), items: map[string]*item{}, cells: map[cellKey][]cellEntry{}, kinds: symbols{}, depts: symbols{}}
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
		ix.removeCell(old)
	}
	ix.items[e.ID] = it
	ix.addCell(it)
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
	ix.removeCell(old)
	return true
}

func (m Match) filter() quadtree.FilterFunc {
	if m.Kind == "" && m.Department == "" && m.IncludeInternal {
		return nil // matches everything
	}
	return func(p orb.Pointer) bool { return m.ok(&p.(*item).e) }
}

func (ix *Index) getBuf() []orb.Pointer {
	if b, ok := ix.bufs.Get().(*[]orb.Pointer); ok {
		return (*b)[:0]
	}
	return make([]orb.Pointer, 0, 256)
}

func (ix *Index) putBuf(b []orb.Pointer) {
	if cap(b) > 1<<16 {
		return // do not keep a huge buffer alive
	}
	clear(b)
	ix.bufs.Put(&b)
}

// Bound returns the devices inside the WGS84 box b, sorted by id.
func (ix *Index) Bound(b orb.Bound, m Match) []Hit {
	mb := orb.Bound{Min: project.WGS84.ToMercator(clampLat(b.Min)), Max: project.WGS84.ToMercator(clampLat(b.Max))}
	var hits []Hit
	ix.mu.RLock()
	ix.scan(mb, m, func(c *cellEntry) { hits = append(hits, Hit{Entry: &c.it.e}) })
	ix.mu.RUnlock()
	slices.SortFunc(hits, func(a, b Hit) int { return strings.Compare(a.ID, b.ID) })
	return hits
}

func clampLat(p orb.Point) orb.Point {
	return orb.Point{p[0], math.Max(-85.05, math.Min(85.05, p[1]))}
}

// Radius returns the devices within r metres of p, nearest first, with
// their great-circle distances (see Distance).
func (ix *Index) Radius(p orb.Point, r float64, m Match) []Hit {
	return ix.AppendRadius(nil, p, r, m)
}

// AppendRadius is Radius appending to dst, so a caller can reuse one
// result buffer across queries.
//
// Candidates come from the grid cells around p and are tested by the
// squared chord between unit vectors, which orders like the great-circle
// distance: three multiplications per candidate and no trigonometry. Only
// the hits get a distance, after sorting.
func (ix *Index) AppendRadius(dst []Hit, p orb.Point, r float64, match Match) []Hit {
	if !(r >= 0) {
		return dst
	}
	wb := orbgeo.NewBoundAroundPoint(p, r)
	mb := orb.Bound{Min: project.WGS84.ToMercator(clampLat(wb.Min)), Max: project.WGS84.ToMercator(clampLat(wb.Max))}
	q := unitVector(p)
	limit := maxChord2(r)
	sc := ix.getScratch()
	defer ix.scratch.Put(sc)
	hits := sc.hits
	ix.mu.RLock()
	m := ix.resolve(match)
	if !m.none {
		ix.cellsIn(mb, func(c []cellEntry) {
			for i := range c {
				e := &c[i]
				dx, dy, dz := e.v[0]-q[0], e.v[1]-q[1], e.v[2]-q[2]
				if c2 := dx*dx + dy*dy + dz*dz; c2 <= limit && m.ok(e) {
					hits = append(hits, Hit{Entry: &e.it.e, Distance: c2})
				}
			}
		})
	}
	ix.mu.RUnlock()
	sc.hits = hits
	return sc.appendSorted(dst, limit, chordToMetres)
}

// vec3 is a point on the unit sphere.
type vec3 [3]float64

func unitVector(p orb.Point) vec3 {
	lon, lat := p[0]*math.Pi/180, p[1]*math.Pi/180
	sinLat, cosLat := math.Sincos(lat)
	sinLon, cosLon := math.Sincos(lon)
	return vec3{cosLat * cosLon, cosLat * sinLon, sinLat}
}

// maxChord2 is the squared chord of the unit sphere that spans r metres of
// great circle.
func maxChord2(r float64) float64 {
	a := r / orb.EarthRadius
	if a >= math.Pi {
		return 4 // the whole sphere
	}
	c := 2 * math.Sin(a/2)
	return c * c
}

// chordToMetres turns a squared unit chord into great-circle metres. Below
// a chord of 2e-3 (12.7 km) it uses asin's series, whose first omitted term
// is 5e-14 of the result, instead of math.Asin.
func chordToMetres(c2 float64) float64 {
	x := math.Sqrt(c2) / 2
	if x < 1e-3 {
		x2 := x * x
		return 2 * orb.EarthRadius * x * (1 + x2*(1.0/6+x2*(3.0/40)))
	}
	return 2 * orb.EarthRadius * math.Asin(math.Min(x, 1))
}

// Distance is the great-circle distance in metres between two WGS84
// points on a sphere of orb.EarthRadius: the haversine distance, computed
// through the chord between unit vectors. At city scale it differs from
// the WGS84 ellipsoid's geodesic by at most 0.5 %.
func Distance(a, b orb.Point) float64 {
	u, v := unitVector(a), unitVector(b)
	dx, dy, dz := u[0]-v[0], u[1]-v[1], u[2]-v[2]
	return chordToMetres(dx*dx + dy*dy + dz*dz)
}

// Nearest returns up to k devices nearest to p, nearest first, with their
// great-circle distance in metres; maxDistance > 0 leaves out devices
// farther away.
//
// Where devices are dense it searches the grid ring by ring around p's
// cell (see nearestGrid); in a sparse neighbourhood, or for a large k, it
// asks the quadtree.
func (ix *Index) Nearest(p orb.Point, k int, maxDistance float64, m Match) []Hit {
	if k <= 0 {
		return nil
	}
	if k <= maxGridK {
		if hits, ok := ix.nearestGrid(p, k, maxDistance, m); ok {
			return hits
		}
	}
	return ix.nearestQuadtree(p, k, maxDistance, m)
}

// maxGridK is the largest k the grid search serves; nearestRings how many
// rings of cells around p's it looks at before it leaves a sparse
// neighbourhood to the quadtree.
const (
	maxGridK     = 64
	nearestRings = 6
)

// nearestGrid scans the cells around p's, ring by ring, keeping the k best
// candidates by squared chord. After each ring every device not yet seen
// lies outside the square of cells scanned, so at least the distance from
// p to that square's edge away: in Mercator metres at least r cells plus
// p's distance to its own cell's nearest side, and on the ground at least
// that times the cosine of the square's highest latitude (Mercator
// stretches ground by 1/cos(lat)). It stops once the k-th best is no
// farther than that bound, or the bound passes maxDistance; ok is false
// when it gave up after nearestRings rings.
func (ix *Index) nearestGrid(p orb.Point, k int, maxDistance float64, match Match) (hits []Hit, ok bool) {
	mp := project.WGS84.ToMercator(clampLat(p))
	c0 := cellOf(mp)
	q := unitVector(p)
	x0, y0 := float64(c0.x)*cellSize, float64(c0.y)*cellSize
	edge := min(mp[0]-x0, x0+cellSize-mp[0], mp[1]-y0, y0+cellSize-mp[1])
	limit := 4.0 // the whole sphere
	if maxDistance > 0 {
		limit = maxChord2(maxDistance)
	}
	type cand struct {
		c2 float64
		it *item
	}
	var best [maxGridK]cand // ascending by c2
	n := 0
	ix.mu.RLock()
	m := ix.resolve(match)
	if m.none {
		ix.mu.RUnlock()
		return nil, true
	}
	visit := func(x, y int32) {
		c, found := ix.cells[cellKey{x, y}]
		if !found {
			return
		}
		for i := range c {
			e := &c[i]
			dx, dy, dz := e.v[0]-q[0], e.v[1]-q[1], e.v[2]-q[2]
			c2 := dx*dx + dy*dy + dz*dz
			if c2 > limit || (n == k && c2 >= best[k-1].c2) || !m.ok(e) {
				continue
			}
			j := n
			if n < k {
				n++
			} else {
				j = k - 1
			}
			for j > 0 && best[j-1].c2 > c2 {
				best[j] = best[j-1]
				j--
			}
			best[j] = cand{c2, e.it}
		}
	}
	done := false
	for r := int32(0); r <= nearestRings && !done; r++ {
		if r == 0 {
			visit(c0.x, c0.y)
		} else {
			for x := c0.x - r; x <= c0.x+r; x++ {
				visit(x, c0.y-r)
				visit(x, c0.y+r)
			}
			for y := c0.y - r + 1; y < c0.y+r; y++ {
				visit(c0.x-r, y)
				visit(c0.x+r, y)
			}
		}
		top := project.Mercator.ToWGS84(orb.Point{mp[0], float64(c0.y+r+1) * cellSize})
		bottom := project.Mercator.ToWGS84(orb.Point{mp[0], float64(c0.y-r) * cellSize})
		cosMin := math.Cos(math.Max(math.Abs(top[1]), math.Abs(bottom[1])) * math.Pi / 180)
		bound := (float64(r)*cellSize + edge) * cosMin * (1 - 1e-9) // ground metres
		done = (n == k && best[k-1].c2 <= maxChord2(bound)) || (maxDistance > 0 && bound > maxDistance)
	}
	hits = make([]Hit, n)
	for i := range n {
		hits[i] = Hit{Entry: &best[i].it.e, Distance: chordToMetres(best[i].c2)}
	}
	ix.mu.RUnlock()
	return hits, done
}

// nearestQuadtree answers Nearest from the quadtree.
func (ix *Index) nearestQuadtree(p orb.Point, k int, maxDistance float64, m Match) []Hit {
	mp := project.WGS84.ToMercator(clampLat(p))
	// Mercator stretches distances by 1/cos(lat); ask for a few extra
	// candidates and re-rank them by true distance.
	extra := k + 4
	ps := ix.getBuf()
	ix.mu.RLock()
	if maxDistance > 0 {
		scale := 1 / math.Cos(p[1]*math.Pi/180)
		ps = ix.qt.KNearestMatching(ps, mp, extra, m.filter(), maxDistance*scale*1.01)
	} else {
		ps = ix.qt.KNearestMatching(ps, mp, extra, m.filter())
	}
	ix.mu.RUnlock()
	defer ix.putBuf(ps)
	hits := make([]Hit, 0, len(ps))
	for _, q := range ps {
		e := &q.(*item).e
		d := Distance(p, e.Location)
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

// scratch holds per-query buffers, reused through a sync.Pool.
type scratch struct {
	hits            []Hit
	counts, buckets []int32
}

func (ix *Index) getScratch() *scratch {
	sc, ok := ix.scratch.Get().(*scratch)
	if !ok {
		sc = &scratch{hits: make([]Hit, 0, 512), counts: make([]int32, 0, 512)}
	}
	sc.hits = sc.hits[:0]
	return sc
}

// appendSorted appends the scratch hits to dst, nearest first (equal keys
// in scan order), with Distance replaced by dist(Distance); the hits'
// Distance holds a sort key in [0, limit] until then, and dist must be
// monotonic.
//
// It is a bucket sort: keys are spread over two buckets per hit, linearly in
// the key. For a radius query the key is the squared chord, which grows
// with the area covered, so devices spread evenly over a city land about
// at most one to a bucket and the sort costs a few nanoseconds a hit, where
// a comparison sort of the same 200 hits spends most of its time on
// mispredicted branches. A skewed fleet falls back to a comparison sort.
func (sc *scratch) appendSorted(dst []Hit, limit float64, dist func(float64) float64) []Hit {
	n := len(sc.hits)
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	out := dst[start:]
	nb := 2 * n
	scale := 0.0
	if limit > 0 {
		scale = float64(nb) / limit
	}
	sc.counts = slices.Grow(sc.counts[:0], nb+1)[:nb+1]
	clear(sc.counts)
	sc.buckets = slices.Grow(sc.buckets[:0], n)[:n]
	for i := range sc.hits {
		b := min(int(sc.hits[i].Distance*scale), nb-1)
		sc.buckets[i] = int32(b)
		sc.counts[b+1]++
	}
	for b := 1; b <= nb; b++ {
		sc.counts[b] += sc.counts[b-1]
	}
	// counts[b] is now where bucket b starts; scatter in scan order.
	for i, b := range sc.buckets {
		out[sc.counts[b]] = sc.hits[i]
		sc.counts[b]++
	}
	// Only hits within a bucket can be out of order: one insertion sort
	// over all of them, with a budget of moves, then a comparison sort if
	// the fleet is so skewed that the budget runs out.
	budget := 8 * n
	for i := 1; i < n && budget >= 0; i++ {
		for j := i; j > 0 && out[j].Distance < out[j-1].Distance; j-- {
			out[j], out[j-1] = out[j-1], out[j]
			budget--
		}
	}
	if budget < 0 {
		slices.SortStableFunc(out, func(a, b Hit) int { return cmp.Compare(a.Distance, b.Distance) })
	}
	for i := range out {
		out[i].Distance = dist(out[i].Distance)
	}
	clear(sc.hits) // drop the entry pointers before pooling
	return dst
}

func sortByDistance(hits []Hit) {
	slices.SortFunc(hits, func(a, b Hit) int {
		switch {
		case a.Distance < b.Distance:
			return -1
		case a.Distance > b.Distance:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
}
