package geo

import (
	"math"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
)

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
