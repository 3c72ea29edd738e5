package api

import (
	"fmt"
	"strings"
	"time"
)

// The catalogue as RDF (DCAT-AP 3.0 with the DCAT-AP.de 2.0 additions that
// GovData harvests): a dcat:Catalog, a dcat:DataService for the API and one
// dcat:Dataset per device kind with distributions for the live API and for
// download.

const (
	euAuthority = "http://publications.europa.eu/resource/authority/"
	ianaMedia   = "https://www.iana.org/assignments/media-types/"
)

// kindInfo is what the catalogue says of a known device kind: titles that
// never change with the data, and the EU data themes.
type kindInfo struct {
	en, de string
	themes []string // EU data-theme codes
}

var kindInfos = map[string]kindInfo{
	"air_quality":  {"Air quality", "Luftqualität", []string{"ENVI", "HEAL"}},
	"noise":        {"Noise", "Lärm", []string{"ENVI", "HEAL"}},
	"traffic":      {"Traffic", "Verkehr", []string{"TRAN"}},
	"parking":      {"Parking", "Parken", []string{"TRAN"}},
	"weather":      {"Weather", "Wetter", []string{"ENVI"}},
	"water_level":  {"Water levels", "Pegelstände", []string{"ENVI"}},
	"road_surface": {"Road surface", "Straßenzustand", []string{"TRAN"}},
	"waste_bin":    {"Waste bin fill levels", "Füllstände von Abfallbehältern", []string{"ENVI", "GOVE"}},
	"wildfire":     {"Wildfire", "Waldbrand", []string{"ENVI"}},
}

func infoOf(kind string) kindInfo {
	if k, ok := kindInfos[kind]; ok {
		return k
	}
	name := strings.ReplaceAll(kind, "_", " ")
	if name != "" {
		name = strings.ToUpper(name[:1]) + name[1:]
	}
	return kindInfo{name, name, []string{"ENVI"}}
}

// distFormat is one way a dataset is served.
type distFormat struct {
	format, media, euType string
	download              bool // the URL returns a file to save
}

var distFormats = []distFormat{
	{"json", "application/json", "JSON", false},
	{"geojson", "application/geo+json", "GEOJSON", false},
	{"csv", "text/csv", "CSV", true},
}

// catalogGraph builds the catalogue's triples. base is the server's public
// URL without a trailing slash; kinds are the public devices' coverage per
// kind, sorted.
func catalogGraph(c Catalog, base string, kinds []*coverage) (*graph, term) {
	g := &graph{}
	cat := iri(base + "/api/v1/catalog")
	pub, contact, lic, public := iri(base+"/api/v1/catalog#publisher"), blank("contact"), iri(c.licenseIRI()), iri(euAuthority+"access-right/PUBLIC")
	service := iri(base + "/api/v1/catalog#api")

	g.add(cat, "rdf:type", qn("dcat:Catalog"))
	g.add(cat, "dct:title", text(c.Title, c.Language))
	g.add(cat, "dct:description", text(c.Description, c.Language))
	g.add(cat, "dct:publisher", pub)
	g.add(pub, "rdf:type", qn("foaf:Organization"), qn("foaf:Agent"))
	g.add(pub, "foaf:name", text(c.Publisher, ""))
	if c.PublisherURL != "" {
		g.add(pub, "foaf:homepage", iri(c.PublisherURL))
	}
	g.add(cat, "dct:license", lic)
	g.add(cat, "foaf:homepage", webPage(g, base+"/"))
	g.add(cat, "dct:language", concept(g, euAuthority+"language/"+c.languageCode(), "dct:LinguisticSystem"))
	from, to := catalogSpan(kinds)
	if !from.IsZero() {
		g.add(cat, "dct:issued", typed(from.UTC().Format(time.DateOnly), xsdDate))
	}
	if !to.IsZero() {
		g.add(cat, "dct:modified", typed(to.UTC().Format(time.RFC3339), xsdDateTime))
	}
	for _, k := range kinds {
		g.add(cat, "dcat:dataset", iri(datasetIRI(base, k.kind)))
	}
	g.add(cat, "dcat:service", service)
	addContact(g, contact, c, base)
	concept(g, lic.value, "dct:LicenseDocument")

	g.add(service, "rdf:type", qn("dcat:DataService"))
	g.add(service, "dct:title", text(c.Title+" – API", c.Language))
	g.add(service, "dct:description", text("REST API (OpenAPI 3) with the latest values, history and districts of the city's public sensors.", "en"))
	g.add(service, "dcat:endpointURL", resource(g, base+"/api/v1"))
	g.add(service, "dcat:endpointDescription", resource(g, base+"/api/v1/openapi.json"))
	g.add(service, "dcat:landingPage", webPage(g, base+"/docs"))
	g.add(service, "dct:publisher", pub)
	g.add(service, "dcat:contactPoint", contact)
	g.add(service, "dct:license", lic)
	g.add(service, "dct:accessRights", public)
	for _, k := range kinds {
		g.add(service, "dcat:servesDataset", iri(datasetIRI(base, k.kind)))
	}
	concept(g, public.value, "dct:RightsStatement")
	for _, k := range kinds {
		addDataset(g, c, base, k, datasetRefs{pub, contact, lic, public, service})
	}
	return g, cat
}

