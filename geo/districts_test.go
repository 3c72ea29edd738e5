package geo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/geo"
	"github.com/kessel-city/kessel/internal/testenv"
)

// sharedData returns ../shared/data/<rel> beside the checkout, or skips.
func sharedData(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		testenv.Missing(t, "shared test data %s is absent (it lives beside the checkout in ../shared/data): %v", rel, err)
	}
	return p
}

func TestStuttgartDistricts(t *testing.T) {
	ds, err := geo.LoadDistrictsFile(sharedData(t, "geo/stuttgart-stadtbezirke-approx.geojson"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ds.All()); n != 23 {
		t.Fatalf("%d districts, want 23", n)
	}
	for _, tc := range []struct {
		name string
		p    orb.Point
		want string
	}{
		{"Schlossplatz", orb.Point{9.1800, 48.7784}, "Stuttgart-Mitte"},
		{"Hauptbahnhof", orb.Point{9.1817, 48.7840}, "Stuttgart-Mitte"},
		{"Bf Bad Cannstatt", orb.Point{9.2140, 48.8000}, "Bad Cannstatt"},
		{"Porsche", orb.Point{9.1520, 48.8340}, "Zuffenhausen"},
		{"Airport", orb.Point{9.2219, 48.6899}, ""},
		{"Munich", orb.Point{11.575, 48.137}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ds.District(tc.p); got != tc.want {
				t.Errorf("District(%v) = %q, want %q", tc.p, got, tc.want)
			}
		})
	}
	if d, ok := ds.Lookup("bad-cannstatt"); !ok || d.Name != "Bad Cannstatt" {
		t.Errorf("Lookup by slug: %+v %v", d, ok)
	}
}

func TestOtherCitiesAndQuirks(t *testing.T) {
	for _, tc := range []struct {
		file, prop string
		n          int
		p          orb.Point
		want       string
	}{
		{"geo/muenchen-stadtbezirke.geojson", "NAME", 25, orb.Point{11.5755, 48.1372}, "Altstadt-Lehel"},
		{"geo/koeln-stadtbezirke.geojson", "STB_NAME", 9, orb.Point{6.9583, 50.9413}, "Innenstadt"},
		{"geo/stuttgart-umweltzone-fahrverbot.geojson", "name", 1, orb.Point{9.1800, 48.7784}, ""},
		{"geo/stuttgart-city-boundary-osm.geojson", "name", 1, orb.Point{9.1800, 48.7784}, "Stuttgart"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			ds, err := geo.LoadDistrictsFile(sharedData(t, tc.file), tc.prop, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds.All()) != tc.n {
				t.Fatalf("%d districts, want %d", len(ds.All()), tc.n)
			}
			got := ds.District(tc.p)
			if tc.want != "" && got != tc.want {
				t.Errorf("District(%v) = %q, want %q", tc.p, got, tc.want)
			}
			if tc.want == "" && got == "" {
				t.Errorf("District(%v) found nothing", tc.p)
			}
		})
	}
}

func TestLoadDistrictsErrors(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"not json", `nope`},
		{"no polygons", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"a"},"geometry":{"type":"Point","coordinates":[1,2]}}]}`},
		{"no name", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := geo.LoadDistricts(strings.NewReader(tc.body), "name", nil)
			if kessel.ErrorCode(err) != kessel.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestHoleExcluded(t *testing.T) {
	body := `{"type":"FeatureCollection","properties":{"x":1},"crs":{"type":"name"},"features":[{"type":"Feature","properties":{"name":"Ring"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[0,10],[10,10],[10,0],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}}]}`
	ds, err := geo.LoadDistricts(strings.NewReader(body), "name", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ds.District(orb.Point{5, 5}) != "" || ds.District(orb.Point{2, 2}) != "Ring" {
		t.Error("hole not honoured or clockwise ring not matched")
	}
}
