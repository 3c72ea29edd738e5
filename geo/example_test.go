package geo_test

import (
	"fmt"
	"strings"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/geo"
)

// centre is a small index of devices around Stuttgart's Schlossplatz.
func centre() *geo.Index {
	ix := geo.NewIndex()
	for _, e := range []geo.Entry{
		{ID: "neckartor", Location: orb.Point{9.1905, 48.7887}, Kind: "air_quality", Department: "umweltamt", Visibility: kessel.Public},
		{ID: "schlossplatz", Location: orb.Point{9.1800, 48.7784}, Kind: "air_quality", Department: "umweltamt", Visibility: kessel.Public},
		{ID: "marienplatz", Location: orb.Point{9.1695, 48.7643}, Kind: "noise", Department: "umweltamt", Visibility: kessel.Public},
		{ID: "depot", Location: orb.Point{9.1790, 48.7790}, Kind: "road_surface", Department: "winterdienst", Visibility: kessel.Internal},
	} {
		if err := ix.Upsert(e); err != nil {
			panic(err)
		}
	}
	return ix
}

// mitte is a district file with one rectangular district.
const mitte = `{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"s-mitte","properties":{"name":"Stuttgart-Mitte"},"geometry":{"type":"Polygon","coordinates":[[[9.17,48.77],[9.19,48.77],[9.19,48.79],[9.17,48.79],[9.17,48.77]]]}}]}`

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
	ds, _ := geo.LoadDistricts(strings.NewReader(`{"type":"FeatureCollection","features":[
	 {"type":"Feature","properties":{"name":"Mitte"},"geometry":{"type":"Polygon","coordinates":[[[9.17,48.77],[9.19,48.77],[9.19,48.79],[9.17,48.79],[9.17,48.77]]]}}]}`), "name", nil)
	fmt.Printf("%q %q\n", ds.District(orb.Point{9.18, 48.7784}), ds.District(orb.Point{9.2219, 48.6899}))
	// Output: "Mitte" ""
}

func ExampleIndex_Radius() {
	ix := geo.NewIndex()
	_ = ix.Upsert(geo.Entry{ID: "neckartor", Location: orb.Point{9.1905, 48.7887}, Kind: "air_quality", Visibility: kessel.Public})
	_ = ix.Upsert(geo.Entry{ID: "schlossplatz", Location: orb.Point{9.1800, 48.7784}, Kind: "air_quality", Visibility: kessel.Public})
	_ = ix.Upsert(geo.Entry{ID: "marienplatz", Location: orb.Point{9.1695, 48.7643}, Kind: "noise", Visibility: kessel.Public})
	// Everything within 1.5 km of the Königsbau, nearest first, in metres.
	for _, h := range ix.Radius(orb.Point{9.1790, 48.7790}, 1500, geo.Match{}) {
		fmt.Printf("%s %.0f m\n", h.ID, h.Distance)
	}
	// Output:
	// schlossplatz 99 m
	// neckartor 1370 m
}

func ExampleIndex_Bound() {
	ix := centre()
	// Public devices in a box, sorted by id; internal ones only with
	// IncludeInternal.
	box := orb.Bound{Min: orb.Point{9.175, 48.775}, Max: orb.Point{9.195, 48.790}}
	for _, m := range []geo.Match{{}, {IncludeInternal: true}} {
		var ids []string
		for _, h := range ix.Bound(box, m) {
			ids = append(ids, h.ID)
		}
		fmt.Println(ids)
	}
	// Output:
	// [neckartor schlossplatz]
	// [depot neckartor schlossplatz]
}

func ExampleIndex_Polygon() {
	ix := centre()
	// A triangle west of the Schlossplatz.
	tri := orb.Polygon{{{9.160, 48.760}, {9.182, 48.760}, {9.160, 48.782}, {9.160, 48.760}}}
	for _, h := range ix.Polygon(tri, geo.Match{IncludeInternal: true}) {
		fmt.Println(h.ID, h.Kind)
	}
	// Output:
	// marienplatz noise
}