func datasetIRI(base, kind string) string { return base + "/api/v1/catalog#dataset-" + kind }

// catalogSpan is the oldest first reading and the newest reading over kinds.
func catalogSpan(kinds []*coverage) (from, to time.Time) {
	for _, k := range kinds {
		if !k.from.IsZero() && (from.IsZero() || k.from.Before(from)) {
			from = k.from
		}
		if k.to.After(to) {
			to = k.to
		}
	}
	return from, to
}

// conceptLabels are the preferred labels of the vocabulary terms the
// catalogue uses, as their vocabularies give them; a term not listed is
// labelled with its code (the last segment of its IRI).
var conceptLabels = map[string]term{
	"http://dcat-ap.de/def/licenses/dl-by-de/2.0":                       text("Datenlizenz Deutschland Namensnennung 2.0", "de"),
	"http://dcat-ap.de/def/licenses/dl-zero-de/2.0":                     text("Datenlizenz Deutschland Zero 2.0", "de"),
	"http://dcat-ap.de/def/licenses/cc-by/4.0":                          text("Creative Commons Namensnennung – 4.0 International (CC BY 4.0)", "de"),
	"http://dcat-ap.de/def/licenses/cc-zero":                            text("Creative Commons CC Zero License (cc-zero)", "de"),
	euAuthority + "language/ENG":                                        text("English", "en"),
	euAuthority + "language/DEU":                                        text("German", "en"),
	euAuthority + "access-right/PUBLIC":                                 text("public", "en"),
	euAuthority + "frequency/CONT":                                      text("continuous", "en"),
	euAuthority + "data-theme/ENVI":                                     text("Environment", "en"),
	euAuthority + "data-theme/HEAL":                                     text("Health", "en"),
	euAuthority + "data-theme/TRAN":                                     text("Transport", "en"),
	euAuthority + "data-theme/GOVE":                                     text("Government and public sector", "en"),
	"http://dcat-ap.de/def/plannedAvailability/stable":                  text("stabil", "de"),
	"http://dcat-ap.de/def/politicalGeocoding/Level/municipality":       text("Gemeinde", "de"),
	"http://dcat-ap.de/def/politicalGeocoding/municipalityKey/08111000": text("Stuttgart, Landeshauptstadt", "de"),
}

// concept states that a vocabulary term is a skos:Concept of its scheme
// (the IRI up to its last slash, for a licence the licence list) and of
// class, with its label, and returns it.
func concept(g *graph, v, class string) term {
	t := iri(v)
	scheme := v[:strings.LastIndexByte(v, '/')]
	if strings.HasPrefix(v, "http://dcat-ap.de/def/licenses/") {
		scheme = "http://dcat-ap.de/def/licenses"
	}
	g.add(t, "rdf:type", qn("skos:Concept"), qn(class))
	g.add(t, "skos:inScheme", iri(scheme))
	label, ok := conceptLabels[v]
	if !ok {
		label = text(v[strings.LastIndexByte(v, '/')+1:], "")
	}
	g.add(t, "skos:prefLabel", label)
	return t
}

