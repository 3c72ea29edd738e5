package api

import (
	"maps"
	"net/http"
	"strings"
)

// The OpenAPI 3.0 description of the API. openapi_test.go fails when a
// route in routes.go is missing here or the other way round.

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/" + name} }

func param(name, in, desc, typ string, required bool, example any) obj {
	p := obj{"name": name, "in": in, "description": desc, "required": required, "schema": obj{"type": typ}}
	if example != nil {
		p["example"] = example
	}
	return p
}

func problemResponses(codes ...string) obj {
	out := obj{}
	for _, c := range codes {
		out[c] = ref("responses/Problem")
	}
	return out
}

// op describes an operation. Every operation may also answer 405 (the
// path exists, the method does not), so that is listed for each.
func op(tag, summary, desc string, params []any, ok obj, errs []string, extra obj) obj {
	resp := problemResponses(errs...)
	resp["405"] = ref("responses/MethodNotAllowed")
	for k, v := range ok {
		resp[k] = v
	}
	o := obj{"tags": []string{tag}, "summary": summary, "description": desc, "responses": resp}
	if len(params) > 0 {
		o["parameters"] = params
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

func jsonOK(desc, schema string, alsoGeoCSV bool) obj {
	content := obj{"application/json": obj{"schema": ref("schemas/" + schema)}}
	if alsoGeoCSV {
		content["application/geo+json"] = obj{"schema": ref("schemas/FeatureCollection")}
		content["text/csv"] = obj{"schema": obj{"type": "string"}}
	}
	return obj{"200": obj{"description": desc, "content": content}}
}

var secured = obj{"security": []any{obj{"bearer": []string{}}}}

// Parameters and answers several operations share.
var (
	deviceFilters = []any{
		ref("parameters/kind"), ref("parameters/district"), ref("parameters/bbox"), ref("parameters/near"), ref("parameters/radius"),
		ref("parameters/within"), ref("parameters/format"), ref("parameters/limit"), ref("parameters/cursor"),
	}
	deviceIDParam = param("id", "path", "Device id.", "string", true, "air-0001")
	stdErrors     = []string{"400", "401", "429"}
)

// openAPI returns the document served at /api/v1/openapi.json.
func openAPI() obj {
	paths := obj{}
	for _, group := range []obj{operationPaths(), devicePaths(), districtPaths(), alertPaths(), archivePaths(), catalogPaths(), ogcPathItems(OGCBasePath, "ogc"), staPaths()} {
		maps.Copy(paths, group)
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":       "Kessel open data and department API",
			"version":     "1",
			"description": "Smart-city sensor data: devices, latest values, history, districts. Public endpoints need no key; department endpoints need `Authorization: Bearer <key>` with the scope named. Errors are RFC 9457 problem documents (application/problem+json). Every GET also answers HEAD (the same headers, no body); a path asked with a method it does not serve answers 405 with Allow. A route whose part does not run on this instance (districts not configured, the alerts or ingest role elsewhere) answers 503 naming it. Coordinates are WGS84, longitude first; distances in metres; times RFC 3339.",
			"license":     obj{"name": "Datenlizenz Deutschland – Namensnennung – Version 2.0 (data)", "url": "https://www.govdata.de/dl-de/by-2-0"},
		},
		"servers":    []any{obj{"url": "/"}},
		"tags":       []any{obj{"name": "devices"}, obj{"name": "readings"}, obj{"name": "districts"}, obj{"name": "alerts"}, obj{"name": "open data"}, obj{"name": "push"}, obj{"name": "operations"}},
		"paths":      paths,
		"components": components(),
	}
}

// operationPaths describes the operational endpoints.
func operationPaths() obj {
	return obj{
		"/healthz": obj{"get": op("operations", "Liveness", "Answers 200 while the process runs.", nil, obj{"200": obj{"description": "alive"}}, []string{"429"}, nil)},
		"/readyz": obj{"get": op("operations", "Readiness", "200 when InfluxDB and the MQTT broker are reachable and writes succeed (status \"degraded\" while an optional source such as The Things Stack is down); 503 naming what is not. The checks run at most once a second.", nil,
			obj{"200": obj{"description": "ready"}}, []string{"429", "503"}, nil)},
		"/metrics":             obj{"get": op("operations", "Prometheus metrics", "Text exposition format. All of it with a key holding scope metrics (or admin); without one, no series naming a non-public device or a webhook.", nil, obj{"200": obj{"description": "metrics", "content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}}, []string{"401", "429", "503"}, nil)},
		"/docs":                obj{"get": op("operations", "API documentation page", "A human-readable page rendered from this document.", nil, obj{"200": obj{"description": "HTML", "content": obj{"text/html": obj{"schema": obj{"type": "string"}}}}}, nil, nil)},
		"/api/v1/openapi.json": obj{"get": op("operations", "This document", "OpenAPI 3 description of the whole API.", nil, obj{"200": obj{"description": "OpenAPI document", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}, nil, nil)},
		"/api/v1/deadletters": obj{"get": op("operations", "Dead letters", "Scope admin. Messages Kessel could not accept, with reason, topic and the first KiB of payload; newest first.", []any{
			param("from", "query", "Start; default -24h.", "string", false, "-1h"), param("to", "query", "End; default now.", "string", false, nil),
			param("reason", "query", "Only this reason code.", "string", false, "malformed_json"), param("limit", "query", "1 to 10000; default 1000.", "integer", false, 100), ref("parameters/format"),
		}, obj{"200": obj{"description": "dead letters", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}, "text/csv": obj{"schema": obj{"type": "string"}}}}}, []string{"400", "401", "403", "429", "503"}, secured)},
	}
}

// devicePaths describes devices, their readings and pushes.
func devicePaths() obj {
	return obj{
		"/api/v1/devices": obj{
			"get": op("devices", "List devices", "Public devices (internal ones too with scope data:internal), filtered by kind, district and place. Sorted by id, or by distance with near.", deviceFilters,
				jsonOK("devices", "DeviceList", true), stdErrors, nil),
			"post": op("devices", "Register a device", "Scope devices:write. The key's department owns the device unless the body names another (admin only).", nil,
				obj{"201": obj{"description": "created", "headers": obj{"Location": obj{"schema": obj{"type": "string"}}, "ETag": obj{"schema": obj{"type": "string"}}}, "content": obj{"application/json": obj{"schema": ref("schemas/Device")}}}},
				[]string{"400", "401", "403", "409", "413", "415", "429", "503"}, obj{"requestBody": ref("requestBodies/Device"), "security": secured["security"]}),
		},
		"/api/v1/devices/search": obj{"post": op("devices", "Devices inside a polygon", "Body: a GeoJSON Polygon or MultiPolygon (geometry, Feature, or a FeatureCollection of one). The list filters apply too.", deviceFilters,
			jsonOK("devices", "DeviceList", true), []string{"400", "401", "413", "415", "429"}, obj{"requestBody": obj{"required": true, "content": obj{"application/geo+json": obj{"schema": obj{"type": "object"},
				"example": obj{"type": "Polygon", "coordinates": [][][]float64{{{9.17, 48.77}, {9.19, 48.77}, {9.19, 48.79}, {9.17, 48.77}}}}}}}})},
		"/api/v1/devices/{id}": obj{
			"get": op("devices", "One device with its latest reading", "Served from memory. The ETag's first part is the device's version, which PUT's If-Match checks.", []any{deviceIDParam},
				jsonOK("device", "Device", false), []string{"400", "401", "404", "429"}, nil),
			"put": op("devices", "Change a device", "Scope devices:write, own department. Needs If-Match with the ETag last read: 412 if the device changed since, 428 without.",
				[]any{deviceIDParam, param("If-Match", "header", "ETag of the device as last read.", "string", true, nil)},
				obj{"200": obj{"description": "changed", "content": obj{"application/json": obj{"schema": ref("schemas/Device")}}}},
				[]string{"400", "401", "403", "404", "412", "413", "415", "428", "429", "503"}, obj{"requestBody": ref("requestBodies/Device"), "security": secured["security"]}),
			"delete": op("devices", "Remove a device", "Scope devices:write, own department. If-Match optional.", []any{deviceIDParam, param("If-Match", "header", "ETag of the device as last read.", "string", false, nil)},
				obj{"204": obj{"description": "removed"}}, []string{"400", "401", "403", "404", "412", "429", "503"}, secured),
		},
		"/api/v1/devices/{id}/readings": obj{"get": op("readings", "A device's history", "From InfluxDB. Without every, raw readings (at most 10,000 in JSON and GeoJSON: a larger range answers 400 naming an every that fits). CSV is streamed without that limit, so a year of data exports in one request.", []any{
			deviceIDParam,
			param("from", "query", "Start: RFC 3339 or relative (-24h, -7d). Default -24h.", "string", false, "-24h"),
			param("to", "query", "End: RFC 3339, relative or now. Default now.", "string", false, "now"),
			param("fields", "query", "Comma-separated field names.", "string", false, "pm10,pm25"),
			param("every", "query", "Aggregation window, 1m to 31d.", "string", false, "1h"),
			obj{"name": "fn", "in": "query", "description": "Aggregate per window (needs every).", "schema": obj{"type": "string", "enum": []string{"mean", "min", "max", "sum", "count", "last"}}},
			ref("parameters/format"),
		}, jsonOK("readings", "ReadingList", true), []string{"400", "401", "404", "429", "503"}, nil),
			"post": op("push", "Push a reading over HTTP", "For a device that cannot speak MQTT: the body is what it would publish on kessel/devices/{id}/readings, native JSON or SenML. Needs the device's own key (an api_keys entry with device: {id}, made with kessel keys new --device) or an admin key. Stored before the answer; a bad reading is kept as a dead letter and answered 400 with the reason.",
				[]any{deviceIDParam},
				obj{"200": obj{"description": "stored", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}, []string{"400", "401", "403", "413", "429", "503"},
				obj{"security": []any{obj{"bearer": []any{}}}, "requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": obj{"oneOf": []any{obj{"type": "object"}, obj{"type": "array"}}},
					"example": obj{"ts": "2026-11-23T08:00:00Z", "values": obj{"pm10": 23.1, "pm25": 11.0}}}}}})},
		"/api/v1/latest": obj{"get": op("readings", "Latest reading of every matching device", "Served from the live state in memory, never a database query.", deviceFilters,
			jsonOK("devices with latest readings", "DeviceList", true), stdErrors, nil)},
		"/api/v1/nearest": obj{"get": op("devices", "The k nearest devices", "With great-circle distance in metres (distance_m).", []any{
			param("lon", "query", "Longitude (WGS84).", "number", true, 9.18), param("lat", "query", "Latitude (WGS84).", "number", true, 48.7784),
			param("k", "query", "How many, 1 to 1000; default 10.", "integer", false, 5), param("kind", "query", "Device kind.", "string", false, "air_quality"),
			param("max_distance", "query", "Leave out devices farther than this (metres).", "number", false, 2000), ref("parameters/format"),
		}, jsonOK("devices", "DeviceList", true), stdErrors, nil)},
		"/api/v1/push/airrohr": obj{"post": op("push", "Sensor.Community / airrohr push", "The firmware's custom-API JSON; the device from X-Sensor (esp8266-<chipid>) or esp8266id. Stored before the answer.",
			[]any{param("X-Sensor", "header", "esp8266-<chipid> or esp32-<chipid>.", "string", false, "esp8266-3394227")},
			obj{"200": obj{"description": "stored", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}, []string{"400", "413", "429", "503"},
			obj{"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": obj{"type": "object"}, "example": obj{"esp8266id": "3394227", "software_version": "NRZ-2020-133",
				"sensordatavalues": []any{obj{"value_type": "SDS_P1", "value": "4.30"}, obj{"value_type": "SDS_P2", "value": "3.53"}}}}}}})},
	}
}

