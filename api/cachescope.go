package api

import (
	"net/http"
	"strings"
)

// cacheScope keeps what one key may see out of shared caches. Every
// response of the keyed API varies with Authorization; a response to a
// keyed request is "private" (a "public" directive becomes "private", and
// one without Cache-Control gets "private, no-cache"), so that only
// anonymous, public responses are publicly cacheable. It acts when the
// header is written, after the handler chose its Cache-Control.
type cacheScope struct {
	http.ResponseWriter
	keyed bool
	done  bool
}

func (c *cacheScope) scope() {
	if c.done {
		return
	}
	c.done = true
	h := c.Header()
	if !varies(h, "Authorization") { // one header line: many clients read only the first
		h.Set("Vary", strings.Join(append(h.Values("Vary"), "Authorization"), ", "))
	}
	if !c.keyed {
		return
	}
	cc := h.Get("Cache-Control")
	if cc == "" {
		h.Set("Cache-Control", "private, no-cache")
		return
	}
	var out []string
	private := false
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		switch name, _, _ := strings.Cut(strings.ToLower(d), "="); name {
		case "public", "private":
			d = "private"
			if private {
				continue
			}
			private = true
		case "s-maxage", "proxy-revalidate":
			continue // directives for shared caches only
		}
		out = append(out, d)
	}
	if !private && !strings.Contains(cc, "no-store") {
		out = append([]string{"private"}, out...)
	}
	h.Set("Cache-Control", strings.Join(out, ", "))
}

// varies reports whether the Vary header lists name (or *).
func varies(h http.Header, name string) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, name) {
				return true
			}
		}
	}
	return false
}

func (c *cacheScope) WriteHeader(code int) {
	c.scope()
	c.ResponseWriter.WriteHeader(code)
}

func (c *cacheScope) Write(b []byte) (int, error) {
	c.scope()
	return c.ResponseWriter.Write(b)
}

// Flush lets streams (SSE) flush through.
func (c *cacheScope) Flush() {
	c.scope()
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (c *cacheScope) Unwrap() http.ResponseWriter { return c.ResponseWriter }
