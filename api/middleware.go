package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
)

// cors lets browsers on any origin read the public API.
func (s *server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "ETag, Retry-After, Link, Allow")
		next.ServeHTTP(w, r)
	})
}

func (s *server) handlePreflight() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match")
		h.Set("Access-Control-Max-Age", "86400")
		s.encode(w, r, nil, reply{status: http.StatusNoContent})
	})
}

// needs answers 503 on a route whose dependency this instance lacks
// (present false), naming what is missing; routes.go decides this once
// per dependency.
func (s *server) needs(present bool, missing string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		if present {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "%s", missing))
		})
	}
}

// headWriter serves HEAD with the GET handler: it keeps the headers and
// status, drops the body and, at the first body byte, ends the request's
// context, so that a stream (SSE, a CSV export) stops after its headers.
type headWriter struct {
	http.ResponseWriter
	done context.CancelFunc
}

func (h *headWriter) Write(p []byte) (int, error) {
	h.done()
	return len(p), nil
}

func (h *headWriter) Flush() {
	if f, ok := h.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (h *headWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

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
