package geo

import (
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
	"github.com/paulmach/orb/quadtree"
)

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
