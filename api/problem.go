package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
)

// statusOf maps the error vocabulary to HTTP: the one place this happens.
var statusOf = map[string]int{
	kessel.EINVALID:              http.StatusBadRequest,
	kessel.EUNAUTHORIZED:         http.StatusUnauthorized,
	kessel.EFORBIDDEN:            http.StatusForbidden,
	kessel.ENOTFOUND:             http.StatusNotFound,
	kessel.EMETHOD:               http.StatusMethodNotAllowed,
	kessel.ECONFLICT:             http.StatusConflict,
	kessel.EPRECONDITION:         http.StatusPreconditionFailed,
	kessel.ETOOLARGE:             http.StatusRequestEntityTooLarge,
	kessel.EUNSUPPORTED:          http.StatusUnsupportedMediaType,
	kessel.EPRECONDITIONREQUIRED: http.StatusPreconditionRequired,
	kessel.ERATELIMIT:            http.StatusTooManyRequests,
	kessel.EINTERNAL:             http.StatusInternalServerError,
	kessel.EUNAVAILABLE:          http.StatusServiceUnavailable,
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

// errorResponse is the one way an error is answered: as an
// application/problem+json document with the status of its code, counted
// by code in kessel_http_problems_total. Errors that are not a
// *kessel.Error (and codes without a status) are logged and answered as a
// bare internal error that leaks nothing. Headers the caller set before
// (Allow, Retry-After, WWW-Authenticate) are kept.
func (s *server) errorResponse(w http.ResponseWriter, r *http.Request, err error) {
	code := kessel.ErrorCode(err)
	status, known := statusOf[code]
	detail := kessel.ErrorMessage(err)
	if !known || code == kessel.EINTERNAL {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		code, status, detail = kessel.EINTERNAL, http.StatusInternalServerError, "internal error"
	}
	s.m.problems.WithLabelValues(code).Inc()
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(problem{Type: ProblemTypeBase + code, Title: http.StatusText(status), Status: status, Detail: detail, Instance: r.URL.Path})
	h := w.Header()
	h.Del("ETag")
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "5")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes())
	}
}

func invalid(format string, args ...any) error {
	return kessel.Errorf(kessel.EINVALID, format, args...)
}

// probeMethods are the methods a path is tried with to tell 405 from 404.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowed lists the methods the router serves at r's path, OPTIONS last
// (the CORS preflight) when any other is served.
func (s *server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range append(probeMethods, http.MethodOptions) {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil {
			out = append(out, m)
		}
	}
	if len(out) == 1 && out[0] == http.MethodOptions {
		return nil // the preflight answers any path; it alone makes no resource
	}
	return out
}

// handleNoRoute answers a request no route takes: 405 with Allow when the
// path is served with other methods, 404 otherwise.
func (s *server) handleNoRoute() http.Handler {
	notFound := s.instrument("notfound", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "no resource at %s", r.URL.Path))
	}))
	notAllowed := func(allow []string) http.Handler {
		return s.instrument("notallowed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.errorResponse(w, r, kessel.Errorf(kessel.EMETHOD, "%s is not served at %s; use %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		}))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow := s.allowed(r); len(allow) > 0 {
			notAllowed(allow).ServeHTTP(w, r)
			return
		}
		notFound.ServeHTTP(w, r)
	})
}
