package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kessel-city/kessel"
)

// TestErrorPath: every code of the vocabulary has its status; anything
// else is a 500 that tells nothing; each is a counted problem document.
func TestErrorPath(t *testing.T) {
	h, err := NewServer(nil, nil, nil, Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s := h.(*server)
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		detail string
	}{
		{"invalid", kessel.Errorf(kessel.EINVALID, "bad x"), 400, kessel.EINVALID, "bad x"},
		{"unauthorized", kessel.Errorf(kessel.EUNAUTHORIZED, "who"), 401, kessel.EUNAUTHORIZED, "who"},
		{"forbidden", kessel.Errorf(kessel.EFORBIDDEN, "no"), 403, kessel.EFORBIDDEN, "no"},
		{"not found", kessel.Errorf(kessel.ENOTFOUND, "gone"), 404, kessel.ENOTFOUND, "gone"},
		{"method", kessel.Errorf(kessel.EMETHOD, "GET only"), 405, kessel.EMETHOD, "GET only"},
		{"conflict", kessel.Errorf(kessel.ECONFLICT, "exists"), 409, kessel.ECONFLICT, "exists"},
		{"precondition", kessel.Errorf(kessel.EPRECONDITION, "moved on"), 412, kessel.EPRECONDITION, "moved on"},
		{"too large", kessel.Errorf(kessel.ETOOLARGE, "big"), 413, kessel.ETOOLARGE, "big"},
		{"unsupported", kessel.Errorf(kessel.EUNSUPPORTED, "xml"), 415, kessel.EUNSUPPORTED, "xml"},
		{"precondition required", kessel.Errorf(kessel.EPRECONDITIONREQUIRED, "If-Match"), 428, kessel.EPRECONDITIONREQUIRED, "If-Match"},
		{"rate limited", kessel.Errorf(kessel.ERATELIMIT, "slow down"), 429, kessel.ERATELIMIT, "slow down"},
		{"unavailable", kessel.Errorf(kessel.EUNAVAILABLE, "down"), 503, kessel.EUNAVAILABLE, "down"},
		{"wrapped", fmt.Errorf("x: %w", kessel.Errorf(kessel.ENOTFOUND, "inner")), 404, kessel.ENOTFOUND, "inner"},
		{"internal", kessel.Errorf(kessel.EINTERNAL, "secret path /etc"), 500, kessel.EINTERNAL, "internal error"},
		{"plain error", errors.New("dial tcp 10.0.0.7:8086: secret"), 500, kessel.EINTERNAL, "internal error"},
		{"unknown code", kessel.Errorf("made_up", "secret"), 500, kessel.EINTERNAL, "internal error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(s.m.problems.WithLabelValues(tc.code))
			rec := httptest.NewRecorder()
			s.errorResponse(rec, httptest.NewRequest("GET", "/x", nil), tc.err)
			var p problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status || p.Status != tc.status || p.Type != ProblemTypeBase+tc.code || p.Detail != tc.detail {
				t.Errorf("%d %+v, want %d %s %q", rec.Code, p, tc.status, tc.code, tc.detail)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := testutil.ToFloat64(s.m.problems.WithLabelValues(tc.code)); got != before+1 {
				t.Errorf("problems{code=%s} %v, want %v", tc.code, got, before+1)
			}
		})
	}
	for code := range statusOf {
		if http.StatusText(statusOf[code]) == "" {
			t.Errorf("code %s maps to %d", code, statusOf[code])
		}
	}
}

func TestStrictJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body, err string
	}{
		{"object", `{"a":1,"b":[{"a":2},{"a":3}],"c":{"a":{}}}`, ""},
		{"scalar", ` 42 `, ""},
		{"same key in sibling objects", `[{"k":1},{"k":2}]`, ""},
		{"duplicate", `{"a":1,"b":2,"a":3}`, `key "a" appears twice`},
		{"duplicate escaped", `{"a":1,"\u0061":2}`, `key "a" appears twice`},
		{"duplicate deep", `{"x":[{"y":{"z":1,"z":1}}]}`, `key "z" appears twice`},
		{"trailing", `{} x`, "after the JSON value"},
		{"two values", `1 2`, "after the JSON value"},
		{"unclosed", `{"a":1`, "not valid JSON"},
		{"bad comma", `{"a":1,}`, "not valid JSON"},
		{"empty", "  ", "empty"},
		{"deep", strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2), "nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := strictJSON([]byte(tc.body))
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(kessel.ErrorMessage(err), tc.err)) {
				t.Errorf("strictJSON(%q) = %v, want %q", tc.body, err, tc.err)
			}
			if err != nil && kessel.ErrorCode(err) != kessel.EINVALID {
				t.Errorf("code %s", kessel.ErrorCode(err))
			}
		})
	}
}

// TestPanicIsAProblem: a handler's panic is answered as a counted 500
// problem that tells nothing, and the server goes on serving.
func TestPanicIsAProblem(t *testing.T) {
	h, err := NewServer(nil, nil, nil, Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s := h.(*server)
	s.router.Handle("/boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		var m map[string]int
		m["x"]++ // a nil map: the kind of bug a bad input could reach
	}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
		if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" || strings.Contains(rec.Body.String(), "nil map") {
			t.Fatalf("%d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
	if got := testutil.ToFloat64(s.m.problems.WithLabelValues(kessel.EINTERNAL)); got != 2 {
		t.Errorf("problems{code=internal} = %v, want 2", got)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("after the panics /healthz answers %d", rec.Code)
	}
}
