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
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
)

// statusOf maps the error vocabulary to HTTP: the one place this happens.
var statusOf = map[string]int{
	kessel.EINVALID:      http.StatusBadRequest,
	kessel.ENOTFOUND:     http.StatusNotFound,
	kessel.ECONFLICT:     http.StatusConflict,
	kessel.EUNAUTHORIZED: http.StatusUnauthorized,
	kessel.EFORBIDDEN:    http.StatusForbidden,
	kessel.EUNAVAILABLE:  http.StatusServiceUnavailable,
	kessel.EINTERNAL:     http.StatusInternalServerError,
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance,omitempty"`
}

// ProblemTypeBase prefixes the type URI of every problem Kessel returns.
const ProblemTypeBase = "urn:kessel:problem:"

// errorResponse writes err as application/problem+json. Errors that are not
// a *kessel.Error are logged and answered as a bare internal error.
func (s *server) errorResponse(w http.ResponseWriter, r *http.Request, err error) {
	code := kessel.ErrorCode(err)
	status := statusOf[code]
	if code == kessel.EINTERNAL {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.m.problems.WithLabelValues(code).Inc()
	p := problem{
		Type:     ProblemTypeBase + code,
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   kessel.ErrorMessage(err),
		Instance: r.URL.Path,
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

func invalid(format string, args ...any) error {
	return kessel.Errorf(kessel.EINVALID, format, args...)
}

// respond writes body with the content type, an ETag and the given
// Cache-Control, answering 304 when the client's If-None-Match matches.
func respond(w http.ResponseWriter, r *http.Request, contentType string, body []byte, cacheControl string) {
	etag := bodyETag(body)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("Vary", "Accept")
	if matches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// respondJSON encodes v as JSON and responds with it.
func (s *server) respondJSON(w http.ResponseWriter, r *http.Request, v any, cacheControl string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.errorResponse(w, r, fmt.Errorf("api: encode: %w", err))
		return
	}
	respond(w, r, "application/json", buf.Bytes(), cacheControl)
}

// Output formats of collections.
const (
	formatJSON    = "json"
	formatGeoJSON = "geojson"
	formatCSV     = "csv"
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
	case strings.Contains(accept, "application/geo+json"):
		return formatGeoJSON, nil
	case strings.Contains(accept, "text/csv"):
		return formatCSV, nil
	}
	return formatJSON, nil
}

func contentTypeOf(format string) string {
	switch format {
	case "jsonld":
		return "application/ld+json"
	case formatGeoJSON:
		return "application/geo+json"
	case formatCSV:
		return "text/csv; charset=utf-8"
	}
	return "application/json"
}

// cors lets browsers on any origin read the public API.
func (s *server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "ETag, Retry-After, Link")
		next.ServeHTTP(w, r)
	})
}

func (s *server) handlePreflight() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "no resource at %s", r.URL.Path))
	})
}

func (s *server) handleMethodNotAllowed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(problem{Type: ProblemTypeBase + "method_not_allowed", Title: "Method Not Allowed", Status: http.StatusMethodNotAllowed,
			Detail: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path), Instance: r.URL.Path})
	})
}

type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	problems     *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	authFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_http_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		duration:     prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kessel_http_request_seconds", Help: "HTTP request latency by route.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route"}),
		problems:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_http_problems_total", Help: "Problem responses by error code."}, []string{"code"}),
		rateLimited:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_http_rate_limited_total", Help: "Requests answered 429, by route class."}, []string{"class"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_http_auth_failures_total", Help: "Requests with a malformed or unknown key."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration, m.problems, m.rateLimited, m.authFailures} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("api: metrics: %w", err)
			}
		}
	}
	return m, nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (write deadlines for streams).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument counts and times requests to one route.
func (s *server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.m.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		if rec.status < 400 {
			s.usage.count(start.UTC().Format("2006-01-02"), route, r.URL.Query().Get("kind"))
		}
		s.m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// csvBytes renders rows as RFC 4180 CSV.
func csvBytes(rows [][]string) []byte {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.WriteAll(rows)
	return buf.Bytes()
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

// problem writes a problem document for statuses outside the error
// vocabulary (412, 413, 428, 429).
func (s *server) problem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	s.m.problems.WithLabelValues(code).Inc()
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: ProblemTypeBase + code, Title: http.StatusText(status), Status: status, Detail: detail, Instance: r.URL.Path})
}
