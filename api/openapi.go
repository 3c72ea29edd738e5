package api

import (
	"net/http"
	"strings"
)

// The OpenAPI 3.0 description of the API, served at /api/v1/openapi.json.
// Operations are built with newOp (openapi_op.go) in groups by area;
// schemas are in openapi_schemas.go. TestOpenAPICoversRoutes fails when a
// route in routes.go has no operation here or the other way round.

// openAPIGroups are the operations of the document, by area.
func openAPIGroups() [][]*op {
	return [][]*op{operationPaths(), devicePaths(), readingPaths(), districtPaths(), alertPaths(), rulePaths(),
		archivePaths(), evidencePaths(), catalogPaths(), airQualityPaths(), ogcOperations(OGCBasePath, "ogc"), staPaths(), qualityPaths()}
}

// openAPIAliases are routes served as another documented path: OpenAPI
// paths do not end in a slash, so the OGC landing page is described once.
var openAPIAliases = map[string]string{OGCBasePath + "/": OGCBasePath}

// openAPI returns the document served at /api/v1/openapi.json.
func openAPI() obj {
	paths := pathsOf(openAPIGroups()...)
	var tags []any
	for _, t := range tagDescriptions {
		tags = append(tags, obj{"name": t.name, "description": t.desc})
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":   "Kessel open data and department API",
			"version": "1",
			"description": "Smart-city sensor data: devices, latest values, history, districts, alerts. Public endpoints need no key; department endpoints need " +
				"`Authorization: Bearer <key>` with the scope named (x-kessel-scope). Errors are RFC 9457 problem documents (application/problem+json). " +
				"Every GET also answers HEAD (the same headers, no body); a path asked with a method it does not serve answers 405 with Allow. " +
				"A route whose part does not run on this instance (districts not configured, the alerts or ingest role elsewhere) answers 503 naming it. " +
				"Requests are rate limited per client address (429 with Retry-After). Coordinates are WGS84, longitude first; distances in metres; times RFC 3339.",
			"license": obj{"name": "Datenlizenz Deutschland – Namensnennung – Version 2.0 (data)", "url": "https://www.govdata.de/dl-de/by-2-0"},
		},
		"servers":    []any{obj{"url": "/", "description": "This server."}},
		"tags":       tags,
		"paths":      paths,
		"components": components(paths),
	}
}

// handleOpenAPI serves the document, with the publisher's contact from
// the catalogue settings when there is one.
func (s *server) handleOpenAPI() http.Handler {
	doc := openAPI()
	c := s.opts.Catalog
	if contact := contactOf(c.Publisher, c.ContactURL, c.PublisherURL, c.ContactEmail); contact != nil {
		info := doc["info"].(obj)
		info["contact"] = contact
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.encode(w, r, doc, reply{cache: cacheStatic})
	})
}

// contactOf is an OpenAPI Contact object, or nil without any of its parts.
func contactOf(name, url, fallbackURL, email string) obj {
	c := obj{}
	if name != "" {
		c["name"] = name
	}
	if url == "" {
		url = fallbackURL
	}
	if url != "" {
		c["url"] = url
	}
	if email != "" {
		c["email"] = email
	}
	if len(c) == 0 {
		return nil
	}
	return c
}

// OpenAPIOperation is one operation of the API document.
type OpenAPIOperation struct {
	Method, Path, ID string
	Scope            string // the scope a key needs; "" for public operations
}

// OpenAPIOperations lists every operation of the document, HEAD (which
// goes with every GET) left out.
func OpenAPIOperations() []OpenAPIOperation {
	var out []OpenAPIOperation
	for _, group := range openAPIGroups() {
		for _, o := range group {
			id, _ := o.o["operationId"].(string)
			scope, _ := o.o["x-kessel-scope"].(string)
			out = append(out, OpenAPIOperation{Method: o.method, Path: o.path, ID: id, Scope: scope})
		}
	}
	return out
}

// OpenAPIPaths lists "METHOD path" for every operation in the document.
func OpenAPIPaths() []string {
	var out []string
	for _, o := range OpenAPIOperations() {
		out = append(out, strings.ToUpper(o.Method)+" "+o.Path)
	}
	return out
}

// operationPaths describes the operational endpoints.
func operationPaths() []*op {
	const get = http.MethodGet
	return []*op{
		newOp(get, "/healthz", "getHealth", tagOperations, "Liveness").keyless().
			describe("Answers 200 while the process runs.").
			reply(200, "alive", asJSON("Health")),
		newOp(get, "/readyz", "getReadiness", tagOperations, "Readiness").keyless().
			describe("200 when InfluxDB and the MQTT broker are reachable and writes succeed (status \"degraded\" while an optional source such as The Things Stack is down); 503 naming what is not. The checks run at most once a second.").
			reply(200, "ready", asJSON("Readiness")).
			reply(503, "not ready: the body names the checks that failed", asJSON("Readiness")),
		newOp(get, "/metrics", "getMetrics", tagOperations, "Prometheus metrics").stream().
			describe("Text exposition format. All of it with a key holding scope metrics (or admin); without one, no series naming a non-public device or a webhook.").
			reply(200, "metrics", asText("text/plain")).fails(503),
		newOp(get, "/docs", "getDocs", tagOperations, "API documentation page").keyless().unlimited().
			describe("A human-readable page rendered from this document.").
			reply(200, "HTML", asText("text/html")),
		newOp(get, "/api/v1/openapi.json", "getOpenAPI", tagOperations, "This document").
			describe("OpenAPI 3.0 description of the whole API.").
			reply(200, "OpenAPI document", asJSON("OpenAPIDocument")),
		newOp(get, "/api/v1/deadletters", "listDeadLetters", tagOperations, "Dead letters").scope(ScopeAdmin).
			describe("Messages Kessel could not accept, with reason, topic and the first KiB of payload; newest first.").
			with(param("from", "query", "Start; default -24h.", "string", false, "-1h"), param("to", "query", "End; default now.", "string", false, nil),
				param("reason", "query", "Only this reason code.", "string", false, "malformed_json"),
				param("limit", "query", "1 to 10000; default 1000.", "integer", false, 100), paramRef("format")).
			reply(200, "dead letters", asJSON("DeadLetterList"), asCSV()).fails(400, 503),
	}
}
