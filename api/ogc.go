package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
)

// OGC API – Features, Part 1 (OGC 17-069r4): Kessel's collections for GIS
// tools, under /ogcapi. The conformance classes served are Core, GeoJSON
// and OpenAPI 3.0; every answer is JSON (there is no HTML encoding).
//
// Collections: one per device kind ("air_quality", …: its devices with
// their latest values as flat, typed properties), "districts" (polygons
// with the current aggregates of their public devices) and "alerts" (the
// active alerts: firing or pending). Visibility is the REST API's: internal
// devices need data:internal, internal alerts alerts:manage.

// OGCBasePath is where the OGC API – Features landing page is served.
const OGCBasePath = "/ogcapi"

// Page sizes of /ogcapi/collections/{id}/items. A limit above
// OGCMaxLimit is served as OGCMaxLimit, as the standard asks.
const (
	OGCDefaultLimit = 100
	OGCMaxLimit     = 10000
)

// Media types of the OGC API.
const (
	ogcJSON         = "application/json"
	ogcGeoJSON      = "application/geo+json"
	ogcOpenAPIMedia = "application/vnd.oai.openapi+json;version=3.0"
	ogcSchemaMedia  = "application/schema+json"
)

// ogcConformance lists the conformance classes this server implements.
var ogcConformance = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
}

const crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

// ogcRoute is one route of the OGC API: path below OGCBasePath, metrics
// name, the query parameters it accepts besides f, and its handler.
type ogcRoute struct {
	path, name string
	params     []string
	handler    func(s *server) http.Handler
}

// ogcRouteTable lists every OGC route; ogcRoutes mounts it and the OpenAPI
// documents describe it, so the three cannot drift apart.
func ogcRouteTable() []ogcRoute {
	return []ogcRoute{
		{"", "ogc_landing", nil, (*server).handleOGCLanding},
		{"/", "ogc_landing", nil, (*server).handleOGCLanding},
		{"/conformance", "ogc_conformance", nil, (*server).handleOGCConformance},
		{"/api", "ogc_api", nil, (*server).handleOGCAPI},
		{"/collections", "ogc_collections", nil, (*server).handleOGCCollections},
		{"/collections/{collectionId}", "ogc_collection", nil, (*server).handleOGCCollection},
		{"/collections/{collectionId}/schema", "ogc_schema", nil, (*server).handleOGCSchema},
		{"/collections/{collectionId}/items", "ogc_items", []string{"limit", "bbox", "datetime", "cursor"}, (*server).handleOGCItems},
		{"/collections/{collectionId}/items/{featureId}", "ogc_feature", nil, (*server).handleOGCFeature},
	}
}

// ogcRoutes mounts the OGC API on r under OGCBasePath. Every route answers
// GET and HEAD, public without a key and rate limited as a read, and
// OPTIONS (CORS preflight); another method is the router's 405 with Allow.
// A query parameter the route does not know is a 400, as the standard
// requires. (Routes on r itself, not on a subrouter: gorilla/mux 1.8.1
// loses a subrouter's method mismatch.)
func (s *server) ogcRoutes(r *mux.Router) {
	for _, rt := range ogcRouteTable() {
		h := s.instrument(rt.name, s.limit(ClassRead, s.ogcParams(rt.params, rt.handler(s))))
		path := OGCBasePath + rt.path
		r.Handle(path, s.cors(s.authenticate(h))).Methods(getOrHead...)
		r.Handle(path, s.cors(s.handlePreflight())).Methods(http.MethodOptions)
	}
}

