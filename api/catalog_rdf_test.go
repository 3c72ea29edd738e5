package api

import (
	"strings"
	"testing"
)

// TestRDFEscaping: what the serialisers write of hostile strings and IRIs
// stays one literal or one IRI.
func TestRDFEscaping(t *testing.T) {
	for _, tc := range []struct {
		name, in, turtle, xml, iri string
	}{
		{"plain", "Stuttgart", "Stuttgart", "Stuttgart", "Stuttgart"},
		{"quotes and backslash", `a "b" \c`, `a \"b\" \\c`, "a &#34;b&#34; \\c", "a%20%22b%22%20%5Cc"},
		{"line ends and tab", "a\nb\r\tc", `a\nb\r\tc`, "a&#xA;b&#xD;&#x9;c", "a%0Ab%0D%09c"},
		{"markup", "<x> & </rdf:RDF>", "<x> & </rdf:RDF>", "&lt;x&gt; &amp; &lt;/rdf:RDF&gt;", "%3Cx%3E%20&%20%3C/rdf:RDF%3E"},
		{"control and bad UTF-8", "a\x01b\xffc", `a\u0001b` + "\uFFFD" + "c", "a\uFFFDb\uFFFDc", "a%01b%FFc"},
		{"non-ASCII kept", "Lärm €", "Lärm €", "Lärm €", "Lärm%20€"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := turtleEscape(tc.in); got != tc.turtle {
				t.Errorf("turtle %q, want %q", got, tc.turtle)
			}
			if got := xmlEscape(tc.in); got != tc.xml {
				t.Errorf("xml %q, want %q", got, tc.xml)
			}
			if got := safeIRI(tc.in); got != tc.iri {
				t.Errorf("iri %q, want %q", got, tc.iri)
			}
		})
	}
}

// TestJSONLDReachesEveryNode: a node the tree cannot reach is an error,
// never a silently dropped triple.
func TestJSONLDReachesEveryNode(t *testing.T) {
	g := &graph{}
	root, other := iri("http://x/root"), iri("http://x/other")
	g.add(root, "dct:title", text("t", "en"))
	g.add(other, "dct:title", text("lost", "en"))
	if _, err := g.jsonLD(root); err == nil || !strings.Contains(err.Error(), "http://x/other") {
		t.Errorf("err = %v", err)
	}
	g.add(root, "dct:hasPart", other)
	doc, err := g.jsonLD(root)
	if err != nil || !strings.Contains(string(doc), `"lost"`) {
		t.Errorf("%v %s", err, doc)
	}
}
