package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/kessel-city/kessel"
)

func (s *server) handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.encode(w, r, []byte(`{"status":"ok"}`+"\n"), reply{})
	})
}

type readyResult struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	failed []string
}

// readyCache holds the last readiness result for Options.ReadyCache, so
// that a flood of /readyz costs at most one round of checks (one InfluxDB
// round trip) per period; concurrent requests wait for one round.
type readyCache struct {
	mu  sync.Mutex
	at  time.Time
	res *readyResult
}

func (s *server) readiness(ctx context.Context) *readyResult {
	c := &s.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.opts.Now()
	if c.res != nil && s.opts.ReadyCache > 0 && now.Sub(c.at) < s.opts.ReadyCache && !now.Before(c.at) {
		return c.res
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	res := &readyResult{Status: "ready", Checks: map[string]string{}}
	for _, c := range s.opts.Ready {
		if err := c.Check(ctx); err != nil {
			res.Checks[c.Name] = kessel.ErrorMessage(err)
			if c.Optional {
				res.Status = "degraded"
				continue
			}
			res.failed = append(res.failed, c.Name)
		} else {
			res.Checks[c.Name] = "ok"
		}
	}
	c.res, c.at = res, now
	return res
}

// handleReady runs every readiness check (at most once per
// Options.ReadyCache); 503 names those that fail. A failing optional check
// makes the status "degraded", still 200.
func (s *server) handleReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := s.readiness(r.Context())
		if len(res.failed) > 0 {
			msg := "not ready:"
			for _, f := range res.failed {
				msg += " " + f + " (" + res.Checks[f] + ")"
			}
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "%s", msg))
			return
		}
		s.encode(w, r, res, reply{})
	})
}

// handleMetrics serves the Prometheus exposition. A key with scope
// metrics (or admin) reads all of it; anyone else reads the series that
// name no device other than public ones, and no webhook: internal
// device ids, and the names of the services alerts are sent to, stay
// internal.
func (s *server) handleMetrics() http.Handler {
	full := promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{})
	public := promhttp.HandlerFor(prometheus.GathererFunc(s.publicMetrics), promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if principalOf(r).Has(ScopeMetrics) {
			full.ServeHTTP(w, r)
			return
		}
		public.ServeHTTP(w, r)
	})
}

// publicMetrics gathers every family, without the series that are not
// public.
func (s *server) publicMetrics() ([]*dto.MetricFamily, error) {
	mfs, err := s.opts.Gatherer.Gather()
	out := mfs[:0]
	for _, mf := range mfs {
		ms := mf.Metric[:0]
		for _, m := range mf.Metric {
			if s.publicSeries(m) {
				ms = append(ms, m)
			}
		}
		if mf.Metric = ms; len(ms) > 0 {
			out = append(out, mf)
		}
	}
	return out, err
}

func (s *server) publicSeries(m *dto.Metric) bool {
	for _, l := range m.GetLabel() {
		switch l.GetName() {
		case "webhook":
			return false
		case "device":
			if s.devices == nil {
				return false
			}
			d, _, ok := s.devices.Get(l.GetValue())
			if !ok || d.Visibility == kessel.Internal {
				return false
			}
		}
	}
	return true
}
