package api

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kessel-city/kessel"
)

func (s *server) handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.encode(w, r, []byte(`{"status":"ok"}`+"\n"), reply{})
	})
}

// handleReady runs every readiness check; 503 names those that fail. A
// failing optional check makes the status "degraded", still 200.
func (s *server) handleReady() http.Handler {
	type result struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		res := result{Status: "ready", Checks: map[string]string{}}
		var failed []string
		for _, c := range s.opts.Ready {
			if err := c.Check(ctx); err != nil {
				res.Checks[c.Name] = kessel.ErrorMessage(err)
				if c.Optional {
					res.Status = "degraded"
					continue
				}
				failed = append(failed, c.Name)
			} else {
				res.Checks[c.Name] = "ok"
			}
		}
		if len(failed) > 0 {
			msg := "not ready:"
			for _, f := range failed {
				msg += " " + f + " (" + res.Checks[f] + ")"
			}
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "%s", msg))
			return
		}
		s.encode(w, r, res, reply{})
	})
}

func (s *server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{ErrorLog: nil})
}