// ogcParams refuses query parameters the route does not define and f
// values other than JSON ones.
func (s *server) ogcParams(known []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, vs := range r.URL.Query() {
			if k == "f" {
				if f := vs[0]; f != "json" && f != "geojson" {
					s.errorResponse(w, r, invalid("f=%s: this API serves JSON only (f=json)", f))
					return
				}
				continue
			}
			if !slices.Contains(known, k) {
				s.errorResponse(w, r, invalid("unknown query parameter %q; this resource accepts %s", k, strings.Join(append([]string{"f"}, known...), ", ")))
				return
			}
			if len(vs) > 1 {
				s.errorResponse(w, r, invalid("query parameter %q is given %d times", k, len(vs)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ogcLink is a link object of OGC API (RFC 8288 in JSON).
type ogcLink struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// ogcBase is the absolute URL of the landing page: links are absolute, as
// clients such as GDAL resolve "/…" against the landing page, not the host.
func (s *server) ogcBase(r *http.Request) string {
	if b := strings.TrimRight(s.opts.Catalog.BaseURL, "/"); b != "" {
		return b + OGCBasePath
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + OGCBasePath
}

// respondOGC answers with v as JSON of the media type given.
func (s *server) respondOGC(w http.ResponseWriter, r *http.Request, media string, v any) {
	body, err := marshalNoEscape(v)
	if err != nil {
		s.errorResponse(w, r, err)
		return
	}
	s.writeOGC(w, r, media, body)
}

// writeOGC answers with a body already encoded: the one place the OGC API
// hands a success to the API's writer (ETag, 304, no body for HEAD; a
// keyed answer is made private by authenticate's cacheScope).
func (s *server) writeOGC(w http.ResponseWriter, r *http.Request, media string, body []byte) {
	s.encode(w, r, body, reply{media: media, cache: cacheLive})
}

func (s *server) handleOGCLanding() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := s.ogcBase(r)
		title := s.opts.Catalog.Title
		if title == "" {
			title = "Kessel smart-city sensor data"
		}
		s.respondOGC(w, r, ogcJSON, struct {
			Title       string    `json:"title"`
			Description string    `json:"description"`
			Links       []ogcLink `json:"links"`
		}{title + " (OGC API – Features)", "Devices with their latest values (one collection per device kind), districts with current aggregates and active alerts, as GeoJSON. JSON only; coordinates are WGS84 longitude, latitude (CRS84).", []ogcLink{
			{base, "self", ogcJSON, "This document"},
			{base + "/api", "service-desc", ogcOpenAPIMedia, "The API definition (OpenAPI 3.0)"},
			{strings.TrimSuffix(base, OGCBasePath) + "/docs", "service-doc", "text/html", "Kessel's API documentation"},
			{base + "/conformance", "conformance", ogcJSON, "Conformance classes implemented"},
			{base + "/collections", "data", ogcJSON, "The collections"},
		}})
	})
}

func (s *server) handleOGCConformance() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.respondOGC(w, r, ogcJSON, struct {
			ConformsTo []string `json:"conformsTo"`
		}{ogcConformance})
	})
}

// ogcCollectionJSON is a collection's description (/req/core/sfc-md-success).
type ogcCollectionJSON struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Links       []ogcLink `json:"links"`
	Extent      ogcExtent `json:"extent"`
	ItemType    string    `json:"itemType"`
	CRS         []string  `json:"crs"`
}

type ogcExtent struct {
	Spatial struct {
		BBox [][4]float64 `json:"bbox"`
		CRS  string       `json:"crs"`
	} `json:"spatial"`
	Temporal *ogcTemporal `json:"temporal,omitempty"`
}

type ogcTemporal struct {
	Interval [][2]*string `json:"interval"`
	TRS      string       `json:"trs"`
}

func (s *server) collectionJSON(r *http.Request, l *ogcLayer) ogcCollectionJSON {
	u := s.ogcBase(r) + "/collections/" + url.PathEscape(l.id)
	c := ogcCollectionJSON{ID: l.id, Title: l.title, Description: l.description, ItemType: "feature", CRS: []string{crs84}, Links: []ogcLink{
		{u, "self", ogcJSON, "This collection"},
		{u + "/items", "items", ogcGeoJSON, "Its features"},
		{u + "/schema", "describedby", ogcSchemaMedia, "JSON Schema of its features"},
		// The same link again for GDAL up to at least 3.6, which looks for
		// this spelling only (relation types are case-insensitive, RFC 8288).
		{u + "/schema", "describedBy", ogcSchemaMedia, "JSON Schema of its features"},
	}}
	c.Extent.Spatial.CRS = crs84
	c.Extent.Spatial.BBox = [][4]float64{l.bbox()}
	if from, to, ok := l.interval(); ok {
		f, t := from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)
		c.Extent.Temporal = &ogcTemporal{Interval: [][2]*string{{&f, &t}}, TRS: "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
	}
	return c
}

func (s *server) handleOGCCollections() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := s.ogcBase(r)
		out := struct {
			Links       []ogcLink           `json:"links"`
			Collections []ogcCollectionJSON `json:"collections"`
		}{Links: []ogcLink{{base + "/collections", "self", ogcJSON, "The collections"}}, Collections: []ogcCollectionJSON{}}
		for _, l := range s.ogcLayers(r) {
			out.Collections = append(out.Collections, s.collectionJSON(r, l))
		}
		s.respondOGC(w, r, ogcJSON, out)
	})
}

// ogcLayerOf resolves the route's collection, or answers 404.
func (s *server) ogcLayerOf(w http.ResponseWriter, r *http.Request) (*ogcLayer, bool) {
	id := mux.Vars(r)["collectionId"]
	l := s.ogcLayer(r, id)
	if l == nil {
		s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "collection %q not found; see %s/collections", id, OGCBasePath))
		return nil, false
	}
	return l, true
}

func (s *server) handleOGCCollection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l, ok := s.ogcLayerOf(w, r); ok {
			s.respondOGC(w, r, ogcJSON, s.collectionJSON(r, l))
		}
	})
}
