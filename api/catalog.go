package api

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// Catalog describes the publisher of the open data for GET /catalog.
type Catalog struct {
	Title        string `yaml:"title"`
	Description  string `yaml:"description"`
	Publisher    string `yaml:"publisher"`
	ContactEmail string `yaml:"contact_email"`
	// License is a DCAT-AP.de licence id; default dl-by-de/2.0
	// (Datenlizenz Deutschland – Namensnennung 2.0).
	License string `yaml:"license"`
	// BaseURL is the public URL of this server, for the access URLs;
	// default: taken from the request.
	BaseURL string `yaml:"base_url"`
}

// handleCatalog serves the open-data catalogue as DCAT-AP.de JSON-LD: one
// dataset per device kind with JSON, GeoJSON and CSV distributions, licence,
// publisher, contact point, spatial (bounding box) and temporal coverage.
func (s *server) handleCatalog() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := s.opts.Catalog.withDefaults()
		base := strings.TrimRight(c.BaseURL, "/")
		if base == "" {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			base = scheme + "://" + r.Host
		}
		s.encode(w, r, catalogDoc(c, base, coverageByKind(s.devices.Query(kessel.DeviceQuery{}))), reply{media: mediaJSONLD, cache: cacheStatic})
	})
}

func (c Catalog) withDefaults() Catalog {
	if c.Title == "" {
		c.Title = "Kessel smart-city sensor data"
	}
	if c.Publisher == "" {
		c.Publisher = "City IT office"
	}
	if c.License == "" {
		c.License = "dl-by-de/2.0"
	}
	return c
}

// coverage is what the catalogue tells of one kind's devices.
type coverage struct {
	kind       string
	bound      [4]float64 // minLon, minLat, maxLon, maxLat
	from, to   time.Time
	n          int
	hasBound   bool
	hasReading bool
}

// coverageByKind sums up the devices per kind, sorted by kind.
func coverageByKind(states []kessel.DeviceState) []*coverage {
	kinds := map[string]*coverage{}
	for _, st := range states {
		d := st.Device
		k := kinds[d.Kind]
		if k == nil {
			k = &coverage{kind: d.Kind}
			kinds[d.Kind] = k
		}
		k.n++
		if p := d.Location; p != nil {
			if !k.hasBound {
				k.bound, k.hasBound = [4]float64{p[0], p[1], p[0], p[1]}, true
			}
			k.bound = [4]float64{min(k.bound[0], p[0]), min(k.bound[1], p[1]), max(k.bound[2], p[0]), max(k.bound[3], p[1])}
		}
		if !d.CreatedAt.IsZero() && (k.from.IsZero() || d.CreatedAt.Before(k.from)) {
			k.from = d.CreatedAt
		}
		if d.LastSeen.After(k.to) {
			k.to, k.hasReading = d.LastSeen, true
		}
	}
	out := slices.Collect(maps.Values(kinds))
	slices.SortFunc(out, func(a, b *coverage) int { return strings.Compare(a.kind, b.kind) })
	return out
}

func catalogDoc(c Catalog, base string, kinds []*coverage) obj {
	license := obj{"@id": "http://dcat-ap.de/def/licenses/" + c.License}
	publisher := obj{"@type": "foaf:Organization", "foaf:name": c.Publisher}
	contact := obj{"@type": "vcard:Organization", "vcard:fn": c.Publisher}
	if c.ContactEmail != "" {
		contact["vcard:hasEmail"] = obj{"@id": "mailto:" + c.ContactEmail}
	}
	var datasets []any
	for _, k := range kinds {
		ds := obj{
			"@type":          "dcat:Dataset",
			"@id":            base + "/api/v1/catalog#" + k.kind,
			"dct:identifier": k.kind,
			"dct:title":      fmt.Sprintf("%s sensor readings (%d devices)", strings.ReplaceAll(k.kind, "_", " "), k.n),
			"dct:description": fmt.Sprintf("Latest values and history of the public %s sensors, from the city's Kessel hub. Coordinates WGS84; times UTC.",
				strings.ReplaceAll(k.kind, "_", " ")),
			"dct:license": license, "dct:publisher": publisher, "dcat:contactPoint": contact,
			"dcatde:licenseAttributionByText": c.Publisher,
			"dcat:keyword":                    []string{k.kind, "sensor", "smart city", "open data"},
			"dcat:distribution": []any{
				distribution(base, k.kind, "json", "application/json", "JSON", license),
				distribution(base, k.kind, "geojson", "application/geo+json", "GEOJSON", license),
				distribution(base, k.kind, "csv", "text/csv", "CSV", license),
			},
		}
		if k.hasBound {
			b := k.bound
			ds["dct:spatial"] = obj{"@type": "dct:Location", "dcat:bbox": fmt.Sprintf("POLYGON((%g %g, %g %g, %g %g, %g %g, %g %g))",
				b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3], b[0], b[1])}
		}
		if k.hasReading {
			ds["dct:temporal"] = obj{"@type": "dct:PeriodOfTime", "dcat:startDate": k.from.UTC().Format(time.RFC3339), "dcat:endDate": k.to.UTC().Format(time.RFC3339)}
		}
		datasets = append(datasets, ds)
	}
	return obj{
		"@context": obj{"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
			"dcatde": "http://dcat-ap.de/def/dcatde/", "vcard": "http://www.w3.org/2006/vcard/ns#"},
		"@type": "dcat:Catalog", "@id": base + "/api/v1/catalog",
		"dct:title": c.Title, "dct:description": c.Description, "dct:publisher": publisher, "dct:license": license,
		"foaf:homepage": obj{"@id": base + "/docs"}, "dcat:dataset": datasets,
	}
}

func distribution(base, kind, format, media, euFormat string, license obj) obj {
	return obj{
		"@type":                      "dcat:Distribution",
		"dct:title":                  strings.ToUpper(format) + " of the latest values",
		"dcat:accessURL":             obj{"@id": fmt.Sprintf("%s/api/v1/latest?kind=%s&format=%s", base, kind, format)},
		"dcat:mediaType":             media,
		"dct:format":                 obj{"@id": "http://publications.europa.eu/resource/authority/file-type/" + euFormat},
		"dct:license":                license,
		"dcatde:plannedAvailability": obj{"@id": "http://dcat-ap.de/def/plannedAvailability/stable"},
	}
}

func (s *server) handleUsage() http.Handler {
	type row struct {
		Day      string `json:"day"`
		Endpoint string `json:"endpoint"`
		Dataset  string `json:"dataset,omitempty"`
		Requests int    `json:"requests"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		counts, err := s.usage.rows(r.Context())
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		rows := make([]row, 0, len(counts))
		for _, c := range counts {
			rows = append(rows, row{c.Day, c.Endpoint, c.Dataset, c.Requests})
		}
		slices.SortFunc(rows, func(a, b row) int {
			return strings.Compare(a.Day+"\x00"+a.Endpoint+"\x00"+a.Dataset, b.Day+"\x00"+b.Endpoint+"\x00"+b.Dataset)
		})
		if format == formatCSV {
			out := [][]string{{"day", "endpoint", "dataset", "requests"}}
			for _, r := range rows {
				out = append(out, []string{r.Day, r.Endpoint, r.Dataset, fmt.Sprint(r.Requests)})
			}
			s.encode(w, r, csvBytes(out), reply{media: mediaCSV, cache: cacheHistory})
			return
		}
		s.encode(w, r, listJSON{Items: rows, Count: len(rows), Total: len(rows)}, reply{cache: cacheHistory})
	})
}