// webPage is a web page (foaf:Document), resource any other web resource
// (rdfs:Resource): DCAT-AP's shapes check these classes without RDFS
// inference, so the catalogue states them.
func webPage(g *graph, url string) term {
	t := iri(url)
	g.add(t, "rdf:type", qn("foaf:Document"))
	return t
}

func resource(g *graph, url string) term {
	t := iri(url)
	g.add(t, "rdf:type", qn("rdfs:Resource"))
	return t
}

func addContact(g *graph, contact term, c Catalog, base string) {
	g.add(contact, "rdf:type", qn("vcard:Organization"))
	g.add(contact, "vcard:fn", text(c.Publisher, ""))
	if c.ContactEmail != "" {
		g.add(contact, "vcard:hasEmail", iri("mailto:"+c.ContactEmail))
	}
	if c.ContactURL != "" {
		g.add(contact, "vcard:hasURL", iri(c.ContactURL))
	} else if c.ContactEmail == "" {
		g.add(contact, "vcard:hasURL", iri(base+"/"))
	}
}

// datasetRefs are the nodes every dataset refers to.
type datasetRefs struct{ pub, contact, lic, access, service term }

func addDataset(g *graph, c Catalog, base string, k *coverage, r datasetRefs) {
	info := infoOf(k.kind)
	ds := iri(datasetIRI(base, k.kind))
	g.add(ds, "rdf:type", qn("dcat:Dataset"))
	g.add(ds, "dct:identifier", text(ds.value, ""))
	g.add(ds, "dct:title", text(info.de+": Messwerte der Sensoren", "de"), text(info.en+": sensor readings", "en"))
	de := fmt.Sprintf("Aktuelle Werte und Verlauf der öffentlichen Sensoren (%s) der Stadt, live über die API und als Download. Koordinaten WGS84, Zeiten UTC.", info.de)
	en := fmt.Sprintf("Latest values and history of the city's public %s sensors, live from the API and as downloads. Coordinates WGS84, times UTC.", strings.ToLower(info.en))
	if list := addQuantities(g, ds, k); list != "" {
		de, en = de+" Messgrößen: "+list+".", en+" Quantities: "+list+"."
	}
	g.add(ds, "dct:description", text(de, "de"), text(en, "en"))
	g.add(ds, "dcat:keyword", text(info.de, "de"), text(strings.ToLower(info.en), "en"), text("Sensor", "de"), text("smart city", "en"))
	for _, th := range info.themes {
		g.add(ds, "dcat:theme", concept(g, euAuthority+"data-theme/"+th, "skos:Concept"))
	}
	g.add(ds, "dcat:landingPage", webPage(g, base+"/"))
	g.add(ds, "dct:publisher", r.pub)
	g.add(ds, "dcat:contactPoint", r.contact)
	g.add(ds, "dct:accessRights", r.access)
	g.add(ds, "dct:accrualPeriodicity", concept(g, euAuthority+"frequency/CONT", "dct:Frequency"))
	g.add(ds, "dct:language", concept(g, euAuthority+"language/DEU", "dct:LinguisticSystem"), concept(g, euAuthority+"language/ENG", "dct:LinguisticSystem"))
	g.add(ds, "dcatde:contributorID", concept(g, c.ContributorID, "skos:Concept"))
	g.add(ds, "dcatde:politicalGeocodingURI", concept(g, c.PoliticalGeocodingURI, "skos:Concept"))
	g.add(ds, "dcatde:politicalGeocodingLevelURI", concept(g, c.PoliticalGeocodingLevelURI, "skos:Concept"))
	if !k.from.IsZero() {
		g.add(ds, "dct:issued", typed(k.from.UTC().Format(time.DateOnly), xsdDate))
		period := blank("period-" + k.kind)
		g.add(ds, "dct:temporal", period)
		g.add(period, "rdf:type", qn("dct:PeriodOfTime"))
		g.add(period, "dcat:startDate", typed(k.from.UTC().Format(time.RFC3339), xsdDateTime))
	}
	if k.hasReading {
		g.add(ds, "dct:modified", typed(k.to.UTC().Format(time.RFC3339), xsdDateTime))
	}
	if k.hasBound {
		b, place := k.bound, blank("place-"+k.kind)
		g.add(ds, "dct:spatial", place)
		g.add(place, "rdf:type", qn("dct:Location"))
		g.add(place, "dcat:bbox", typed(fmt.Sprintf("POLYGON((%g %g, %g %g, %g %g, %g %g, %g %g))",
			b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3], b[0], b[1]), expand("gsp:wktLiteral")))
	}
	for _, f := range distFormats {
		addDistribution(g, c, base, k.kind, f, r)
	}
	if !k.archived.IsZero() {
		addArchiveDistribution(g, c, base, k, r)
	}
}

