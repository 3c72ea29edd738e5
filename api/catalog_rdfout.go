package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
)

// The serialisers of a graph. Each writes every triple once; the JSON-LD
// writer nests the graph as a tree from one root node.

// turtle writes g as Turtle (W3C RDF 1.1 Turtle), subjects in order.
func (g *graph) turtle() []byte {
	var b bytes.Buffer
	for _, p := range rdfPrefixes {
		fmt.Fprintf(&b, "@prefix %s: <%s> .\n", p.name, p.ns)
	}
	order, by := g.subjects()
	for _, s := range order {
		b.WriteString("\n" + turtleTerm(s))
		ts := by[s]
		for i, t := range ts {
			switch {
			case i > 0 && ts[i-1].p == t.p:
				b.WriteString(",\n        ")
			case i > 0:
				b.WriteString(" ;\n    ")
			default:
				b.WriteString("\n    ")
			}
			if i == 0 || ts[i-1].p != t.p {
				if t.p.value == rdfType {
					b.WriteString("a ")
				} else {
					b.WriteString(turtleTerm(t.p) + " ")
				}
			}
			b.WriteString(turtleTerm(t.o))
		}
		b.WriteString(" .\n")
	}
	return b.Bytes()
}

func turtleTerm(t term) string {
	switch t.kind {
	case blankTerm:
		return "_:" + t.value
	case literalTerm:
		s := `"` + turtleEscape(t.value) + `"`
		if t.lang != "" {
			return s + "@" + t.lang
		}
		if t.datatype != "" {
			return s + "^^" + turtleTerm(iri(t.datatype))
		}
		return s
	}
	if q := compact(t.value); q != "" {
		return q
	}
	return "<" + t.value + ">"
}

// turtleEscape escapes a string for a "…" literal: quotes, backslashes
// and every control character; invalid UTF-8 becomes U+FFFD.
func turtleEscape(s string) string {
	var b strings.Builder
	for _, c := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// rdfXML writes g as RDF/XML, one rdf:Description per subject.
func (g *graph) rdfXML() []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rdf:RDF")
	for _, p := range rdfPrefixes {
		fmt.Fprintf(&b, "\n    xmlns:%s=\"%s\"", p.name, xmlEscape(p.ns))
	}
	b.WriteString(">\n")
	order, by := g.subjects()
	for _, s := range order {
		b.WriteString("  <rdf:Description " + xmlRef("about", s) + ">\n")
		for _, t := range by[s] {
			name := compact(t.p.value)
			o := t.o
			switch {
			case o.kind != literalTerm:
				fmt.Fprintf(&b, "    <%s %s/>\n", name, xmlRef("resource", o))
			case o.lang != "":
				fmt.Fprintf(&b, "    <%s xml:lang=\"%s\">%s</%[1]s>\n", name, xmlEscape(o.lang), xmlEscape(o.value))
			case o.datatype != "":
				fmt.Fprintf(&b, "    <%s rdf:datatype=\"%s\">%s</%[1]s>\n", name, xmlEscape(o.datatype), xmlEscape(o.value))
			default:
				fmt.Fprintf(&b, "    <%s>%s</%[1]s>\n", name, xmlEscape(o.value))
			}
		}
		b.WriteString("  </rdf:Description>\n")
	}
	b.WriteString("</rdf:RDF>\n")
	return b.Bytes()
}

// xmlRef is rdf:about/rdf:resource="iri", or rdf:nodeID for a blank node.
func xmlRef(attr string, t term) string {
	if t.kind == blankTerm {
		return `rdf:nodeID="` + xmlEscape(t.value) + `"`
	}
	return "rdf:" + attr + `="` + xmlEscape(t.value) + `"`
}

// xmlEscape escapes text and attribute values alike (quotes, &, <, >,
// tab and line ends); characters XML cannot hold become U+FFFD.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// jsonLD writes g as one JSON-LD node tree from root: a node is nested
// under the node nearest to root that refers to it (breadth first) and
// referred to by @id elsewhere, so every triple appears once and a client
// reads the catalogue as plain JSON (root["dcat:dataset"][0]["dct:title"]).
func (g *graph) jsonLD(root term) ([]byte, error) {
	_, by := g.subjects()
	owner := map[term]term{root: root}
	for queue := []term{root}; len(queue) > 0; queue = queue[1:] {
		for _, t := range by[queue[0]] {
			if _, has := by[t.o]; has && t.p.value != rdfType && t.o.kind != literalTerm {
				if _, ok := owner[t.o]; !ok {
					owner[t.o] = queue[0]
					queue = append(queue, t.o)
				}
			}
		}
	}
	done := map[term]bool{}
	var node func(s term) obj
	node = func(s term) obj {
		done[s] = true
		n := obj{"@id": jsonLDID(s)}
		for _, t := range by[s] {
			key, v := compact(t.p.value), any(nil)
			if t.p.value == rdfType {
				key, v = "@type", compactOr(t.o.value)
			} else if o, ok := owner[t.o]; ok && o == s && !done[t.o] && t.o != root {
				v = node(t.o)
			} else {
				v = jsonLDValue(t.o)
			}
			switch prev := n[key].(type) {
			case nil:
				n[key] = v
			case []any:
				n[key] = append(prev, v)
			default:
				n[key] = []any{prev, v}
			}
		}
		return n
	}
	doc := node(root)
	ctx := obj{}
	for _, p := range rdfPrefixes {
		ctx[p.name] = p.ns
	}
	doc["@context"] = ctx
	for s := range by {
		if !done[s] {
			return nil, fmt.Errorf("api: json-ld: %s is not reachable from %s", s.value, root.value)
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

func jsonLDID(t term) string {
	if t.kind == blankTerm {
		return "_:" + t.value
	}
	return t.value
}

func compactOr(iri string) string {
	if q := compact(iri); q != "" {
		return q
	}
	return iri
}

func jsonLDValue(t term) any {
	switch {
	case t.kind != literalTerm:
		return obj{"@id": jsonLDID(t)}
	case t.lang != "":
		return obj{"@value": t.value, "@language": t.lang}
	case t.datatype != "":
		return obj{"@value": t.value, "@type": compactOr(t.datatype)}
	}
	return t.value
}
