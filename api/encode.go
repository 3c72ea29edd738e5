package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Cache lifetimes per kind of resource.
const (
	cacheLive    = "public, max-age=10"
	cacheHistory = "public, max-age=60"
	cacheStatic  = "public, max-age=300"
	cacheNone    = "no-store"
)

// reply says how encode answers a success.
type reply struct {
	status int    // default 200
	media  string // Content-Type; default application/json
	cache  string // Cache-Control; default no-store
	// version starts the ETag of a resource that If-Match checks (a
	// device); the rest of every ETag is a hash of the body.
	version string
}

// encode is the one way a success is answered. v is the body: a []byte as
// it is, nil for none, anything else as JSON (without HTML escaping). It
// sets Content-Type, Content-Length, an ETag and Cache-Control before
// WriteHeader, answers 304 to a GET or HEAD whose If-None-Match holds the
// ETag, and writes no body to HEAD.
func (s *server) encode(w http.ResponseWriter, r *http.Request, v any, rp reply) {
	if rp.status == 0 {
		rp.status = http.StatusOK
	}
	if rp.cache == "" {
		rp.cache = cacheNone
	}
	if rp.media == "" {
		rp.media = mediaJSON
	}
	body, err := marshal(v)
	if err != nil {
		s.errorResponse(w, r, fmt.Errorf("api: encode: %w", err))
		return
	}
	h := w.Header()
	h.Set("Cache-Control", rp.cache)
	if body == nil {
		w.WriteHeader(rp.status)
		return
	}
	etag := bodyETag(body)
	if rp.version != "" {
		etag = `"` + rp.version + "-" + strings.Trim(etag, `"`) + `"`
	}
	h.Set("ETag", etag)
	h.Set("Vary", "Accept")
	if rp.status == http.StatusOK && (r.Method == http.MethodGet || r.Method == http.MethodHead) && matches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", rp.media)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rp.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		if v == nil {
			return []byte{}, nil
		}
		return v, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Output formats of collections.
const (
	formatJSON    = "json"
	formatGeoJSON = "geojson"
	formatCSV     = "csv"
)

// Media types of answers.
const (
	mediaJSON    = "application/json"
	mediaGeoJSON = "application/geo+json"
	mediaJSONLD  = "application/ld+json"
	mediaCSV     = "text/csv; charset=utf-8"
	mediaHTML    = "text/html; charset=utf-8"
)

// negotiate picks the output format from ?format= or the Accept header.
func negotiate(r *http.Request) (string, error) {
	if f := r.URL.Query().Get("format"); f != "" {
		switch f {
		case formatJSON, formatGeoJSON, formatCSV:
			return f, nil
		}
		return "", invalid("format %q is not supported; use json, geojson or csv", f)
	}
	accept := r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, mediaGeoJSON):
		return formatGeoJSON, nil
	case strings.Contains(accept, "text/csv"):
		return formatCSV, nil
	}
	return formatJSON, nil
}

func mediaOf(format string) string {
	switch format {
	case formatGeoJSON:
		return mediaGeoJSON
	case formatCSV:
		return mediaCSV
	}
	return mediaJSON
}

// csvBytes renders rows as RFC 4180 CSV, each cell through csvCell.
func csvBytes(rows [][]string) []byte {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	for _, row := range rows {
		_ = cw.Write(csvCells(row))
	}
	cw.Flush()
	return buf.Bytes()
}

// csvCell keeps a spreadsheet from running a cell as a formula (OWASP's
// advice on CSV injection): text starting with = + - @, a tab or a
// carriage return gets an apostrophe in front; a number (-12.5) stays.
func csvCell(s string) string {
	if s == "" || strings.IndexByte("=+-@\t\r", s[0]) < 0 {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && s[0] != '=' && s[0] != '@' {
		return s
	}
	return "'" + s
}

// csvCells applies csvCell to a row in place and returns it.
func csvCells(row []string) []string {
	for i, c := range row {
		row[i] = csvCell(c)
	}
	return row
}

// bodyETag is a strong ETag of a representation.
func bodyETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// matches reports whether an If-None-Match header lists etag (or *).
func matches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, m := range strings.Split(header, ",") {
		if m = strings.TrimSpace(m); m == etag || m == "*" || m == "W/"+etag {
			return true
		}
	}
	return false
}
