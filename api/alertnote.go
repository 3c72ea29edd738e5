package api

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kessel-city/kessel"
)

// ackNote reads the optional body of POST /alerts/{id}/ack,
// {"note": "Streufahrzeug 3 ausgerückt 05:40"}: no body is an
// acknowledgement without a note. A note longer than kessel.AckNoteMax
// bytes, with control characters other than line breaks, or with
// bidirectional overrides (bidiControl), is EINVALID.
func (s *server) ackNote(r *http.Request) (string, error) {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return "", nil
	}
	var body struct {
		Note string `json:"note"`
	}
	if err := s.decode(r, &body); err != nil {
		return "", err
	}
	note := strings.TrimSpace(body.Note)
	if len(note) > kessel.AckNoteMax {
		return "", invalid("note: at most %d bytes, got %d", kessel.AckNoteMax, len(note))
	}
	if !utf8.ValidString(note) || strings.ContainsFunc(note, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		return "", invalid("note: control characters other than line breaks are not allowed")
	}
	if strings.ContainsFunc(note, bidiControl) {
		return "", invalid("note: characters that change the text's direction (U+202A-U+202E, U+2066-U+2069) are not allowed; the note would read other than it is written")
	}
	return note, nil
}

// bidiControl reports whether r is a Unicode bidirectional embedding,
// override or isolate, with which text displays in another order than it
// is stored ("Trojan Source").
func bidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}
