package geo_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/geo"
)

var stuttgart = orb.Bound{Min: orb.Point{9.04, 48.69}, Max: orb.Point{9.32, 48.87}}

func randomFleet(rng *rand.Rand, n int) []geo.Entry {
	kinds := []string{"air_quality", "noise", "parking"}
	es := make([]geo.Entry, n)
	for i := range es {
		vis := kessel.Public
		if i%7 == 0 {
			vis = kessel.Internal
		}
		es[i] = geo.Entry{
			ID:         fmt.Sprintf("dev-%05d", i),
			Location:   orb.Point{stuttgart.Min[0] + rng.Float64()*(stuttgart.Max[0]-stuttgart.Min[0]), stuttgart.Min[1] + rng.Float64()*(stuttgart.Max[1]-stuttgart.Min[1])},
			Kind:       kinds[i%len(kinds)],
			Visibility: vis,
		}
	}
	return es
}

func ids(hs []geo.Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func sameIDs(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// TestIndexMatchesBruteForce compares every query with a scan over all
// entries, on random fleets, after moves and removals.
func TestIndexMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ix, live := movedFleet(t, rng)
	matches := []geo.Match{{}, {Kind: "noise"}, {IncludeInternal: true}, {Kind: "parking", IncludeInternal: true}}
	for q := range 50 {
		p := orb.Point{9.05 + rng.Float64()*0.25, 48.70 + rng.Float64()*0.15}
		m := matches[q%len(matches)]
		r := 200 + rng.Float64()*1500
		b := orb.Bound{Min: p, Max: orb.Point{p[0] + 0.02, p[1] + 0.01}}
		want := bruteForce(live, p, r, b, m)
		t.Run(fmt.Sprintf("q%d", q), func(t *testing.T) {
			checkRadius(t, ix.Radius(p, r, m), p, r, want.radius)
			if got := ids(ix.Bound(b, m)); !sameIDs(got, want.bound) {
				t.Errorf("Bound: %d hits, want %d", len(got), len(want.bound))
			}
			checkNearest(t, ix, p, m, want.byDistance)
		})
	}
	poly := orb.Polygon{{{9.15, 48.76}, {9.20, 48.76}, {9.20, 48.80}, {9.15, 48.76}}}
	var want []string
	for _, e := range live {
		if matchOK(geo.Match{}, e) && planar.PolygonContains(poly, e.Location) {
			want = append(want, e.ID)
		}
	}
	if got := ids(ix.Polygon(poly, geo.Match{})); !sameIDs(got, want) || len(want) == 0 {
		t.Errorf("Polygon: %d hits, want %d", len(got), len(want))
	}
}

// movedFleet indexes a random fleet of 3,000, then moves a third and
// removes a tenth; it returns the index and the entries it should hold.
func movedFleet(t *testing.T, rng *rand.Rand) (*geo.Index, map[string]geo.Entry) {
	t.Helper()
	es := randomFleet(rng, 3000)
	ix := geo.NewIndex()
	for _, e := range es {
		if err := ix.Upsert(e); err != nil {
			t.Fatal(err)
		}
	}
	live := map[string]geo.Entry{}
	for i, e := range es {
		switch {
		case i%10 == 0:
			ix.Remove(e.ID)
			continue
		case i%3 == 0:
			e.Location = orb.Point{e.Location[0] + 0.01, e.Location[1] - 0.005}
			if err := ix.Upsert(e); err != nil {
				t.Fatal(err)
			}
		}
		live[e.ID] = e
	}
	if ix.Len() != len(live) {
		t.Fatalf("Len = %d, want %d", ix.Len(), len(live))
	}
	return ix, live
}

func matchOK(m geo.Match, e geo.Entry) bool {
	return (m.Kind == "" || m.Kind == e.Kind) && (m.IncludeInternal || e.Visibility != kessel.Internal)
}

type dist struct {
	id string
	d  float64
}

// bruteAnswer is what a scan over every entry answers.
type bruteAnswer struct {
	radius, bound []string // ids within r of p, inside b
	byDistance    []dist   // every match, nearest first
}

func bruteForce(live map[string]geo.Entry, p orb.Point, r float64, b orb.Bound, m geo.Match) bruteAnswer {
	var a bruteAnswer
	for _, e := range live {
		if !matchOK(m, e) {
			continue
		}
		d := orbgeo.DistanceHaversine(p, e.Location)
		a.byDistance = append(a.byDistance, dist{e.ID, d})
		if d <= r {
			a.radius = append(a.radius, e.ID)
		}
		if b.Contains(e.Location) {
			a.bound = append(a.bound, e.ID)
		}
	}
	sort.Slice(a.byDistance, func(i, j int) bool { return a.byDistance[i].d < a.byDistance[j].d })
	return a
}

// checkRadius: the same ids as the scan, haversine distances, nearest first.
func checkRadius(t *testing.T, rh []geo.Hit, p orb.Point, r float64, want []string) {
	t.Helper()
	if got := ids(rh); !sameIDs(got, want) {
		t.Errorf("Radius(%v, %.0f): %d hits, want %d", p, r, len(got), len(want))
	}
	for i, h := range rh {
		if want := orbgeo.DistanceHaversine(p, h.Location); abs(h.Distance-want) > 1e-6 {
			t.Fatalf("Radius hit %s at %.9f m, haversine %.9f m", h.ID, h.Distance, want)
		}
		if i > 0 && h.Distance < rh[i-1].Distance {
			t.Fatalf("Radius hits out of order: %.3f m after %.3f m", h.Distance, rh[i-1].Distance)
		}
	}
}

// checkNearest: the 10 nearest are the scan's first 10, and with a
// maximum of 300 m those of them within 300 m.
func checkNearest(t *testing.T, ix *geo.Index, p orb.Point, m geo.Match, all []dist) {
	t.Helper()
	for i, h := range ix.Nearest(p, 10, 0, m) {
		if h.ID != all[i].id || abs(h.Distance-all[i].d) > 1e-6 {
			t.Fatalf("Nearest[%d] = %s %.1fm, want %s %.1fm", i, h.ID, h.Distance, all[i].id, all[i].d)
		}
	}
	limited := ix.Nearest(p, 10, 300, m)
	for _, h := range limited {
		if h.Distance > 300 {
			t.Errorf("Nearest with max 300m returned %.1fm", h.Distance)
		}
	}
	n300 := 0
	for _, d := range all[:min(10, len(all))] {
		if d.d <= 300 {
			n300++
		}
	}
	if len(limited) != n300 {
		t.Errorf("Nearest max 300m: %d hits, want %d", len(limited), n300)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestUpsertRejectsBadLocation(t *testing.T) {
	ix := geo.NewIndex()
	for _, p := range []orb.Point{{181, 0}, {0, 89}, {0, -91}} {
		if err := ix.Upsert(geo.Entry{ID: "x", Location: p}); kessel.ErrorCode(err) != kessel.EINVALID {
			t.Errorf("Upsert(%v) = %v, want EINVALID", p, err)
		}
	}
}

// TestDistance checks the chord-based great-circle distance against orb's
// haversine from centimetres to antipodes.
func TestDistance(t *testing.T) {
	tests := []struct {
		a, b orb.Point
		tol  float64 // metres
	}{
		{orb.Point{9.18, 48.7784}, orb.Point{9.18, 48.7784}, 0},
		{orb.Point{9.18, 48.7784}, orb.Point{9.1800001, 48.7784}, 1e-6},
		{orb.Point{9.18, 48.7784}, orb.Point{9.1905, 48.7887}, 1e-6},
		{orb.Point{9.18, 48.7784}, orb.Point{9.18, 48.8884}, 1e-6},    // 12.2 km, the series' upper end
		{orb.Point{9.18, 48.7784}, orb.Point{11.5755, 48.1374}, 1e-4}, // Munich, above the series' range
		{orb.Point{179.9, 10}, orb.Point{-179.9, 10}, 1e-6},           // across the antimeridian
		{orb.Point{0, 0}, orb.Point{180, 0}, 1e-3},                    // antipodes
	}
	for _, tt := range tests {
		got, want := geo.Distance(tt.a, tt.b), orbgeo.DistanceHaversine(tt.a, tt.b)
		if abs(got-want) > tt.tol {
			t.Errorf("Distance(%v, %v) = %.9f m, haversine %.9f m", tt.a, tt.b, got, want)
		}
	}
}

// TestRadiusSkewedFleet covers the sort's fallback: hundreds of devices
// within a metre of each other (one bucket) beside a spread-out few.
func TestRadiusSkewedFleet(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	ix := geo.NewIndex()
	var all []geo.Entry
	for i := range 600 {
		p := orb.Point{9.18 + rng.Float64()*1e-5, 48.7784 + rng.Float64()*1e-5}
		if i%20 == 0 {
			p = orb.Point{9.17 + rng.Float64()*0.02, 48.77 + rng.Float64()*0.02}
		}
		if i%50 == 1 {
			p = orb.Point{9.18, 48.7784} // exact duplicates: equal distances
		}
		e := geo.Entry{ID: fmt.Sprintf("d%03d", i), Location: p, Visibility: kessel.Public}
		all = append(all, e)
		if err := ix.Upsert(e); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []float64{0.5, 5, 800, 3000} {
		q := orb.Point{9.18 + 2e-6, 48.7784 + 3e-6}
		var want []string
		for _, e := range all {
			if orbgeo.DistanceHaversine(q, e.Location) <= r {
				want = append(want, e.ID)
			}
		}
		hits := ix.Radius(q, r, geo.Match{})
		if got := ids(hits); !sameIDs(got, want) || len(want) == 0 {
			t.Errorf("r=%v: %d hits, want %d", r, len(got), len(want))
		}
		for i := 1; i < len(hits); i++ {
			if hits[i].Distance < hits[i-1].Distance {
				t.Fatalf("r=%v: hit %d at %.6f m after %.6f m", r, i, hits[i].Distance, hits[i-1].Distance)
			}
		}
	}
}

// TestNearestDenseAndSparse compares Nearest with a brute-force scan on a
// dense fleet (answered from the grid) and a sparse one (left to the
// quadtree), for k on both sides of the grid's limit, with and without a
// maximum distance.
func TestNearestDenseAndSparse(t *testing.T) {
	for _, size := range []int{60, 20_000} {
		rng := rand.New(rand.NewPCG(uint64(size), 3))
		es := randomFleet(rng, size)
		ix := geo.NewIndex()
		for _, e := range es {
			if err := ix.Upsert(e); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range []int{1, 5, 64, 80} {
			for _, maxD := range []float64{0, 250} {
				t.Run(fmt.Sprintf("%d devices k=%d max=%v", size, k, maxD), func(t *testing.T) {
					for range 20 {
						p := orb.Point{9.05 + rng.Float64()*0.25, 48.70 + rng.Float64()*0.15}
						m := geo.Match{Kind: []string{"", "noise"}[rng.IntN(2)], IncludeInternal: rng.IntN(2) == 0}
						type dist struct {
							id string
							d  float64
						}
						var all []dist
						for _, e := range es {
							if (m.Kind == "" || m.Kind == e.Kind) && (m.IncludeInternal || e.Visibility != kessel.Internal) {
								if d := orbgeo.DistanceHaversine(p, e.Location); maxD == 0 || d <= maxD {
									all = append(all, dist{e.ID, d})
								}
							}
						}
						sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d })
						all = all[:min(k, len(all))]
						hits := ix.Nearest(p, k, maxD, m)
						if len(hits) != len(all) {
							t.Fatalf("Nearest(%v) = %d hits, want %d", p, len(hits), len(all))
						}
						for i, h := range hits {
							if h.ID != all[i].id || abs(h.Distance-all[i].d) > 1e-6 {
								t.Fatalf("Nearest(%v)[%d] = %s %.3f m, want %s %.3f m", p, i, h.ID, h.Distance, all[i].id, all[i].d)
							}
						}
					}
				})
			}
		}
	}
}

// TestIndexConcurrent moves and removes devices while other goroutines
// query; every answer must still be consistent (hits within the radius,
// nearest first). `make test` runs it under the race detector.
func TestIndexConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	es := randomFleet(rng, 5000)
	ix := geo.NewIndex()
	for _, e := range es {
		if err := ix.Upsert(e); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	var writers, readers sync.WaitGroup
	for w := range 2 {
		writers.Add(1)
		go func() { // a mobile fleet on the move, some devices leaving and coming back
			defer writers.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				e := es[r.IntN(len(es))]
				if i%10 == 0 {
					ix.Remove(e.ID)
				}
				e.Location = orb.Point{9.05 + r.Float64()*0.25, 48.70 + r.Float64()*0.15}
				_ = ix.Upsert(e)
			}
		}()
	}
	errs := make(chan string, 2)
	for w := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			r := rand.New(rand.NewPCG(uint64(w), 2))
			var buf []geo.Hit
			for range 300 {
				p := orb.Point{9.05 + r.Float64()*0.25, 48.70 + r.Float64()*0.15}
				buf = ix.AppendRadius(buf[:0], p, 800, geo.Match{IncludeInternal: true})
				for i, h := range buf {
					if h.Distance > 800 || (i > 0 && h.Distance < buf[i-1].Distance) {
						errs <- fmt.Sprintf("radius hit %s at %.1f m", h.ID, h.Distance)
						return
					}
				}
				near := ix.Nearest(p, 10, 0, geo.Match{})
				for i := 1; i < len(near); i++ {
					if near[i].Distance < near[i-1].Distance {
						errs <- "nearest hits out of order"
						return
					}
				}
				ix.Bound(orb.Bound{Min: p, Max: orb.Point{p[0] + 0.01, p[1] + 0.01}}, geo.Match{Kind: "noise"})
			}
		}()
	}
	readers.Wait()
	close(done)
	writers.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
