package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/kessel-city/kessel"
)

// Canonical returns the record's canonical form, the bytes that are
// hashed: its JSON as encoding/json writes it (fields in the order Record
// declares them, map keys sorted, no insignificant white space, numbers in
// the shortest form that reads back exactly, times in UTC, RFC 3339), with
// Hash left out. Build rounds values (to 0.01) so the form stays short.
func Canonical(r Record) ([]byte, error) {
	r.Hash = ""
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("evidence: canonical form of %s %s: %w", r.Subject.Key(), r.Day, err)
	}
	return b, nil
}

// HashOf returns the hex SHA-256 of the record's canonical form.
func HashOf(r Record) (string, error) {
	b, err := Canonical(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Seal chains r to the previous day's hash prev ("" for a chain's first
// day) and sets its Hash.
func Seal(r Record, prev string) (Record, error) {
	r.Prev = prev
	h, err := HashOf(r)
	if err != nil {
		return r, err
	}
	r.Hash = h
	return r, nil
}

// Entry returns the stored form of a sealed record.
func Entry(r Record) (kessel.EvidenceEntry, error) {
	doc, err := json.Marshal(r)
	if err != nil {
		return kessel.EvidenceEntry{}, fmt.Errorf("evidence: %w", err)
	}
	return kessel.EvidenceEntry{Subject: r.Subject.Key(), Day: r.Day, Start: r.From, Hash: r.Hash, Prev: r.Prev, Doc: doc}, nil
}

// Decode reads a record from its stored form, as it is (verification
// judges it). EINVALID when the document is not a record.
func Decode(e kessel.EvidenceEntry) (Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(e.Doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, kessel.Errorf(kessel.EINVALID, "evidence %s %s: not a record: %v", e.Subject, e.Day, err)
	}
	return r, nil
}

// Result is what Verify found.
type Result struct {
	OK      bool   `json:"ok"`
	Subject string `json:"subject"`
	Days    int    `json:"days"` // records checked
	First   string `json:"first,omitempty"`
	Last    string `json:"last,omitempty"`
	// BrokenAt is the first day whose record does not match its hash or
	// does not link to the day before; Reason says which.
	BrokenAt string `json:"broken_at,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Head is the last record's hash: whoever keeps it can later prove
	// the whole chain up to that day unchanged.
	Head string `json:"head,omitempty"`
}

// Verify checks the stored entries of one subject's chain, oldest first:
// each document must hash to the hash stored beside it and carry it, and
// must name the previous entry's hash as its Prev (the first entry may
// name any: the chain may have begun before the range asked for). It
// stops at the first break.
func Verify(subject string, entries []kessel.EvidenceEntry) Result {
	res := Result{OK: true, Subject: subject}
	prev := ""
	for i, e := range entries {
		res.Days++
		if i == 0 {
			res.First = e.Day
		}
		res.Last = e.Day
		if reason := check(e, prev, i == 0); reason != "" {
			res.OK, res.BrokenAt, res.Reason, res.Head = false, e.Day, reason, ""
			return res
		}
		prev, res.Head = e.Hash, e.Hash
	}
	return res
}

// check returns why entry e breaks the chain after prev, or "".
func check(e kessel.EvidenceEntry, prev string, first bool) string {
	r, err := Decode(e)
	if err != nil {
		return "the stored record cannot be read: " + kessel.ErrorMessage(err)
	}
	h, err := HashOf(r)
	switch {
	case err != nil:
		return err.Error()
	case r.Hash != e.Hash:
		return fmt.Sprintf("the record carries hash %s, the chain stores %s", r.Hash, e.Hash)
	case h != e.Hash:
		return fmt.Sprintf("the record was changed: its content hashes to %s, not to the stored %s", h, e.Hash)
	case r.Day != e.Day || r.Subject.Key() != e.Subject:
		return fmt.Sprintf("the record is of %s %s, stored as %s %s", r.Subject.Key(), r.Day, e.Subject, e.Day)
	case r.Prev != e.Prev:
		return fmt.Sprintf("the record links to %s, the chain stores %s", r.Prev, e.Prev)
	case !first && r.Prev != prev:
		return fmt.Sprintf("the link to the day before is broken: the record names %s, the previous record's hash is %s (a record was removed, added or replaced)", r.Prev, prev)
	}
	return ""
}
