package evidence

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kessel-city/kessel"
)

// Dir keeps a copy of every sealed record as a file,
// DIR/<type>/<id>/<day>.json (the record's JSON with its hash), so that
// the chain can be verified without Kessel's database (ReadDir, then
// Verify). Files are written once, atomically.
type Dir string

// Put writes r's file; an existing file is left as it is.
func (d Dir) Put(r Record) error {
	dir := filepath.Join(string(d), r.Subject.Type, r.Subject.ID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	path := filepath.Join(dir, r.Day+".json")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	doc, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(doc, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("evidence: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("evidence: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// ReadDir returns the entries of subject ("sensor:road-0001") kept in d,
// oldest first. Each file's own hash and link are taken as stored (Verify
// checks them against its content). ENOTFOUND when d holds none; EINVALID
// for a subject whose id is no sensor's or route's.
func (d Dir) ReadDir(subject string) ([]kessel.EvidenceEntry, error) {
	typ, id, ok := strings.Cut(subject, ":")
	if !ok || !(typ == Sensor && kessel.ValidDeviceID(id) || typ == Route && routeID.MatchString(id)) {
		return nil, kessel.Errorf(kessel.EINVALID, "subject %q: want sensor:ID or route:ID", subject)
	}
	dir := filepath.Join(string(d), typ, id)
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(names) == 0 {
		return nil, kessel.Errorf(kessel.ENOTFOUND, "no records of %s in %s", subject, dir)
	}
	slices.Sort(names)
	var out []kessel.EvidenceEntry
	for _, name := range names {
		doc, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("evidence: %w", err)
		}
		var head struct {
			Day  string `json:"day"`
			Hash string `json:"hash"`
			Prev string `json:"prev"`
		}
		_ = json.Unmarshal(doc, &head) // an unreadable file fails verification
		day := strings.TrimSuffix(filepath.Base(name), ".json")
		e := kessel.EvidenceEntry{Subject: subject, Day: day, Hash: head.Hash, Prev: head.Prev, Doc: doc}
		if pd, err := ParseDay(day); err == nil {
			e.Start = pd.Start
		}
		out = append(out, e)
	}
	return out, nil
}
