package api

import (
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPIOperationsComplete holds every operation of both documents
// (the whole API and the OGC API definition) to what clients rely on: a
// unique camelCase operationId, tags the document lists, security
// declared, 405 and (but for /docs) 429 documented, errors as problem
// documents, and a schema that says more than "object" for every answer
// with a JSON body.
func TestOpenAPIOperationsComplete(t *testing.T) {
	camel := regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	for name, doc := range map[string]obj{"api": openAPI(), "ogc": {"paths": pathsOf(ogcOperations("", "")), "tags": []any{obj{"name": tagOGC}},
		"components": obj{"schemas": schemas()}}} {
		tags := map[string]bool{}
		for _, tg := range doc["tags"].([]any) {
			tags[tg.(obj)["name"].(string)] = true
		}
		ids := map[string]string{}
		n := 0
		for path, item := range doc["paths"].(obj) {
			for method, o := range item.(obj) {
				n++
				where := name + ": " + strings.ToUpper(method) + " " + path
				checkOperation(t, where, o.(obj), doc, tags)
				id, _ := o.(obj)["operationId"].(string)
				if !camel.MatchString(id) {
					t.Errorf("%s: operationId %q is not camelCase", where, id)
				}
				if other, dup := ids[id]; dup {
					t.Errorf("%s: operationId %q is %s's too", where, id, other)
				}
				ids[id] = where
			}
		}
		if n < 8 {
			t.Errorf("%s: only %d operations", name, n)
		}
	}
}

func checkOperation(t *testing.T, where string, o, doc obj, tags map[string]bool) {
	t.Helper()
	for _, tg := range o["tags"].([]string) {
		if !tags[tg] {
			t.Errorf("%s: tag %q is not in the document's tags", where, tg)
		}
	}
	if sec, ok := o["security"].([]any); !ok || len(sec) == 0 {
		t.Errorf("%s: no security declared", where)
	}
	resp := o["responses"].(obj)
	wants := []string{"405", "500"}
	if !strings.HasSuffix(where, " /docs") {
		wants = append(wants, "429")
	}
	for _, code := range wants {
		if resp[code] == nil {
			t.Errorf("%s: %s is not documented", where, code)
		}
	}
	for code, r := range resp {
		r := r.(obj)
		if ref, ok := r["$ref"].(string); ok {
			if code < "400" || !strings.HasPrefix(ref, "#/components/responses/") {
				t.Errorf("%s: %s refers to %s", where, code, ref)
			}
			continue
		}
		if code >= "400" && code != "503" {
			t.Errorf("%s: %s is not a shared problem answer", where, code)
		}
		content, _ := r["content"].(obj)
		for media, m := range content {
			schema := m.(obj)["schema"].(obj)
			if strings.Contains(media, "json") && !informative(schema, doc) {
				t.Errorf("%s: %s %s has no real schema: %v", where, code, media, schema)
			}
		}
	}
}

// informative reports whether a schema names properties or items (itself,
// through $ref or allOf), not just "an object".
func informative(schema, doc obj) bool {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s, ok := doc["components"].(obj)["schemas"].(obj)[name].(obj)
		return ok && informative(s, doc)
	}
	if all, ok := schema["allOf"].([]any); ok {
		return len(all) > 0 && informative(all[0].(obj), doc)
	}
	return schema["properties"] != nil || schema["items"] != nil
}
