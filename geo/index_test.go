package geo_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
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
	es := randomFleet(rng, 3000)
	ix := geo.NewIndex()
	for _, e := range es {
		if err := ix.Upsert(e); err != nil {
			t.Fatal(err)
		}
	}
	// Move a third, remove a tenth.
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
	matches := []geo.Match{{}, {Kind: "noise"}, {IncludeInternal: true}, {Kind: "parking", IncludeInternal: true}}
	ok := func(m geo.Match, e geo.Entry) bool {
		return (m.Kind == "" || m.Kind == e.Kind) && (m.IncludeInternal || e.Visibility != kessel.Internal)
	}
	for q := range 50 {
		p := orb.Point{9.05 + rng.Float64()*0.25, 48.70 + rng.Float64()*0.15}
		m := matches[q%len(matches)]
		r := 200 + rng.Float64()*1500
		var wantR []string
		type dist struct {
			id string
			d  float64
		}
		var all []dist
		b := orb.Bound{Min: p, Max: orb.Point{p[0] + 0.02, p[1] + 0.01}}
		var wantB []string
		for _, e := range live {
			if !ok(m, e) {
				continue
			}
			d := orbgeo.Distance(p, e.Location)
			all = append(all, dist{e.ID, d})
			if d <= r {
				wantR = append(wantR, e.ID)
			}
			if b.Contains(e.Location) {
				wantB = append(wantB, e.ID)
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d })
		t.Run(fmt.Sprintf("q%d", q), func(t *testing.T) {
			if got := ids(ix.Radius(p, r, m)); !sameIDs(got, wantR) {
				t.Errorf("Radius(%v, %.0f): %d hits, want %d", p, r, len(got), len(wantR))
			}
			if got := ids(ix.Bound(b, m)); !sameIDs(got, wantB) {
				t.Errorf("Bound: %d hits, want %d", len(got), len(wantB))
			}
			hits := ix.Nearest(p, 10, 0, m)
			for i, h := range hits {
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
		})
	}
	poly := orb.Polygon{{{9.15, 48.76}, {9.20, 48.76}, {9.20, 48.80}, {9.15, 48.76}}}
	var want []string
	for _, e := range live {
		if ok(geo.Match{}, e) && planar.PolygonContains(poly, e.Location) {
			want = append(want, e.ID)
		}
	}
	if got := ids(ix.Polygon(poly, geo.Match{})); !sameIDs(got, want) || len(want) == 0 {
		t.Errorf("Polygon: %d hits, want %d", len(got), len(want))
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

func ExampleIndex_Nearest() {
	ix := geo.NewIndex()
	_ = ix.Upsert(geo.Entry{ID: "neckartor", Location: orb.Point{9.1905, 48.7887}, Kind: "air_quality", Visibility: kessel.Public})
	_ = ix.Upsert(geo.Entry{ID: "schlossplatz", Location: orb.Point{9.1800, 48.7784}, Kind: "air_quality", Visibility: kessel.Public})
	_ = ix.Upsert(geo.Entry{ID: "depot", Location: orb.Point{9.1790, 48.7790}, Kind: "air_quality", Visibility: kessel.Internal})
	for _, h := range ix.Nearest(orb.Point{9.1829, 48.7840}, 2, 0, geo.Match{Kind: "air_quality"}) {
		fmt.Printf("%s %.0f m\n", h.ID, h.Distance)
	}
	// Output:
	// schlossplatz 659 m
	// neckartor 764 m
}

func ExampleDistricts_District() {
	ds, _ := geo.LoadDistricts(stringsReader(`{"type":"FeatureCollection","features":[
	 {"type":"Feature","properties":{"name":"Mitte"},"geometry":{"type":"Polygon","coordinates":[[[9.17,48.77],[9.19,48.77],[9.19,48.79],[9.17,48.79],[9.17,48.77]]]}}]}`), "name", nil)
	fmt.Printf("%q %q\n", ds.District(orb.Point{9.18, 48.7784}), ds.District(orb.Point{9.2219, 48.6899}))
	// Output: "Mitte" ""
}
