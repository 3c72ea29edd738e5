package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
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
	kessel.EGONE:                 http.StatusGone,
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

// served is one path pattern of the router and the methods it serves.
type served struct {
	path    *regexp.Regexp
	methods []string
}

// servedPaths lists the router's paths and methods, for Allow; the OPTIONS
// catch-all (the CORS preflight, which answers any path) is left out.
func servedPaths(router *mux.Router) ([]served, error) {
	var out []served
	err := router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := rt.GetMethods()
		if err != nil || slices.Equal(methods, []string{http.MethodOptions}) {
			return nil // the subrouter itself, or the preflight
		}
		expr, err := rt.GetPathRegexp()
		if err != nil {
			return err
		}
		re, err := regexp.Compile(expr)
		out = append(out, served{re, methods})
		return err
	})
	return out, err
}

// allowed lists the methods served at r's path, with OPTIONS (the CORS
// preflight) under /api/v1/.
func (s *server) allowed(r *http.Request) []string {
	var out []string
	for _, sv := range s.served {
		if sv.path.MatchString(r.URL.Path) {
			out = append(out, sv.methods...)
		}
	}
	if len(out) > 0 && strings.HasPrefix(r.URL.Path, "/api/v1/") {
		out = append(out, http.MethodOptions)
	}
	slices.Sort(out)
	return slices.Compact(out)
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