func ExampleIndex_AppendRadius() {
	ix := centre()
	// One buffer for many queries: the second reuses the first's memory.
	var buf []geo.Hit
	for _, p := range []orb.Point{{9.1800, 48.7784}, {9.1695, 48.7643}} {
		buf = ix.AppendRadius(buf[:0], p, 500, geo.Match{Kind: "air_quality"})
		fmt.Println(len(buf), "air-quality devices within 500 m")
	}
	// Output:
	// 1 air-quality devices within 500 m
	// 0 air-quality devices within 500 m
}

func ExampleIndex_Upsert() {
	ix := centre()
	// A mobile sensor is upserted again where it reported from.
	bus := geo.Entry{ID: "bus-42", Location: orb.Point{9.1695, 48.7643}, Kind: "air_quality", Visibility: kessel.Public}
	_ = ix.Upsert(bus)
	bus.Location = orb.Point{9.1905, 48.7890}
	_ = ix.Upsert(bus)
	h := ix.Nearest(orb.Point{9.1905, 48.7887}, 2, 0, geo.Match{})
	fmt.Println(ix.Len(), h[0].ID, h[1].ID)
	fmt.Println(ix.Remove("bus-42"), ix.Remove("bus-42"), ix.Len())
	err := ix.Upsert(geo.Entry{ID: "pole", Location: orb.Point{0, 89.9}})
	fmt.Println(kessel.ErrorCode(err))
	// Output:
	// 5 neckartor bus-42
	// true false 4
	// invalid
}

func ExampleMatch() {
	ix := centre()
	p := orb.Point{9.1829, 48.7840}
	for _, m := range []geo.Match{
		{},
		{Department: "winterdienst"},
		{Department: "winterdienst", IncludeInternal: true},
		{Kind: "weather"},
	} {
		fmt.Println(len(ix.Nearest(p, 10, 0, m)))
	}
	// Output:
	// 3
	// 0
	// 1
	// 0
}

func ExampleDistance() {
	schlossplatz, neckartor := orb.Point{9.1800, 48.7784}, orb.Point{9.1905, 48.7887}
	fmt.Printf("%.0f m\n", geo.Distance(schlossplatz, neckartor))
	// Output: 1381 m
}

func ExampleSlug() {
	for _, name := range []string{"Bad Cannstatt", "Möhringen", "Stuttgart-Süd", " Nord (Stadtbezirk) "} {
		fmt.Println(geo.Slug(name))
	}
	// Output:
	// bad-cannstatt
	// moehringen
	// stuttgart-sued
	// nord-stadtbezirk
}

func ExampleDistricts_Lookup() {
	ds, err := geo.LoadDistricts(strings.NewReader(mitte), "name", nil)
	if err != nil {
		panic(err)
	}
	// By id, by name, or by the slug of its name.
	for _, key := range []string{"s-mitte", "Stuttgart-Mitte", "stuttgart-mitte", "Mitte"} {
		d, ok := ds.Lookup(key)
		if !ok {
			fmt.Println(key, "not found")
			continue
		}
		fmt.Println(key, "->", d.Name)
	}
	// Output:
	// s-mitte -> Stuttgart-Mitte
	// Stuttgart-Mitte -> Stuttgart-Mitte
	// stuttgart-mitte -> Stuttgart-Mitte
	// Mitte not found
}

func ExampleDistricts_Locate() {
	ds, err := geo.LoadDistricts(strings.NewReader(mitte), "name", nil)
	if err != nil {
		panic(err)
	}
	if d, ok := ds.Locate(orb.Point{9.18, 48.7784}); ok {
		fmt.Println(d.Name, d.Bound.Min, d.Bound.Max)
	}
	_, ok := ds.Locate(orb.Point{9.2219, 48.6899})
	fmt.Println(ok)
	// Output:
	// Stuttgart-Mitte [9.17 48.77] [9.19 48.79]
	// false
}