// districtPaths describes districts and the open-data catalogue.
func districtPaths() obj {
	return obj{
		"/api/v1/districts": obj{"get": op("districts", "Districts", "GeoJSON polygons with device counts per kind.", []any{ref("parameters/format")},
			obj{"200": obj{"description": "districts", "content": obj{"application/geo+json": obj{"schema": ref("schemas/FeatureCollection")}, "application/json": obj{"schema": obj{"type": "object"}}, "text/csv": obj{"schema": obj{"type": "string"}}}}}, []string{"400", "401", "429", "503"}, nil)},
		"/api/v1/districts/{id}": obj{"get": op("districts", "One district", "Polygon plus the current mean, min and max per field per kind over its public devices' latest readings.",
			[]any{param("id", "path", "District id, name or slug.", "string", true, "stuttgart-mitte")},
			obj{"200": obj{"description": "district", "content": obj{"application/geo+json": obj{"schema": obj{"type": "object"}}}}}, []string{"404", "429", "503"}, nil)},
		"/api/v1/districts/{id}/readings": obj{"get": op("districts", "A district-wide series", "One field of one kind aggregated over all devices in the district per window (default every=1h, fn=mean).", []any{
			param("id", "path", "District id, name or slug.", "string", true, "stuttgart-mitte"),
			param("kind", "query", "Device kind.", "string", true, "air_quality"), param("field", "query", "Field.", "string", true, "pm10"),
			param("from", "query", "Start; default -24h.", "string", false, "-7d"), param("to", "query", "End; default now.", "string", false, nil),
			param("every", "query", "Window, 1m to 31d; default 1h.", "string", false, "1h"),
			obj{"name": "fn", "in": "query", "description": "Aggregate; default mean.", "schema": obj{"type": "string", "enum": []string{"mean", "min", "max", "sum", "count", "last"}}},
			ref("parameters/format"),
		}, obj{"200": obj{"description": "series", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}, "text/csv": obj{"schema": obj{"type": "string"}}}}}, []string{"400", "404", "429", "503"}, nil)},
		"/api/v1/usage": obj{"get": op("open data", "Usage of this service", "Requests per day, endpoint and dataset (kind), aggregated, with no personal data; summed over every instance and kept in InfluxDB (saved every minute and on shutdown), for the last 400 days.", []any{ref("parameters/format")},
			obj{"200": obj{"description": "usage", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}, "text/csv": obj{"schema": obj{"type": "string"}}}}}, []string{"400", "429", "503"}, nil)},
	}
}

