package api

import (
	"net/http"
	"strings"
)

// The OpenAPI 3.0 description of the OGC API (conformance class oas30),
// served at /ogcapi/api; its paths are also part of Kessel's whole
// document (openapi.go). Both are made from ogcRouteTable.

var ogcOps = map[string]struct{ id, summary, desc string }{
	"":                                   {"LandingPage", "Landing page", "Links to the API definition, the conformance declaration and the collections."},
	"/":                                  {"LandingPageSlash", "Landing page", "The landing page again, for clients that add a slash."},
	"/conformance":                       {"Conformance", "Conformance declaration", "The conformance classes implemented: Core, GeoJSON and OpenAPI 3.0 of OGC API – Features Part 1."},
	"/api":                               {"API", "API definition", "This OpenAPI 3.0 document."},
	"/collections":                       {"Collections", "The collections", "One collection per device kind (its devices with their latest values), districts and active alerts; internal devices only with scope data:internal, internal alerts with alerts:manage."},
	"/collections/{collectionId}":        {"Collection", "One collection", "Its id, title, links, spatial and temporal extent."},
	"/collections/{collectionId}/schema": {"Schema", "JSON Schema of a collection's features", "The GeoJSON Feature with typed properties; linked from the collection as describedby."},
	"/collections/{collectionId}/items":  {"Features", "The features of a collection", "GeoJSON FeatureCollection, sorted by id, with numberMatched, numberReturned, timeStamp and next/prev links in the body. limit defaults to 100; a larger limit than 10000 is served as 10000."},
	"/collections/{collectionId}/items/{featureId}": {"Feature", "One feature", "A GeoJSON Feature with self and collection links."},
}

func ogcParam(name, in, desc string, required bool, schema obj) obj {
	return obj{"name": name, "in": in, "description": desc, "required": required, "schema": schema}
}

// ogcParameters are the parameters of a route, besides f.
func ogcParameters(rt ogcRoute) []any {
	var ps []any
	if strings.Contains(rt.path, "{collectionId}") {
		ps = append(ps, ogcParam("collectionId", "path", "Collection id: a device kind, districts or alerts.", true, obj{"type": "string"}))
	}
	if strings.Contains(rt.path, "{featureId}") {
		ps = append(ps, ogcParam("featureId", "path", "Feature id: device id, district id or alert id.", true, obj{"type": "string"}))
	}
	for _, p := range rt.params {
		switch p {
		case "limit":
			ps = append(ps, ogcParam("limit", "query", "Features per page; above the maximum, the maximum is served.", false, obj{"type": "integer", "minimum": 1, "maximum": OGCMaxLimit, "default": OGCDefaultLimit}))
		case "bbox":
			p := ogcParam("bbox", "query", "minLon,minLat,maxLon,maxLat (or six numbers with heights, which are ignored) in CRS84: only features whose geometry intersects the box.", false,
				obj{"type": "array", "minItems": 4, "maxItems": 6, "items": obj{"type": "number"}})
			p["style"], p["explode"] = "form", false
			ps = append(ps, p)
		case "datetime":
			ps = append(ps, ogcParam("datetime", "query", "RFC 3339 instant or interval (start/end, '..' for an open end): device features by the time of their latest reading, alerts by their active period; districts have no time and ignore it.", false, obj{"type": "string"}))
		case "cursor":
			ps = append(ps, ogcParam("cursor", "query", "Opaque position, as in the next and prev links.", false, obj{"type": "string"}))
		}
	}
	return append(ps, ogcParam("f", "query", "Encoding: JSON only.", false, obj{"type": "string", "enum": []string{"json", "geojson"}}))
}

