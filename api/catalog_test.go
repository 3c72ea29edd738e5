package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
)

// TestCatalogNegotiation: GET /catalog picks its representation from
// Accept; the stable links ignore it; HEAD answers the same headers.
func TestCatalogNegotiation(t *testing.T) {
	f := newFixture(t, "")
	for _, tc := range []struct {
		name, path, accept, method, wantType, wantStart string
	}{
		{"default JSON-LD", "/api/v1/catalog", "", http.MethodGet, "application/ld+json", "{"},
		{"browser", "/api/v1/catalog", "text/html,application/xhtml+xml,*/*;q=0.8", http.MethodGet, "application/ld+json", "{"},
		{"turtle", "/api/v1/catalog", "text/turtle", http.MethodGet, "text/turtle; charset=utf-8", "@prefix"},
		{"rdf/xml preferred by q", "/api/v1/catalog", "text/turtle;q=0.5, application/rdf+xml", http.MethodGet, "application/rdf+xml", "<?xml"},
		{"q=0 refuses", "/api/v1/catalog", "application/rdf+xml;q=0, text/turtle;q=0.1", http.MethodGet, "text/turtle; charset=utf-8", "@prefix"},
		{"nothing acceptable", "/api/v1/catalog", "image/png", http.MethodGet, "application/ld+json", "{"},
		{"stable .ttl", "/api/v1/catalog.ttl", "application/ld+json", http.MethodGet, "text/turtle; charset=utf-8", "@prefix"},
		{"stable .rdf", "/api/v1/catalog.rdf", "", http.MethodGet, "application/rdf+xml", "<?xml"},
		{"stable .jsonld", "/api/v1/catalog.jsonld", "text/turtle", http.MethodGet, "application/ld+json", "{"},
		{"HEAD .ttl", "/api/v1/catalog.ttl", "", http.MethodHead, "text/turtle; charset=utf-8", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.accept != "" {
				hdr = []string{"Accept", tc.accept}
			}
			resp, body := f.do(t, tc.method, tc.path, "", hdr...)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.wantType || !strings.HasPrefix(string(body), tc.wantStart) {
				t.Errorf("%d %q %.40q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if tc.method == http.MethodHead && len(body) != 0 {
				t.Errorf("HEAD sent a body")
			}
		})
	}
	resp, _ := f.do(t, http.MethodPost, "/api/v1/catalog.ttl", "")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

// TestCatalogLicense: the licence comes from the config.
func TestCatalogLicense(t *testing.T) {
	for _, tc := range []struct{ name, license, want string }{
		{"default", "", "<http://dcat-ap.de/def/licenses/dl-by-de/2.0>"},
		{"common name", "dl-de/by-2-0", "<http://dcat-ap.de/def/licenses/dl-by-de/2.0>"},
		{"CC BY 4.0 for High-Value Datasets", "cc-by/4.0", "<http://dcat-ap.de/def/licenses/cc-by/4.0>"},
		{"CC BY 4.0 by SPDX id", "CC-BY-4.0", "<http://dcat-ap.de/def/licenses/cc-by/4.0>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := api.Catalog{License: tc.license}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			f := newFixtureWith(t, "", func(o *api.Options) { o.Catalog = c })
			_, body := f.get(t, "/api/v1/catalog.ttl")
			if n := strings.Count(string(body), "dct:license "+tc.want); n != 1+1+6 { // catalogue, API, 2 datasets × 3 distributions
				t.Errorf("%d times dct:license %s in\n%s", n, tc.want, body)
			}
		})
	}
	if err := (api.Catalog{License: "all rights reserved"}).Validate(); err == nil {
		t.Error("an unknown licence passed")
	}
}

// TestCatalogQuantities: each dataset names what it measures, with units
// from the one table, and never the readings' link data.
func TestCatalogQuantities(t *testing.T) {
	f := newFixture(t, "")
	f.reg.Observe([]kessel.Reading{{Device: "air-2", Kind: "air_quality", Time: f.now.Add(time.Second),
		Values: map[string]float64{"pm10": 40, "pm25": 10}, Link: map[string]float64{"rssi": -100}}})
	_, body := f.get(t, "/api/v1/catalog.ttl")
	for _, tc := range []struct {
		name, want string
		present    bool
	}{
		{"description in words", "Quantities: pm10 (µg/m³), pm25 (µg/m³).", true},
		{"quantity node", "catalog#dataset-air_quality-quantity-pm25>", true},
		{"UCUM code", `qudt:ucumCode "ug/m3"^^qudt:UCUMcs`, true},
		{"unit as UCUM URI", "<http://www.opengis.net/def/uom/UCUM/0/ug%2Fm3>", true},
		{"no link data", "rssi", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(string(body), tc.want) != tc.present {
				t.Errorf("%q present: %v, want %v\n%s", tc.want, !tc.present, tc.present, body)
			}
		})
	}
}
