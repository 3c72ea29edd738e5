package geo

import (
	"cmp"
	"slices"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/project"
)

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
