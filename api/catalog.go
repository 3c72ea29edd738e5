package api

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kessel-city/kessel"
)

// Catalog describes the publisher of the open data for GET /catalog, a
// DCAT-AP.de catalogue as GovData harvests it.
type Catalog struct {
	Title        string `yaml:"title"`
	Description  string `yaml:"description"`
	Publisher    string `yaml:"publisher"`
	PublisherURL string `yaml:"publisher_url"`
	ContactEmail string `yaml:"contact_email"`
	// ContactURL is a contact form; without it and without an e-mail
	// address the contact point links the citizens' page.
	ContactURL string `yaml:"contact_url"`
	// License is a licence of http://dcat-ap.de/def/licenses/ by its id
	// (dl-by-de/2.0, dl-zero-de/2.0, cc-by/4.0, cc-zero) or the common
	// names dl-de/by-2-0, dl-de/zero-2-0, CC-BY-4.0, CC0-1.0; default
	// dl-by-de/2.0 (Datenlizenz Deutschland – Namensnennung 2.0). Choose
	// cc-by/4.0 for High-Value Datasets.
	License string `yaml:"license"`
	// BaseURL is the public URL of this server, for the access URLs;
	// default: taken from the request.
	BaseURL string `yaml:"base_url"`
	// ContributorID is the publisher's IRI in GovData's list
	// http://dcat-ap.de/def/contributors/; default …/stadtStuttgart.
	ContributorID string `yaml:"contributor_id"`
	// PoliticalGeocodingURI is the area the data covers, an IRI of a
	// DCAT-AP.de political geocoding vocabulary; default Stuttgart's
	// municipality key, …/municipalityKey/08111000.
	PoliticalGeocodingURI string `yaml:"political_geocoding_uri"`
	// PoliticalGeocodingLevelURI is that area's level; default
	// http://dcat-ap.de/def/politicalGeocoding/Level/municipality.
	PoliticalGeocodingLevelURI string `yaml:"political_geocoding_level_uri"`
	// Language is the language of Title and Description (BCP 47: de, en);
	// default en.
	Language string `yaml:"language"`
}

// licenses maps accepted names to DCAT-AP.de licence ids.
var licenses = map[string]string{
	"dl-by-de/2.0": "dl-by-de/2.0", "dl-de/by-2-0": "dl-by-de/2.0", "dl-de-by-2.0": "dl-by-de/2.0",
	"dl-zero-de/2.0": "dl-zero-de/2.0", "dl-de/zero-2-0": "dl-zero-de/2.0", "dl-de-zero-2.0": "dl-zero-de/2.0",
	"cc-by/4.0": "cc-by/4.0", "cc-by-4.0": "cc-by/4.0",
	"cc-zero": "cc-zero", "cc0-1.0": "cc-zero",
}

// languages maps the BCP 47 tags Language accepts to EU language codes.
var languages = map[string]string{"de": "DEU", "en": "ENG"}

// Validate checks the licence and language; it returns EINVALID naming
// the accepted values.
func (c Catalog) Validate() error {
	c = c.withDefaults()
	if _, ok := licenses[strings.ToLower(c.License)]; !ok {
		return kessel.Errorf(kessel.EINVALID, "catalog: unknown license %q; use dl-by-de/2.0, dl-zero-de/2.0, cc-by/4.0 or cc-zero", c.License)
	}
	if _, ok := languages[c.Language]; !ok {
		return kessel.Errorf(kessel.EINVALID, "catalog: unknown language %q; use de or en", c.Language)
	}
	return nil
}

func (c Catalog) withDefaults() Catalog {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&c.Title, "Kessel smart-city sensor data")
	def(&c.Description, "Readings of the city's public sensors: latest values and history, per kind of device.")
	def(&c.Publisher, "City IT office")
	def(&c.License, "dl-by-de/2.0")
	def(&c.ContributorID, "http://dcat-ap.de/def/contributors/stadtStuttgart")
	def(&c.PoliticalGeocodingURI, "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/08111000")
	def(&c.PoliticalGeocodingLevelURI, "http://dcat-ap.de/def/politicalGeocoding/Level/municipality")
	def(&c.Language, "en")
	return c
}

func (c Catalog) licenseIRI() string {
	return "http://dcat-ap.de/def/licenses/" + cmp.Or(licenses[strings.ToLower(c.License)], "dl-by-de/2.0")
}

func (c Catalog) languageCode() string { return cmp.Or(languages[c.Language], "ENG") }

// needsAttribution: the "by" licences name the publisher.
func (c Catalog) needsAttribution() bool { return strings.Contains(c.licenseIRI(), "by") }

// OldestReader is the store's answer to "since when is there data of this
// kind": each device's oldest stored reading. influx.Client has it.
type OldestReader interface {
	Oldest(ctx context.Context, kind string) (map[string]time.Time, error)
}

// oldestCache keeps the oldest reading per kind for ten minutes: it only
// moves when retention drops old data.
type oldestCache struct {
	mu   sync.Mutex
	by   map[string]map[string]time.Time
	when map[string]time.Time
}

