package evidence_test

import (
	"testing"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/evidence"
)

// FuzzVerify: record files are outside input (kessel evidence verify
// --dir). Verify never panics, and whatever it accepts hashes to the hash
// stored beside it.
func FuzzVerify(f *testing.F) {
	es := chain(f, "2026-12-01", 1)
	f.Add(es[0].Doc, es[0].Hash)
	f.Add([]byte(`{"version":1,"subject":{"type":"sensor","id":"x","devices":null},"sensors":null}`), "")
	f.Add([]byte(`{"sensors":[{"stats":{"a":{"below_zero_h":1e400}}}]}`), "00")
	f.Add([]byte(`[]`), "")
	f.Fuzz(func(t *testing.T, doc []byte, hash string) {
		e := kessel.EvidenceEntry{Subject: "sensor:road-1", Day: "2026-12-01", Hash: hash, Doc: doc}
		res := evidence.Verify(e.Subject, []kessel.EvidenceEntry{e})
		if !res.OK {
			return
		}
		r, err := evidence.Decode(e)
		if err != nil {
			t.Fatalf("verified a document that does not decode: %v", err)
		}
		if h, _ := evidence.HashOf(r); h != hash {
			t.Fatalf("verified a document hashing to %s, not %s", h, hash)
		}
	})
}
