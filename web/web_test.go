package web_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/kessel-city/kessel/web"
)

func serve(t *testing.T, h http.Handler, method, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// staticPrefix finds the versioned asset folder the page links to.
func staticPrefix(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`src="(/static/[A-Za-z0-9_-]+)/app\.js"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page links no versioned app.js:\n%.600s", page)
	}
	return m[1]
}

func TestPageAndAssets(t *testing.T) {
	h, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := serve(t, h, http.MethodGet, "/", nil)
	html := body(t, page)
	prefix := staticPrefix(t, html)
	tests := []struct {
		name, method, path string
		header             http.Header
		status             int
		ctype, cache       string
	}{
		{"page", http.MethodGet, "/", nil, 200, "text/html; charset=utf-8", "no-cache"},
		{"page HEAD", http.MethodHead, "/", nil, 200, "text/html; charset=utf-8", "no-cache"},
		{"page unchanged", http.MethodGet, "/", http.Header{"If-None-Match": {page.Header.Get("ETag")}}, 304, "", "no-cache"},
		{"versioned module", http.MethodGet, prefix + "/app.js", nil, 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"versioned style", http.MethodGet, prefix + "/style.css", nil, 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"vendored licence", http.MethodGet, prefix + "/vendor/leaflet-1.9.4/LICENSE", nil, 200, "application/octet-stream", "public, max-age=31536000, immutable"},
		{"unversioned asset", http.MethodGet, "/static/i18n.js", nil, 200, "text/javascript; charset=utf-8", "no-cache"},
		{"old version", http.MethodGet, "/static/AAAAAAAAAAAA/app.js", nil, 404, "", ""},
		{"unknown asset", http.MethodGet, prefix + "/nope.js", nil, 404, "", ""},
		{"traversal", http.MethodGet, prefix + "/../web.go", nil, 404, "", ""},
		{"post", http.MethodPost, "/", nil, 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, h, tc.method, tc.path, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.cache != "" && resp.Header.Get("Cache-Control") != tc.cache {
				t.Errorf("Cache-Control %q, want %q", resp.Header.Get("Cache-Control"), tc.cache)
			}
			if resp.StatusCode == 200 && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
		})
	}
	if !strings.Contains(html, `<html lang="de">`) {
		t.Error("the page is not German by default")
	}
	if regexp.MustCompile(`<(script|link|img)[^>]+(src|href)="(https?:)?//`).MatchString(html) {
		t.Error("the page links a script, style or icon from another host")
	}
}

func TestTileServer(t *testing.T) {
	tests := []struct {
		name, tiles string
		wantErr     string
		wantCSP     string
	}{
		{"none", "", "", "img-src 'self' data:;"},
		{"configured", "https://tiles.example.org/osm/{z}/{x}/{y}.png", "", "img-src 'self' data: https://tiles.example.org;"},
		{"no placeholders", "https://tiles.example.org/map.png", "lacks {z}", ""},
		{"not http", "ftp://tiles.example.org/{z}/{x}/{y}.png", "not an http(s) URL", ""},
		{"host placeholder", "https://{s}.tiles.example.org/{z}/{x}/{y}.png", "placeholders in the host", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := web.New(web.Options{TileURL: tc.tiles, TileAttribution: "© Example <contributors>"})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp := serve(t, h, http.MethodGet, "/", nil)
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, tc.wantCSP) || !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q, want %q and only Kessel for scripts and data", csp, tc.wantCSP)
			}
			html := body(t, resp)
			if tc.tiles != "" && !strings.Contains(html, `content="© Example &lt;contributors&gt;"`) {
				t.Error("attribution not in the page, or not escaped")
			}
		})
	}
}

// TestGzip: assets and the page are sent gzipped to clients that accept
// it, identical once unpacked, with an ETag of their own.
func TestGzip(t *testing.T) {
	h, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prefix := staticPrefix(t, body(t, serve(t, h, http.MethodGet, "/", nil)))
	for _, path := range []string{"/", prefix + "/app.js", prefix + "/vendor/leaflet-1.9.4/leaflet.js"} {
		t.Run(path, func(t *testing.T) {
			plain := serve(t, h, http.MethodGet, path, nil)
			want := body(t, plain)
			for _, tc := range []struct {
				accept string
				gzip   bool
			}{{"gzip, deflate, br", true}, {"br;q=1.0, gzip;q=0.8", true}, {"gzip;q=0", false}, {"identity", false}} {
				resp := serve(t, h, http.MethodGet, path, http.Header{"Accept-Encoding": {tc.accept}})
				if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
					t.Errorf("Accept-Encoding %q: gzipped %v, want %v", tc.accept, got, tc.gzip)
					continue
				}
				if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
					t.Errorf("no Vary: Accept-Encoding")
				}
				if !tc.gzip {
					continue
				}
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(zr)
				if err != nil || string(got) != want {
					t.Errorf("unpacked body differs from the plain one (%v)", err)
				}
				if resp.Header.Get("ETag") == plain.Header.Get("ETag") {
					t.Error("gzipped and plain bodies share an ETag")
				}
			}
		})
	}
}