// alertPaths describes alerts and alert rules.
func alertPaths() obj {
	return obj{
		"/api/v1/alerts": obj{"get": op("alerts", "Alerts", "Firing, pending and recently resolved alerts. Public alerts for everyone, internal ones with scope alerts:manage.", []any{
			obj{"name": "state", "in": "query", "description": "Only this state.", "schema": obj{"type": "string", "enum": []string{"firing", "pending", "resolved"}}},
			ref("parameters/kind"), ref("parameters/district"),
			obj{"name": "severity", "in": "query", "description": "Only this severity.", "schema": obj{"type": "string", "enum": []string{"info", "warning", "critical"}}},
			param("since", "query", "Changed since: RFC 3339 or relative.", "string", false, "-24h"),
		}, obj{"200": obj{"description": "alerts", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}, []string{"400", "401", "429", "503"}, nil)},
		"/api/v1/alerts/stream": obj{"get": op("alerts", "Alert transitions as Server-Sent Events", "Each event has an id; reconnect with Last-Event-ID to resume. A heartbeat comment every 15 s.",
			[]any{param("Last-Event-ID", "header", "Resume after this event id.", "string", false, nil), param("last_event_id", "query", "The same, for clients that cannot set headers.", "string", false, nil)},
			obj{"200": obj{"description": "event stream", "content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}}}, []string{"400", "401", "429", "503"}, nil)},
		"/api/v1/alerts/{id}": obj{"get": op("alerts", "One alert", "Its state and times.", []any{param("id", "path", "Alert id (fingerprint).", "string", true, nil)},
			obj{"200": obj{"description": "alert", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}, []string{"404", "429", "503"}, nil)},
		"/api/v1/alerts/{id}/ack": obj{"post": op("alerts", "Acknowledge an alert", "Scope alerts:manage; records who and when.", []any{param("id", "path", "Alert id.", "string", true, nil)},
			obj{"200": obj{"description": "acknowledged", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}, []string{"401", "403", "404", "429", "503"}, secured)},
		"/api/v1/rules": obj{
			"get": op("alerts", "Alert rules", "Scope rules:read.", nil, obj{"200": obj{"description": "rules", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}, []string{"401", "403", "429", "503"}, secured),
			"post": op("alerts", "Add a rule", "Scope rules:write. A bad rule is a 400 naming the rule and the field.", nil,
				obj{"201": obj{"description": "created", "content": obj{"application/json": obj{"schema": ref("schemas/Rule")}}}}, []string{"400", "401", "403", "409", "413", "415", "429", "503"},
				obj{"requestBody": ref("requestBodies/Rule"), "security": secured["security"]}),
		},
		"/api/v1/rules/{id}": obj{
			"get": op("alerts", "One rule", "Scope rules:read.", []any{param("id", "path", "Rule id.", "string", true, "feinstaubalarm")},
				obj{"200": obj{"description": "rule", "content": obj{"application/json": obj{"schema": ref("schemas/Rule")}}}}, []string{"401", "403", "404", "429", "503"}, secured),
			"put": op("alerts", "Replace a rule", "Scope rules:write; its alerts start over.", []any{param("id", "path", "Rule id.", "string", true, "feinstaubalarm")},
				obj{"200": obj{"description": "replaced", "content": obj{"application/json": obj{"schema": ref("schemas/Rule")}}}}, []string{"400", "401", "403", "404", "413", "415", "429", "503"},
				obj{"requestBody": ref("requestBodies/Rule"), "security": secured["security"]}),
			"delete": op("alerts", "Remove a rule", "Scope rules:write.", []any{param("id", "path", "Rule id.", "string", true, "feinstaubalarm")},
				obj{"204": obj{"description": "removed"}}, []string{"401", "403", "404", "429", "503"}, secured),
		},
	}
}

func components() obj {
	return obj{
		"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer", "description": "A department key made with `kessel keys new`."}},
		"parameters": obj{
			"kind":     param("kind", "query", "Device kind.", "string", false, "air_quality"),
			"district": param("district", "query", "District id, name or slug.", "string", false, "stuttgart-mitte"),
			"bbox":     param("bbox", "query", "minLon,minLat,maxLon,maxLat (WGS84).", "string", false, "9.15,48.76,9.20,48.79"),
			"near":     param("near", "query", "lon,lat; needs radius.", "string", false, "9.18,48.7784"),
			"radius":   param("radius", "query", "Metres around near, up to 50000.", "number", false, 500),
			"within":   param("within", "query", "Only devices inside this district (id, name or slug).", "string", false, nil),
			"format":   obj{"name": "format", "in": "query", "description": "Output format; the Accept header works too.", "schema": obj{"type": "string", "enum": []string{"json", "geojson", "csv"}}},
			"limit":    param("limit", "query", "Page size, 1 to 10000; default 1000.", "integer", false, 100),
			"cursor":   param("cursor", "query", "Opaque cursor from next_cursor or the Link header.", "string", false, nil),
		},
		"requestBodies": obj{"Rule": obj{"required": true, "content": obj{"application/json": obj{"schema": ref("schemas/Rule"),
			"example": obj{"id": "feinstaubalarm", "kind": "air_quality", "field": "pm10", "condition": "mean", "window": "24h", "op": ">", "threshold": 50, "clear": 45, "severity": "warning", "visibility": "public"}}}},
			"Device": obj{"required": true, "content": obj{"application/json": obj{"schema": ref("schemas/DeviceInput"),
				"example": obj{"id": "gauge-7", "kind": "water_level", "name": "Pegel Neckar", "location": obj{"lon": 9.21, "lat": 48.80}, "visibility": "public", "labels": obj{"river": "Neckar"}}}}}},
		"responses": obj{
			"MethodNotAllowed": obj{"description": "The path exists but not with this method; Allow lists the methods it serves.",
				"headers": obj{"Allow": obj{"schema": obj{"type": "string"}, "example": "GET, HEAD, OPTIONS"}},
				"content": obj{"application/problem+json": obj{"schema": ref("schemas/Problem")}}},
			"Problem": obj{"description": "An RFC 9457 problem document.", "content": obj{"application/problem+json": obj{"schema": ref("schemas/Problem"),
				"example": obj{"type": "urn:kessel:problem:invalid", "title": "Bad Request", "status": 400, "detail": "radius must be a number of metres in (0, 50000], got \"-1\"", "instance": "/api/v1/devices"}}}}},
		"schemas": obj{
			"Rule": obj{"type": "object", "required": []string{"id", "kind", "condition"}, "properties": obj{
				"id": obj{"type": "string"}, "name": obj{"type": "string"}, "kind": obj{"type": "string"}, "devices": obj{"type": "array", "items": obj{"type": "string"}},
				"district": obj{"type": "string"}, "area": obj{"type": "boolean", "description": "one alert for the district, on the mean of its public devices"}, "field": obj{"type": "string"},
				"condition": obj{"type": "string", "enum": []string{"threshold", "mean", "max", "min", "rate", "silence"}},
				"op":        obj{"type": "string", "enum": []string{">", ">=", "<", "<="}}, "threshold": obj{"type": "number"}, "clear": obj{"type": "number"},
				"window": obj{"type": "string", "example": "24h"}, "silence": obj{"type": "string"}, "for": obj{"type": "string"}, "keep_firing_for": obj{"type": "string"},
				"severity": obj{"type": "string", "enum": []string{"info", "warning", "critical"}}, "visibility": obj{"type": "string", "enum": []string{"public", "internal"}},
				"labels": obj{"type": "object", "additionalProperties": obj{"type": "string"}}, "summary": obj{"type": "string"}}},
			"Problem": obj{"type": "object", "required": []string{"type", "title", "status", "detail"}, "properties": obj{
				"type": obj{"type": "string"}, "title": obj{"type": "string"}, "status": obj{"type": "integer"}, "detail": obj{"type": "string"}, "instance": obj{"type": "string"}}},
			"LonLat": obj{"type": "object", "properties": obj{"lon": obj{"type": "number"}, "lat": obj{"type": "number"}}},
			"Reading": obj{"type": "object", "properties": obj{"time": obj{"type": "string", "format": "date-time"},
				"values": obj{"type": "object", "additionalProperties": obj{"type": "number"}}, "location": ref("schemas/LonLat")}},
			"DeviceInput": obj{"type": "object", "required": []string{"kind"}, "properties": obj{"id": obj{"type": "string"}, "kind": obj{"type": "string"}, "name": obj{"type": "string"},
				"location": ref("schemas/LonLat"), "department": obj{"type": "string"}, "visibility": obj{"type": "string", "enum": []string{"public", "internal"}},
				"labels": obj{"type": "object", "additionalProperties": obj{"type": "string"}}}},
			"Device": obj{"type": "object", "properties": obj{"id": obj{"type": "string"}, "kind": obj{"type": "string"}, "name": obj{"type": "string"},
				"location": ref("schemas/LonLat"), "district": obj{"type": "string"}, "department": obj{"type": "string"}, "visibility": obj{"type": "string"},
				"labels": obj{"type": "object", "additionalProperties": obj{"type": "string"}}, "created_at": obj{"type": "string", "format": "date-time"},
				"updated_at": obj{"type": "string", "format": "date-time"}, "last_seen": obj{"type": "string", "format": "date-time"},
				"distance_m": obj{"type": "number"}, "latest": ref("schemas/Reading")}},
			"DeviceList": obj{"type": "object", "properties": obj{"items": obj{"type": "array", "items": ref("schemas/Device")}, "count": obj{"type": "integer"},
				"total": obj{"type": "integer"}, "next_cursor": obj{"type": "string"}}},
			"ReadingList": obj{"type": "object", "properties": obj{"device": obj{"type": "string"}, "kind": obj{"type": "string"},
				"items": obj{"type": "array", "items": ref("schemas/Reading")}, "count": obj{"type": "integer"}}},
			"FeatureCollection": obj{"type": "object", "description": "RFC 7946 GeoJSON.", "properties": obj{"type": obj{"type": "string"}, "features": obj{"type": "array", "items": obj{"type": "object"}}}},
		},
	}
}

func (s *server) handleOpenAPI() http.Handler {
	doc := openAPI()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.encode(w, r, doc, reply{cache: cacheStatic})
	})
}

// OpenAPIPaths lists "METHOD path" for every operation in the document.
func OpenAPIPaths() []string {
	var out []string
	for path, item := range openAPI()["paths"].(obj) {
		for method := range item.(obj) {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	return out
}
