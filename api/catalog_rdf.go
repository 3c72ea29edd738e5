package api

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A small RDF model for the catalogue: one list of triples, written as
// Turtle, RDF/XML or JSON-LD by the serialisers in catalog_rdfout.go, so that
// the three representations always say the same.

type termKind uint8

const (
	iriTerm termKind = iota
	blankTerm
	literalTerm
)

// term is an RDF term. For a literal, datatype is a full IRI ("" means
// xsd:string) and lang a BCP 47 tag ("" means none).
type term struct {
	kind           termKind
	value          string
	datatype, lang string
}

type triple struct{ s, p, o term }

// rdfPrefix is a namespace the serialisers abbreviate.
type rdfPrefix struct{ name, ns string }

// rdfPrefixes are the namespaces of the catalogue; every predicate and
// class used must fall in one of them (the RDF/XML writer needs a QName).
var rdfPrefixes = []rdfPrefix{
	{"rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"},
	{"rdfs", "http://www.w3.org/2000/01/rdf-schema#"},
	{"dcat", "http://www.w3.org/ns/dcat#"},
	{"dct", "http://purl.org/dc/terms/"},
	{"dcatde", "http://dcat-ap.de/def/dcatde/"},
	{"foaf", "http://xmlns.com/foaf/0.1/"},
	{"vcard", "http://www.w3.org/2006/vcard/ns#"},
	{"skos", "http://www.w3.org/2004/02/skos/core#"},
	{"xsd", "http://www.w3.org/2001/XMLSchema#"},
	{"locn", "http://www.w3.org/ns/locn#"},
	{"gsp", "http://www.opengis.net/ont/geosparql#"},
	{"sosa", "http://www.w3.org/ns/sosa/"},
	{"qudt", "http://qudt.org/schema/qudt/"},
}

const (
	xsdDate     = "http://www.w3.org/2001/XMLSchema#date"
	xsdDateTime = "http://www.w3.org/2001/XMLSchema#dateTime"
	rdfType     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
)

// expand turns "dct:title" into its full IRI; it panics on an unknown
// prefix, which is a programming error caught by every test.
func expand(qname string) string {
	name, local, ok := strings.Cut(qname, ":")
	if ok {
		for _, p := range rdfPrefixes {
			if p.name == name {
				return p.ns + local
			}
		}
	}
	panic(fmt.Sprintf("api: rdf: unknown prefix in %q", qname))
}

// compact turns a full IRI into prefix:local when a prefix covers it and
// local is a plain name (letters, digits, _ and -, not first), else "".
func compact(iri string) string {
	for _, p := range rdfPrefixes {
		local, ok := strings.CutPrefix(iri, p.ns)
		if ok && plainName(local) {
			return p.name + ":" + local
		}
	}
	return ""
}

func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-')) {
			return false
		}
	}
	return true
}

func iri(s string) term   { return term{kind: iriTerm, value: safeIRI(s)} }
func qn(s string) term    { return iri(expand(s)) }
func blank(s string) term { return term{kind: blankTerm, value: s} }

// text is a literal in a language, or a plain string when lang is "".
func text(s, lang string) term { return term{kind: literalTerm, value: s, lang: lang} }

func typed(s, datatype string) term { return term{kind: literalTerm, value: s, datatype: datatype} }

// graph is an ordered set of triples; add keeps the order of first
// appearance, which the serialisers follow.
type graph struct {
	triples []triple
	seen    map[triple]bool
}

func (g *graph) add(s term, p string, os ...term) {
	if g.seen == nil {
		g.seen = map[triple]bool{}
	}
	for _, o := range os {
		t := triple{s, qn(p), o}
		if !g.seen[t] {
			g.seen[t] = true
			g.triples = append(g.triples, t)
		}
	}
}

// subjects returns the subjects in order of first appearance, with their
// triples.
func (g *graph) subjects() ([]term, map[term][]triple) {
	var order []term
	by := map[term][]triple{}
	for _, t := range g.triples {
		if _, ok := by[t.s]; !ok {
			order = append(order, t.s)
		}
		by[t.s] = append(by[t.s], t)
	}
	return order, by
}

// safeIRI percent-encodes the characters an IRI may not hold in Turtle's
// <…> or in XML and JSON-LD alike (space, controls, <>"{}|\^`, bytes
// that are not UTF-8), so a configured base URL or a hostile Host header
// cannot break out of it.
func safeIRI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		if r == utf8.RuneError && size == 1 || c <= 0x20 || c == 0x7f || strings.IndexByte("<>\"{}|\\^`", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
