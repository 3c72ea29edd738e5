package api

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
)

// RuleManager reads and changes alert rules.
type RuleManager interface {
	Rules() []kessel.Rule
	Rule(id string) (kessel.Rule, bool)
	PutRule(ctx context.Context, r kessel.Rule, create bool) (kessel.Rule, error)
	DeleteRule(ctx context.Context, id string) error
}

func (s *server) handleRules() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rules := s.opts.Rules.Rules()
		s.encode(w, r, listJSON{Items: rules, Count: len(rules), Total: len(rules)}, reply{cache: "private, no-store"})
	})
}

func (s *server) handleRule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule, ok := s.opts.Rules.Rule(mux.Vars(r)["id"])
		if !ok {
			s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "rule %q not found", mux.Vars(r)["id"]))
			return
		}
		s.encode(w, r, rule, reply{cache: "private, no-store"})
	})
}

// handlePutRule serves POST /rules (create) and PUT /rules/{id} (replace).
func (s *server) handlePutRule(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rule kessel.Rule
		if err := s.decode(r, &rule); err != nil {
			s.errorResponse(w, r, err)
			return
		}
		if id := mux.Vars(r)["id"]; !create {
			if rule.ID == "" {
				rule.ID = id
			}
			if rule.ID != id {
				s.errorResponse(w, r, invalid("body id %q differs from the path's %q", rule.ID, id))
				return
			}
		}
		saved, err := s.opts.Rules.PutRule(r.Context(), rule, create)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		status := http.StatusOK
		if create {
			w.Header().Set("Location", "/api/v1/rules/"+saved.ID)
			status = http.StatusCreated
		}
		s.encode(w, r, saved, reply{status: status})
	})
}

func (s *server) handleDeleteRule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.opts.Rules.DeleteRule(r.Context(), mux.Vars(r)["id"]); err != nil {
			s.errorResponse(w, r, err)
			return
		}
		s.encode(w, r, nil, reply{status: http.StatusNoContent})
	})
}
