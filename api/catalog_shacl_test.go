package api_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/internal/testenv"
)

// hostileName is a publisher name that every serialiser must escape.
const hostileName = "Stadt \"Test\" <Amt> & Co \\ Zeile\nzwei ä"

// shaclReport is what testdata/shacl/validate.mjs prints.
type shaclReport struct {
	Conforms bool
	Triples  int
	Names    []string
	Results  []struct{ Severity, Focus, Path, Value, Message, Shape string }
}

const shViolation = "http://www.w3.org/ns/shacl#Violation"

// shaclValidator returns a function that validates an RDF file with the
// official DCAT-AP 3.0.0 and GovData DCAT-AP.de shapes in
// ../shared/data/dcat-shacl (rdf-validate-shacl from npm, run by node).
func shaclValidator(t *testing.T) func(file string) shaclReport {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node not found")
	}
	dir, _ := filepath.Abs("testdata/shacl")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "rdf-validate-shacl")); err != nil {
		testenv.Missing(t, "the SHACL validator is not installed (npm ci --prefix api/testdata/shacl)")
	}
	shapes := filepath.Join(testenv.ModuleRoot(), "..", "shared", "data", "dcat-shacl")
	if _, err := os.Stat(filepath.Join(shapes, "dcat-ap-3.0.0-SHACL.ttl")); err != nil {
		testenv.Missing(t, "the DCAT-AP SHACL shapes are not in %s (the shared test data is missing)", shapes)
	}
	return func(file string) shaclReport {
		t.Helper()
		out, err := exec.Command(node, filepath.Join(dir, "validate.mjs"), file, shapes).Output()
		var rep shaclReport
		if err != nil || json.Unmarshal(out, &rep) != nil {
			t.Fatalf("validator on %s: %v\n%s", filepath.Base(file), err, out)
		}
		return rep
	}
}

// TestCatalogPassesSHACL validates the catalogue of a server with devices
// and readings stored in a real InfluxDB, in each of its three formats and
// for each licence, and fails on any result of severity Violation.
func TestCatalogPassesSHACL(t *testing.T) {
	validate := shaclValidator(t)
	db := influxtest.Start(t)
	for i, tc := range []struct {
		name    string
		catalog api.Catalog
	}{
		{"dl-de/by-2-0, e-mail contact, escaped publisher", api.Catalog{Title: "Stuttgart sensor data", Publisher: hostileName, ContactEmail: "opendata@example.org"}},
		{"CC BY 4.0, German, contact form only", api.Catalog{Title: "Sensordaten Stuttgart", Description: "Messwerte im öffentlichen Raum.", Language: "de",
			Publisher: hostileName, ContactURL: "https://www.stuttgart.de/kontakt", License: "cc-by/4.0", PublisherURL: "https://www.stuttgart.de/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWith(t, db.URL, func(o *api.Options) { o.Catalog, o.Archive = tc.catalog, archiveDay(t, "air_quality") })
			if i == 0 {
				storeCatalogReadings(t, f)
			}
			checkCatalogSHACL(t, f, validate)
			if _, ttl := f.get(t, "/api/v1/catalog.ttl"); !strings.Contains(string(ttl), "/archive/2026/11/29/air_quality.csv.gz") {
				t.Errorf("the catalogue (checked above) has no archive download distribution")
			}
		})
	}
}

func storeCatalogReadings(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	if err := f.store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.store.WriteReadings(ctx, []kessel.Reading{
		{Device: "air-1", Kind: "air_quality", Time: f.now.Add(-72 * time.Hour), Values: map[string]float64{"pm10": 12}},
		{Device: "noise-1", Kind: "noise", Time: f.now.Add(-time.Hour), Values: map[string]float64{"laeq": 55}},
		{Device: "secret-1", Kind: "air_quality", Time: f.now.Add(-240 * time.Hour), Values: map[string]float64{"pm10": 99}}, // internal
	}); err != nil {
		t.Fatal(err)
	}
}

func checkCatalogSHACL(t *testing.T, f *fixture, validate func(string) shaclReport) {
	// The temporal extent starts at the oldest reading of a public device.
	_, ttl := f.get(t, "/api/v1/catalog.ttl")
	start := `dcat:startDate "` + f.now.Add(-72*time.Hour).Format(time.RFC3339) + `"^^xsd:dateTime`
	if !strings.Contains(string(ttl), start) || !strings.Contains(string(ttl), `dct:issued "2026-11-20"^^xsd:date`) {
		t.Errorf("temporal extent: want %s and issued 2026-11-20 in\n%s", start, ttl)
	}
	dir := t.TempDir()
	counts := map[string]int{}
	for _, ext := range []string{"ttl", "rdf", "jsonld"} {
		resp, body := f.get(t, "/api/v1/catalog."+ext)
		if resp.StatusCode != 200 {
			t.Fatalf("catalog.%s: %d %s", ext, resp.StatusCode, body)
		}
		file := filepath.Join(dir, "catalog."+ext)
		if err := os.WriteFile(file, body, 0o644); err != nil {
			t.Fatal(err)
		}
		rep := validate(file)
		counts[ext] = rep.Triples
		for _, r := range rep.Results {
			if r.Severity == shViolation {
				t.Errorf("%s: violation at %s %s: %s (%s)", ext, r.Focus, r.Path, r.Message, r.Shape)
			} else {
				t.Logf("%s: %s at %s %s: %s", ext, strings.TrimPrefix(r.Severity, "http://www.w3.org/ns/shacl#"), r.Focus, r.Path, r.Message)
			}
		}
		if len(rep.Names) != 1 || rep.Names[0] != hostileName {
			t.Errorf("%s: publisher name read back as %q", ext, rep.Names)
		}
	}
	if counts["ttl"] < 100 || counts["rdf"] != counts["ttl"] || counts["jsonld"] != counts["ttl"] {
		t.Errorf("the three formats hold different graphs: %v triples", counts)
	}

	// The validator must be able to fail: without the contributor ID
	// GovData rejects a dataset.
	broken := regexp.MustCompile(`(?m)^\s*dcatde:contributorID .*\n`).ReplaceAll(ttl, nil)
	file := filepath.Join(dir, "broken.ttl")
	if err := os.WriteFile(file, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	violations := 0
	for _, r := range validate(file).Results {
		if r.Severity == shViolation && strings.HasSuffix(r.Path, "contributorID") {
			violations++
		}
	}
	if violations == 0 {
		t.Errorf("a catalogue without dcatde:contributorID passed the shapes")
	}
}

// staticArchive is an archive of one day holding one kind's file: the
// catalogue lists it as a download distribution.
type staticArchive struct {
	dir string
	day time.Time
}

func (a staticArchive) Dir() string                            { return a.dir }
func (a staticArchive) Days() ([]time.Time, error)             { return []time.Time{a.day}, nil }
func (a staticArchive) Build(context.Context, time.Time) error { return nil }

func archiveDay(t *testing.T, kind string) staticArchive {
	t.Helper()
	a := staticArchive{dir: t.TempDir(), day: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)}
	folder := filepath.Join(a.dir, "2026", "11", "29")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, kind+".csv.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return a
}
