package api

import (
	"bytes"
	"net/http"
	"net/url"
)

// ordered is a JSON object that keeps its keys in the order given, so that
// a collection's schema lists its properties as its features do (tools
// such as GDAL make columns in this order).
type ordered []kv

type kv struct {
	k string
	v any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, kv := range o {
		if i > 0 {
			b = append(b, ',')
		}
		v, err := marshalNoEscape(kv.v)
		if err != nil {
			return nil, err
		}
		b = append(append(appendString(b, kv.k), ':'), bytes.TrimSpace(v)...)
	}
	return append(b, '}'), nil
}

func geometrySchema(types ...string) obj {
	shapes := map[string]obj{
		"Point":        {"type": "array", "minItems": 2, "items": obj{"type": "number"}},
		"Polygon":      {"type": "array", "items": obj{"type": "array", "minItems": 4, "items": obj{"type": "array", "minItems": 2, "items": obj{"type": "number"}}}},
		"MultiPolygon": {"type": "array", "items": obj{"type": "array", "items": obj{"type": "array", "minItems": 4, "items": obj{"type": "array", "minItems": 2, "items": obj{"type": "number"}}}}},
	}
	var one []any
	for _, t := range types {
		if t == "null" {
			one = append(one, obj{"type": "null"})
			continue
		}
		one = append(one, obj{"type": "object", "required": []string{"type", "coordinates"}, "properties": obj{
			"type": obj{"type": "string", "enum": []string{t}}, "coordinates": shapes[t]}})
	}
	return obj{"oneOf": one}
}

// jsonSchema is the JSON Schema of the collection's features (the GeoJSON
// Feature, with its properties typed), served at …/schema and linked from
// the collection as describedby.
func (l *ogcLayer) jsonSchema(id string) ordered {
	props := ordered{}
	for _, p := range l.schema {
		s := ordered{{"type", p.typ}}
		if p.format != "" {
			s = append(s, kv{"format", p.format})
		}
		if p.title != "" {
			s = append(s, kv{"title", p.title})
		}
		props = append(props, kv{p.name, s})
	}
	required := l.required
	if required == nil {
		required = []string{}
	}
	return ordered{
		{"$schema", "https://json-schema.org/draft/2019-09/schema"},
		{"$id", id},
		{"title", l.title},
		{"description", l.description},
		{"type", "object"},
		{"required", []string{"type", "geometry", "properties"}},
		{"properties", ordered{
			{"type", obj{"type": "string", "enum": []string{"Feature"}}},
			{"id", obj{"type": "string"}},
			{"geometry", geometrySchema(l.geometries...)},
			{"properties", ordered{{"type", "object"}, {"required", required}, {"properties", props}}},
			{"links", obj{"type": "array", "items": obj{"type": "object", "required": []string{"href", "rel"}}}},
		}},
	}
}

func (s *server) handleOGCSchema() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l, ok := s.ogcLayerOf(w, r); ok {
			s.respondOGC(w, r, ogcSchemaMedia, l.jsonSchema(s.ogcBase(r)+"/collections/"+url.PathEscape(l.id)+"/schema"))
		}
	})
}