// ogcContent is the media type and schema of a route's 200 answer.
func ogcContent(path string) (string, obj) {
	link := obj{"type": "object", "required": []string{"href", "rel"}, "properties": obj{"href": obj{"type": "string"}, "rel": obj{"type": "string"}, "type": obj{"type": "string"}, "title": obj{"type": "string"}}}
	links := obj{"type": "array", "items": link}
	feature := obj{"type": "object", "required": []string{"type", "geometry", "properties"}, "properties": obj{
		"type": obj{"type": "string", "enum": []string{"Feature"}}, "id": obj{"type": "string"}, "geometry": obj{"type": "object", "nullable": true},
		"properties": obj{"type": "object", "nullable": true}, "links": links}}
	collection := obj{"type": "object", "required": []string{"id", "links"}, "properties": obj{"id": obj{"type": "string"}, "title": obj{"type": "string"},
		"description": obj{"type": "string"}, "links": links, "extent": obj{"type": "object"}, "itemType": obj{"type": "string"}, "crs": obj{"type": "array", "items": obj{"type": "string"}}}}
	switch path {
	case "", "/":
		return ogcJSON, obj{"type": "object", "required": []string{"links"}, "properties": obj{"title": obj{"type": "string"}, "description": obj{"type": "string"}, "links": links}}
	case "/conformance":
		return ogcJSON, obj{"type": "object", "required": []string{"conformsTo"}, "properties": obj{"conformsTo": obj{"type": "array", "items": obj{"type": "string"}}}}
	case "/api":
		return ogcOpenAPIMedia, obj{"type": "object", "required": []string{"openapi", "info", "paths"}, "properties": obj{"openapi": obj{"type": "string"},
			"info": obj{"type": "object"}, "servers": obj{"type": "array", "items": obj{"type": "object"}}, "paths": obj{"type": "object"}, "components": obj{"type": "object"}}}
	case "/collections":
		return ogcJSON, obj{"type": "object", "required": []string{"links", "collections"}, "properties": obj{"links": links, "collections": obj{"type": "array", "items": collection}}}
	case "/collections/{collectionId}":
		return ogcJSON, collection
	case "/collections/{collectionId}/schema":
		return ogcSchemaMedia, obj{"type": "object", "description": "A JSON Schema (draft 2019-09) of the collection's GeoJSON Feature.",
			"required": []string{"$schema", "$id", "type", "properties"}, "properties": obj{"$schema": obj{"type": "string"}, "$id": obj{"type": "string"},
				"title": obj{"type": "string"}, "description": obj{"type": "string"}, "type": obj{"type": "string", "enum": []string{"object"}},
				"required": obj{"type": "array", "items": obj{"type": "string"}}, "properties": obj{"type": "object"}}}
	case "/collections/{collectionId}/items":
		return ogcGeoJSON, obj{"type": "object", "required": []string{"type", "features"}, "properties": obj{"type": obj{"type": "string", "enum": []string{"FeatureCollection"}},
			"features": obj{"type": "array", "items": feature}, "links": links, "numberMatched": obj{"type": "integer", "minimum": 0},
			"numberReturned": obj{"type": "integer", "minimum": 0}, "timeStamp": obj{"type": "string", "format": "date-time"}}}
	}
	return ogcGeoJSON, feature
}

// ogcOperations describes every OGC route under prefix (GET; HEAD goes
// with it, documented once), with every status it answers
// (/req/oas30/completeness). opPrefix keeps the operation ids apart from
// the rest of a document.
func ogcOperations(prefix, opPrefix string) []*op {
	var out []*op
	for _, rt := range ogcRouteTable() {
		d := ogcOps[rt.path]
		if prefix == "" && rt.path == "" || prefix != "" && rt.path == "/" {
			continue // one landing page: "/" where the server URL is the base path, else the base path (openAPIAliases)
		} else if prefix == "" && rt.path == "/" {
			d = ogcOps[""]
		}
		id := "get" + d.id
		if opPrefix != "" {
			id = opPrefix + "Get" + d.id
		}
		path := prefix + rt.path
		media, schema := ogcContent(rt.path)
		o := newOp(http.MethodGet, path, id, tagOGC, d.summary).describe(d.desc+" HEAD answers the same without a body.").
			with(ogcParameters(rt)...).reply(200, d.summary, asSchema(media, schema)).fails(400)
		if strings.Contains(rt.path, "{") {
			o.fails(404)
		}
		out = append(out, o)
	}
	return out
}

func (s *server) handleOGCAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths := pathsOf(ogcOperations("", ""))
		info := obj{"title": "Kessel – OGC API – Features", "version": "1.0.0",
			"description": "Devices with their latest values (one collection per device kind), districts with current aggregates and active alerts as GeoJSON, for GIS tools. JSON only. Public data without a key; internal devices with a key holding data:internal.",
			"license":     obj{"name": "Datenlizenz Deutschland – Namensnennung – Version 2.0 (data)", "url": "https://www.govdata.de/dl-de/by-2-0"}}
		c := s.opts.Catalog
		if contact := contactOf(c.Publisher, c.ContactURL, c.PublisherURL, c.ContactEmail); contact != nil {
			info["contact"] = contact
		}
		s.respondOGC(w, r, ogcOpenAPIMedia, obj{
			"openapi": "3.0.3",
			"info":    info,
			"servers": []any{obj{"url": s.ogcBase(r), "description": "This server's OGC API – Features."}},
			"tags":    []any{obj{"name": tagOGC, "description": tagOGCDesc}},
			"paths":   paths,
			"components": obj{"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer", "description": "A department key made with `kessel keys new`."}},
				"responses": problemResponses(paths), "schemas": obj{"Problem": schemas()["Problem"]}},
		})
	})
}
