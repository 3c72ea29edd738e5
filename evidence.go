package kessel

import "time"

// EvidenceEntry is one stored day of a tamper-evident evidence chain (see
// package evidence): the canonical record Doc of Subject's Day, its
// SHA-256 Hash and the Hash of the day before (Prev). Start is the day's
// first instant; stores key entries by Subject and Start.
type EvidenceEntry struct {
	Subject string
	Day     string // YYYY-MM-DD, local day
	Start   time.Time
	Hash    string
	Prev    string
	Doc     []byte
}