func (o *oldestCache) get(ctx context.Context, r OldestReader, kind string, now time.Time) (map[string]time.Time, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t, ok := o.when[kind]; ok && now.Sub(t) < 10*time.Minute {
		return o.by[kind], nil
	}
	m, err := r.Oldest(ctx, kind)
	if err != nil {
		return nil, err
	}
	if o.by == nil {
		o.by, o.when = map[string]map[string]time.Time{}, map[string]time.Time{}
	}
	o.by[kind], o.when[kind] = m, now
	return m, nil
}

// handleCatalog serves the open-data catalogue. format is "" to negotiate
// (JSON-LD unless the client prefers Turtle or RDF/XML), or one of the
// fixed formats of the stable links /catalog.jsonld, .ttl and .rdf.
func (s *server) handleCatalog(format string) http.Handler {
	oldest := &oldestCache{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := format
		if f == "" {
			f = negotiateRDF(r.Header.Get("Accept"))
		}
		c := s.opts.Catalog.withDefaults()
		base := strings.TrimRight(c.BaseURL, "/")
		if base == "" {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			base = scheme + "://" + r.Host
		}
		g, root := catalogGraph(c, base, s.coverage(r.Context(), oldest))
		var body []byte
		var err error
		switch f {
		case rdfTurtle:
			body = g.turtle()
		case rdfXML:
			body = g.rdfXML()
		default:
			body, err = g.jsonLD(root)
		}
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		s.encode(w, r, body, reply{media: f, cache: cacheStatic})
	})
}

// coverage sums up the public devices per kind, with each kind's oldest
// stored reading when the store can tell (else no temporal extent).
func (s *server) coverage(ctx context.Context, oldest *oldestCache) []*coverage {
	kinds := coverageByKind(s.devices.Query(kessel.DeviceQuery{}))
	s.archived(kinds)
	or, ok := s.readings.(OldestReader)
	if !ok {
		return kinds
	}
	for _, k := range kinds {
		first, err := oldest.get(ctx, or, k.kind, s.opts.Now())
		if err != nil {
			s.log.Warn("catalog: no temporal extent", "kind", k.kind, "err", err)
			continue
		}
		for _, id := range k.ids {
			if t, ok := first[id]; ok && (k.from.IsZero() || t.Before(k.from)) {
				k.from = t
			}
		}
	}
	return kinds
}

// coverage is what the catalogue tells of one kind's public devices.
type coverage struct {
	kind       string
	ids        []string
	bound      [4]float64 // minLon, minLat, maxLon, maxLat
	from, to   time.Time  // oldest stored reading, newest reading
	hasBound   bool
	hasReading bool
	archived   time.Time // newest archive day with this kind's file
	// quantities are the fields the devices' latest readings measure,
	// with their units (kessel.UnitOf; zero where none is known).
	quantities map[string]kessel.Unit
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
		k.ids = append(k.ids, d.ID)
		if st.Latest != nil {
			if k.quantities == nil {
				k.quantities = map[string]kessel.Unit{}
			}
			for f := range st.Latest.Values { // values only: link data is no quantity
				if _, seen := k.quantities[f]; !seen {
					k.quantities[f], _ = kessel.UnitOf(&st.Device, st.Latest, f)
				}
			}
		}
		if p := d.Location; p != nil {
			if !k.hasBound {
				k.bound, k.hasBound = [4]float64{p[0], p[1], p[0], p[1]}, true
			}
			k.bound = [4]float64{min(k.bound[0], p[0]), min(k.bound[1], p[1]), max(k.bound[2], p[0]), max(k.bound[3], p[1])}
		}
		if d.LastSeen.After(k.to) {
			k.to, k.hasReading = d.LastSeen, true
		}
	}
	out := slices.Collect(maps.Values(kinds))
	slices.SortFunc(out, func(a, b *coverage) int { return strings.Compare(a.kind, b.kind) })
	return out
}

// The catalogue's media types.
const (
	rdfJSONLD = mediaJSONLD
	rdfTurtle = "text/turtle; charset=utf-8"
	rdfXML    = "application/rdf+xml"
)

// negotiateRDF picks the catalogue's media type from an Accept header:
// the highest q among JSON-LD (also for application/json and */*), Turtle
// and RDF/XML, the first listed on a tie; JSON-LD when none is acceptable.
func negotiateRDF(accept string) string {
	best, bestQ := rdfJSONLD, -1.0
	for _, part := range strings.Split(accept, ",") {
		media, q := parseAcceptPart(part)
		var f string
		switch media {
		case "application/ld+json", "application/json", "*/*", "application/*":
			f = rdfJSONLD
		case "text/turtle", "text/*":
			f = rdfTurtle
		case "application/rdf+xml":
			f = rdfXML
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = f, q
		}
	}
	return best
}

// parseAcceptPart splits one element of an Accept header into its media
// type (lower case, no parameters) and its q value (default 1; a bad q
// counts as 0).
func parseAcceptPart(part string) (string, float64) {
	media, params, _ := strings.Cut(part, ";")
	q := 1.0
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(k, "q") {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x < 0 || x > 1 {
				x = 0
			}
			q = x
		}
	}
	return strings.ToLower(strings.TrimSpace(media)), q
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
