package api

import (
	"net/http"
	"strconv"
	"strings"
)

// Building the operations of the OpenAPI document. Adding an endpoint is
// one entry in a group (devicePaths, alertPaths, …):
//
//	newOp(http.MethodGet, "/api/v1/things/{id}", "getThing", tagDevices, "One thing").
//		describe("What it answers, in a sentence or two.").
//		with(param("id", "path", "Thing id.", "string", true, "t-1")).
//		reply(200, "the thing", asJSON("Thing")).
//		fails(404).
//		scope(ScopeAdmin) // without it: public, a key optional
//
// newOp adds what every operation shares: 405 (the path exists, the
// method does not), 429 (rate limited), 500, 401 for a wrong key, and the
// security requirement. The tests check every operation for an id and a
// schema per answer (openapi_test.go), a route in routes.go
// (routes_test.go), the linters' verdict (openapi_lint_test.go) and real
// answers against the schemas (openapi_conform_test.go: add a call there).

// obj is a JSON object of the document.
type obj = map[string]any

// Tags of the document, in its order.
const (
	tagDevices    = "devices"
	tagReadings   = "readings"
	tagDistricts  = "districts"
	tagAlerts     = "alerts"
	tagOpenData   = "open data"
	tagPush       = "push"
	tagOperations = "operations"
	tagOGC        = "OGC API – Features"
	tagSTA        = "SensorThings API"
)

const tagOGCDesc = "OGC API – Features, Part 1 (Core, GeoJSON, OpenAPI 3.0), for GIS tools."

var tagDescriptions = []struct{ name, desc string }{
	{tagDevices, "Sensors and other devices: where they are and what they measure."},
	{tagReadings, "Measured values: the latest, and the history from the store."},
	{tagDistricts, "City districts with their devices and current aggregates."},
	{tagAlerts, "Alerts and the rules that raise them."},
	{tagOpenData, "The open-data catalogue (DCAT-AP.de) and the usage statistics."},
	{tagPush, "Readings pushed over HTTP by devices that cannot speak MQTT."},
	{tagOperations, "Health, metrics, dead letters and this description."},
	{tagOGC, tagOGCDesc},
	{tagSTA, "OGC SensorThings API 1.1, read."},
}

// authMode is how an operation treats an Authorization header.
type authMode int

const (
	authOptional authMode = iota // public; a key may show more (internal devices)
	authRequired                 // a key with the scope named
	authIgnored                  // no key is looked at (liveness)
)

// op is one operation in the making.
type op struct {
	method, path string
	o            obj
	replies      obj
	errs         []int
	auth         authMode
	limited      bool
	streamed     bool // no ETag, so no 304
}

// newOp starts an operation: public (a key optional), rate limited.
// id is its operationId: unique, camelCase, stable (clients generate
// method names from it).
func newOp(method, path, id, tag, summary string) *op {
	return &op{method: method, path: path, limited: true, replies: obj{},
		o: obj{"operationId": id, "tags": []string{tag}, "summary": summary}}
}

func (o *op) describe(desc string) *op { o.o["description"] = desc; return o }

// with adds parameters: param(...) objects or refs to shared ones.
func (o *op) with(params ...any) *op {
	ps, _ := o.o["parameters"].([]any)
	o.o["parameters"] = append(ps, params...)
	return o
}

// body sets the request body.
func (o *op) body(b obj) *op { o.o["requestBody"] = b; return o }

// reply documents a success answer with its media types (asJSON, asCSV, …);
// none for an answer without a body.
func (o *op) reply(code int, desc string, content ...obj) *op {
	r := obj{"description": desc}
	if len(content) > 0 {
		c := obj{}
		for _, m := range content {
			for k, v := range m {
				c[k] = v
			}
		}
		r["content"] = c
	}
	o.replies[strconv.Itoa(code)] = r
	return o
}

// header documents a response header of the answer with this code.
func (o *op) header(code int, name, desc string) *op {
	r := o.replies[strconv.Itoa(code)].(obj)
	hs, _ := r["headers"].(obj)
	if hs == nil {
		hs = obj{}
	}
	hs[name] = obj{"description": desc, "schema": obj{"type": "string"}}
	r["headers"] = hs
	return o
}

// fails documents error answers (problem documents) besides those every
// operation has.
func (o *op) fails(codes ...int) *op { o.errs = append(o.errs, codes...); return o }

// scope makes a key with the scope required: 401 without one, 403 with
// one lacking it.
func (o *op) scope(scope string) *op {
	o.auth = authRequired
	o.o["x-kessel-scope"] = scope
	return o.fails(http.StatusForbidden)
}

// stream marks a GET answered as a stream: no ETag, so never 304.
func (o *op) stream() *op { o.streamed = true; return o }

// keyless marks an operation that never looks at a key.
func (o *op) keyless() *op { o.auth = authIgnored; return o }

// unlimited marks an operation without a rate limit (no 429).
func (o *op) unlimited() *op { o.limited = false; return o }

