package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// Two districts splitting the simulators' Stuttgart box at 9.175°E.
const gdalDistricts = `{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"west","properties":{"name":"West"},"geometry":{"type":"Polygon","coordinates":[[[9.05,48.70],[9.175,48.70],[9.175,48.85],[9.05,48.85],[9.05,48.70]]]}},
 {"type":"Feature","id":"ost","properties":{"name":"Ost"},"geometry":{"type":"Polygon","coordinates":[[[9.175,48.70],[9.30,48.70],[9.30,48.85],[9.175,48.85],[9.175,48.70]]]}}]}`

// gdalPageSize is the page GDAL is told to ask for; the collection holds
// several pages of devices.
const gdalPageSize = 10

// TestGDALReadsOGCAPI opens a real `kessel serve`, fed by kessel-sim, with
// GDAL's OGC API – Features driver (OAPIF), as a GIS office would: ogrinfo
// lists the collections, ogr2ogr copies a collection of several pages into
// a GeoPackage with every device and typed columns, and a spatial filter
// (-spat, sent as bbox) returns exactly the devices in the box.
func TestGDALReadsOGCAPI(t *testing.T) {
	for _, tool := range []string{"ogrinfo", "ogr2ogr"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s not found (Debian gdal-bin; make test installs it)", tool)
		}
	}
	db := influxtest.Start(t)
	dir := t.TempDir()
	districts, cfg := filepath.Join(dir, "districts.geojson"), filepath.Join(dir, "kessel.yaml")
	os.WriteFile(districts, []byte(gdalDistricts), 0o644)
	os.WriteFile(cfg, []byte(`devices:
  - {id: hidden-air, kind: air_quality, visibility: internal, location: {lon: 9.18, lat: 48.78}}
`), 0o644)
	mqttAddr := testenv.FreePort(t)
	h := startHub(t, "kessel", "--influx-url", db.URL, "--mqtt-listen", mqttAddr, "--districts", districts, "--config", cfg)
	_, simBin := binaries(t)
	if out, err := exec.Command(simBin, "--broker", "tcp://"+mqttAddr, "--devices", "96", "--kinds", "air_quality,noise,weather", "--formats", "native,senml", "--districts", districts,
		"--count", "960", "--interval", "0", "--seed", "11", "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("kessel-sim: %v\n%s", err, out)
	}
	want := waitForLatest(t, "http://"+h.HTTP, "air_quality")
	if len(want) <= 2*gdalPageSize {
		t.Fatalf("only %d public air_quality devices: not several pages", len(want))
	}
	landing := "OAPIF:http://" + h.HTTP + "/ogcapi"

	out := gdal(t, "ogrinfo", "-ro", landing)
	t.Logf("ogrinfo -ro %s:\n%s", landing, out)
	for _, coll := range []string{"air_quality", "noise", "districts", "alerts"} {
		if !regexp.MustCompile(`(?m)^\d+: ` + coll + `\b`).MatchString(out) {
			t.Errorf("ogrinfo does not list collection %s:\n%s", coll, out)
		}
	}

	gpkg := filepath.Join(dir, "air.gpkg")
	out = gdal(t, "ogr2ogr", "--debug", "on", "-f", "GPKG", gpkg, landing, "air_quality", "-oo", fmt.Sprintf("PAGE_SIZE=%d", gdalPageSize))
	if pages := strings.Count(out, "/ogcapi/collections/air_quality/items?"); pages < len(want)/gdalPageSize {
		t.Errorf("GDAL fetched %d pages of items for %d devices at %d per page", pages, len(want), gdalPageSize)
	}
	if !strings.Contains(out, "OAPIF: Using JSON schema") {
		t.Errorf("GDAL did not take the columns from the collection's describedby schema:\n%s", out)
	}
	summary := gdal(t, "ogrinfo", "-ro", "-so", gpkg, "air_quality")
	t.Logf("ogrinfo -so %s air_quality:\n%s", filepath.Base(gpkg), summary)
	if !strings.Contains(summary, fmt.Sprintf("Feature Count: %d\n", len(want))) {
		t.Errorf("the GeoPackage does not hold the %d public air_quality devices", len(want))
	}
	wantColumns(t, summary, map[string]string{"pm10": "Real", "pm10_unit": "String", "pm25": "Real", "observed_at": "DateTime", "last_seen": "DateTime", "name": "String", "district": "String"})
	if got := gpkgIDs(t, gpkg); !slices.Equal(got, sortedKeys(want)) {
		t.Errorf("GeoPackage ids %v\nwant %v", got, sortedKeys(want))
	}

	wantColumns(t, gdal(t, "ogrinfo", "-ro", "-so", landing, "districts"), map[string]string{"name": "String", "devices": "Integer", "air_quality_devices": "Integer", "air_quality_pm10_mean": "Real"})

	box, inBox := boxAround(want)
	boxed := filepath.Join(dir, "box.gpkg")
	gdal(t, "ogr2ogr", "-f", "GPKG", boxed, landing, "air_quality", "-oo", fmt.Sprintf("PAGE_SIZE=%d", gdalPageSize),
		"-spat", fmt.Sprint(box[0]), fmt.Sprint(box[1]), fmt.Sprint(box[2]), fmt.Sprint(box[3]))
	if got := gpkgIDs(t, boxed); !slices.Equal(got, inBox) {
		t.Errorf("-spat %v: ids %v, want %v", box, got, inBox)
	}
	// GDAL filters again on its side: the server must have sent no more.
	var fc struct{ NumberMatched int }
	getJSON(t, fmt.Sprintf("http://%s/ogcapi/collections/air_quality/items?limit=10000&bbox=%g,%g,%g,%g", h.HTTP, box[0], box[1], box[2], box[3]), &fc)
	if fc.NumberMatched != len(inBox) {
		t.Errorf("the server matched %d devices in the box, want %d", fc.NumberMatched, len(inBox))
	}
	t.Logf("%d devices over %d+ pages, %d of them in %v", len(want), len(want)/gdalPageSize, len(inBox), box)
}