// addQuantities describes what a dataset measures: each field a
// sosa:ObservableProperty related to the dataset (dct:relation), with its
// unit as a qudt:Unit named by its UCUM URI (qudt:ucumCode, qudt:symbol);
// it returns the list in words ("pm10 (µg/m³), …") for the description.
func addQuantities(g *graph, ds term, k *coverage) string {
	var words []string
	for _, f := range sortedKeys(k.quantities) {
		u := k.quantities[f]
		q := iri(ds.value + "-quantity-" + f)
		g.add(ds, "dct:relation", q)
		g.add(q, "rdf:type", qn("rdfs:Resource"), qn("sosa:ObservableProperty"))
		g.add(q, "rdfs:label", text(f, ""))
		w := f
		if u.Symbol != "" {
			w += " (" + u.Symbol + ")"
		}
		words = append(words, w)
		if uri := u.UCUMURI(); uri != "" {
			g.add(q, "qudt:unit", iri(uri))
			g.add(iri(uri), "rdf:type", qn("qudt:Unit"))
			g.add(iri(uri), "qudt:ucumCode", typed(u.UCUM, "http://qudt.org/schema/qudt/UCUMcs"))
			if u.Symbol != "" {
				g.add(iri(uri), "qudt:symbol", text(u.Symbol, ""))
			}
			g.add(iri(uri), "rdfs:label", text(u.Name, "en"))
		}
	}
	return strings.Join(words, ", ")
}

func addDistribution(g *graph, c Catalog, base, kind string, f distFormat, r datasetRefs) {
	d := iri(datasetIRI(base, kind) + "-" + f.format)
	url := resource(g, fmt.Sprintf("%s/api/v1/latest?kind=%s&format=%s", base, kind, f.format))
	g.add(iri(datasetIRI(base, kind)), "dcat:distribution", d)
	g.add(d, "rdf:type", qn("dcat:Distribution"))
	what := "live from the API"
	if f.download {
		what = "download"
	}
	g.add(d, "dct:title", text(fmt.Sprintf("Latest values as %s (%s)", strings.ToUpper(f.format), what), "en"))
	g.add(d, "dcat:accessURL", url)
	if f.download {
		g.add(d, "dcat:downloadURL", url)
	}
	g.add(d, "dcat:accessService", r.service)
	g.add(d, "dcat:mediaType", iri(ianaMedia+f.media))
	g.add(iri(ianaMedia+f.media), "rdf:type", qn("dct:MediaType"))
	g.add(d, "dct:format", concept(g, euAuthority+"file-type/"+f.euType, "dct:MediaTypeOrExtent"))
	g.add(d, "dct:license", r.lic)
	if c.needsAttribution() {
		g.add(d, "dcatde:licenseAttributionByText", text(c.Publisher, ""))
	}
	g.add(d, "dcatde:plannedAvailability", concept(g, "http://dcat-ap.de/def/plannedAvailability/stable", "skos:Concept"))
}