// build returns the Operation object, and the problem answers it refers
// to (components/responses).
func (o *op) build() obj {
	out := obj{}
	for k, v := range o.o {
		out[k] = v
	}
	resp := obj{}
	errs := append([]int{http.StatusMethodNotAllowed, http.StatusInternalServerError}, o.errs...)
	if o.limited {
		errs = append(errs, http.StatusTooManyRequests)
	}
	bearer := obj{"bearer": []string{}}
	switch o.auth {
	case authOptional:
		out["security"] = []any{obj{}, bearer}
		errs = append(errs, http.StatusUnauthorized)
	case authRequired:
		out["security"] = []any{bearer}
		errs = append(errs, http.StatusUnauthorized)
	case authIgnored:
		out["security"] = []any{obj{}}
	}
	for _, c := range errs {
		resp[strconv.Itoa(c)] = obj{"$ref": "#/components/responses/" + problemNames[c].name}
	}
	if o.method == http.MethodGet && !o.streamed {
		resp["304"] = obj{"description": "Not modified: If-None-Match holds the ETag of the answer."}
	}
	for k, v := range o.replies {
		resp[k] = v
	}
	out["responses"] = resp
	return out
}

// problemNames are the shared problem answers, by status.
var problemNames = map[int]struct{ name, desc string }{
	400: {"BadRequest", "A parameter or the body is not valid; detail names which and why."},
	401: {"Unauthorized", "No key where one is needed, or a key this server does not know."},
	403: {"Forbidden", "The key lacks the scope, or the resource belongs to another department."},
	404: {"NotFound", "No such resource, or one the key may not see."},
	405: {"MethodNotAllowed", "The path exists but not with this method; Allow lists the methods it serves."},
	409: {"Conflict", "The resource exists already."},
	410: {"Gone", "Raw readings older than the raw retention window; detail names the rollups (every=1h or 1d) that keep them."},
	412: {"PreconditionFailed", "If-Match does not match: the resource changed since it was read."},
	413: {"PayloadTooLarge", "The body is larger than the server takes."},
	415: {"UnsupportedMediaType", "The body is not of a media type this operation takes."},
	428: {"PreconditionRequired", "If-Match is required."},
	429: {"TooManyRequests", "Rate limited; Retry-After says when to try again."},
	500: {"InternalError", "An unexpected error; the detail leaks nothing."},
	503: {"Unavailable", "A part this operation needs does not run on this instance, or a dependency is down; detail names it."},
}

// problemResponses are components/responses for the codes used in paths.
func problemResponses(paths obj) obj {
	out := obj{}
	for _, item := range paths {
		for _, o := range item.(obj) {
			for code := range o.(obj)["responses"].(obj) {
				n, _ := strconv.Atoi(code)
				p, ok := problemNames[n]
				if !ok || n < 400 {
					continue
				}
				r := obj{"description": p.desc, "content": obj{"application/problem+json": obj{"schema": schemaRef("Problem")}}}
				switch n {
				case 405:
					r["headers"] = obj{"Allow": obj{"description": "The methods the path serves.", "schema": obj{"type": "string"}, "example": "GET, HEAD, OPTIONS"}}
				case 429:
					r["headers"] = obj{"Retry-After": obj{"description": "Seconds to wait.", "schema": obj{"type": "integer"}}}
				}
				out[p.name] = r
			}
		}
	}
	return out
}

// pathsOf assembles operations into a Paths object.
func pathsOf(ops ...[]*op) obj {
	paths := obj{}
	for _, group := range ops {
		for _, o := range group {
			item, _ := paths[o.path].(obj)
			if item == nil {
				item = obj{}
				paths[o.path] = item
			}
			item[strings.ToLower(o.method)] = o.build()
		}
	}
	return paths
}

func schemaRef(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }
func paramRef(name string) obj  { return obj{"$ref": "#/components/parameters/" + name} }

// Media types of answers, for reply.
func asJSON(schema string) obj { return obj{"application/json": obj{"schema": schemaRef(schema)}} }
func asGeoJSON(schema string) obj {
	return obj{"application/geo+json": obj{"schema": schemaRef(schema)}}
}
func asCSV() obj { return asText("text/csv") }
func asText(media string) obj {
	return obj{media: obj{"schema": obj{"type": "string"}}}
}
func asSchema(media string, schema obj) obj { return obj{media: obj{"schema": schema}} }

// param is a parameter with a simple schema; example may be nil.
func param(name, in, desc, typ string, required bool, example any) obj {
	p := obj{"name": name, "in": in, "description": desc, "required": required, "schema": obj{"type": typ}}
	if example != nil {
		p["example"] = example
	}
	return p
}

// enumParam is an optional query parameter with a fixed set of values.
func enumParam(name, desc string, values ...string) obj {
	return obj{"name": name, "in": "query", "description": desc, "required": false, "schema": obj{"type": "string", "enum": values}}
}