// waitForLatest polls the REST API until every public device of the kind
// has a latest reading, and returns their places by id.
func waitForLatest(t *testing.T, base, kind string) map[string][2]float64 {
	t.Helper()
	type list struct {
		Items []struct {
			ID       string
			Location struct{ Lon, Lat float64 }
		}
	}
	var devices, latest list
	testenv.Eventually(t, 30*time.Second, func() bool {
		getJSON(t, base+"/api/v1/devices?limit=10000&kind="+kind, &devices)
		getJSON(t, base+"/api/v1/latest?limit=10000&kind="+kind, &latest)
		return len(devices.Items) > 0 && len(latest.Items) == len(devices.Items)
	}, "not every %s device has a latest reading", kind)
	out := map[string][2]float64{}
	for _, d := range devices.Items {
		out[d.ID] = [2]float64{d.Location.Lon, d.Location.Lat}
	}
	return out
}

// boxAround is a box holding some of the devices but not all: from the
// south-west corner of their extent to the median place.
func boxAround(devs map[string][2]float64) ([4]float64, []string) {
	lons, lats := []float64{}, []float64{}
	for _, p := range devs {
		lons, lats = append(lons, p[0]), append(lats, p[1])
	}
	sort.Float64s(lons)
	sort.Float64s(lats)
	box := [4]float64{lons[0] - 0.001, lats[0] - 0.001, lons[len(lons)/2] + 1e-7, lats[len(lats)/2] + 1e-7}
	var in []string
	for id, p := range devs {
		if p[0] >= box[0] && p[0] <= box[2] && p[1] >= box[1] && p[1] <= box[3] {
			in = append(in, id)
		}
	}
	slices.Sort(in)
	return box, in
}

// wantColumns checks the fields an `ogrinfo -so` summary lists.
func wantColumns(t *testing.T, summary string, want map[string]string) {
	t.Helper()
	for col, typ := range want {
		if !strings.Contains(summary, "\n"+col+": "+typ+" ") {
			t.Errorf("column %s is not of type %s:\n%s", col, typ, summary)
		}
	}
}

func gdal(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "ERROR ") {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// gpkgIDs lists the id column of the GeoPackage's one layer, sorted.
func gpkgIDs(t *testing.T, gpkg string) []string {
	t.Helper()
	out := gdal(t, "ogrinfo", "-ro", "-q", "-al", gpkg)
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^\s+id \(String\) = (\S+)$`).FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	slices.Sort(ids)
	return ids
}

func sortedKeys(m map[string][2]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
