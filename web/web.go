// Package web is the citizens' page: a map and a list of the city's public
// sensors, their alerts and districts, in German and English. It is plain
// HTML, CSS and JavaScript modules embedded in the binary (no bundler, no
// CDN); the page reads only Kessel's public API, so a visitor's browser
// talks to no other host unless the operator configures a tile server.
//
// The third-party library it uses (Leaflet) is vendored, pinned, under
// static/vendor/ with its licence file; static/vendor/README.md says where
// each file comes from.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed static index.html
var files embed.FS

// Options configures the page. The zero value is a page with no tile
// server: the map draws the districts as its base layer.
type Options struct {
	// TileURL is an XYZ tile URL template with {z}, {x} and {y}, e.g.
	// https://tiles.example.org/{z}/{x}/{y}.png; empty means no tiles.
	// It is the only host other than Kessel the page will contact.
	TileURL string
	// TileAttribution is shown on the map when TileURL is set (the tile
	// provider's licence usually requires it).
	TileAttribution string
}

// Handler serves the page at "/" and its assets under "/static/". It is
// safe for concurrent use; everything is rendered once in New (and
// gzipped once when first served).
type Handler struct {
	index   asset
	csp     string
	static  map[string]asset // by path under static/, e.g. "app.js"
	version string           // hash of every asset: the URL prefix /static/<version>/
}

type asset struct {
	body []byte
	// gz is body gzipped, once, when the asset is first served (at start
	// it cost 50 ms of CPU while a restart's backlog drained); nil when
	// that saves little.
	gz    func() []byte
	etag  string
	ctype string
}

func newAsset(body []byte, ctype string) asset {
	return asset{body: body, etag: etag(body), ctype: ctype, gz: sync.OnceValue(func() []byte { return gzipped(body) })}
}

// gzipped returns body gzipped, or nil when that saves less than a tenth.
func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	_, _ = zw.Write(body)                                    // a bytes.Buffer does not fail
	if zw.Close() != nil || buf.Len() >= len(body)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// serve answers with the asset, gzipped for clients that accept it, with
// its ETag (304 on a match) and the given Cache-Control.
func (a asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", cacheControl)
	body, tag := a.body, a.etag
	if gz := a.gz(); gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, tag = gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("ETag", tag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

// New renders the page for opts. It returns an error when TileURL is not
// an http(s) URL template with {z}, {x} and {y}.
func New(opts Options) (*Handler, error) {
	tileOrigin, err := checkTiles(opts.TileURL)
	if err != nil {
		return nil, err
	}
	h := &Handler{static: map[string]asset{}, csp: csp(tileOrigin)}
	if err := h.loadAssets(); err != nil {
		return nil, err
	}
	tmpl, err := template.ParseFS(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	var buf bytes.Buffer
	data := struct {
		Options
		Static string
	}{opts, "/static/" + h.version}
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("web: render index: %w", err)
	}
	h.index = newAsset(buf.Bytes(), "text/html; charset=utf-8")
	return h, nil
}

// loadAssets reads the embedded files and names this set of them by a
// hash, so that their URLs change whenever one changes and browsers may
// cache them for good.
func (h *Handler) loadAssets() error {
	all := sha256.New()
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		if strings.HasSuffix(p, ".js") {
			ctype = "text/javascript; charset=utf-8"
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		name := strings.TrimPrefix(p, "static/")
		h.static[name] = newAsset(b, ctype)
		fmt.Fprintf(all, "%s\x00%d\x00", name, len(b))
		all.Write(b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	h.version = base64.RawURLEncoding.EncodeToString(all.Sum(nil)[:9])
	return nil
}

// checkTiles validates a tile URL template and returns its origin.
func checkTiles(tiles string) (string, error) {
	if tiles == "" {
		return "", nil
	}
	if _, rest, ok := strings.Cut(tiles, "://"); ok {
		if host, _, _ := strings.Cut(rest, "/"); strings.ContainsAny(host, "{}") {
			return "", fmt.Errorf("web: tile URL %q: placeholders in the host (such as {s}) are not supported; name one host", tiles)
		}
	}
	u, err := url.Parse(tiles)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("web: tile URL %q is not an http(s) URL", tiles)
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(tiles, p) {
			return "", fmt.Errorf("web: tile URL %q lacks %s", tiles, p)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// csp allows the page's own scripts, styles and API only, plus the tile
// server's images when one is configured: the browser itself then refuses
// any other host.
func csp(tileOrigin string) string {
	img := "img-src 'self' data:"
	if tileOrigin != "" {
		img += " " + tileOrigin
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; " + img +
		"; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// ServeHTTP answers GET and HEAD of "/" and of the embedded assets; any
// other path is 404 and any other method 405, both as plain text.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if r.URL.Path == "/" {
		hd.Set("Content-Security-Policy", h.csp)
		h.index.serve(w, r, "no-cache")
		return
	}
	// /static/<version>/<file> never changes: cache it for a year.
	// /static/<file> (links from elsewhere) is revalidated every time.
	name, ok := strings.CutPrefix(r.URL.Path, "/static/")
	cache := "no-cache"
	if rest, versioned := strings.CutPrefix(name, h.version+"/"); versioned {
		name, cache = rest, "public, max-age=31536000, immutable"
	}
	a, found := h.static[name]
	if !ok || !found {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	a.serve(w, r, cache)
}
