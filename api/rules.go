package api

import (
	"context"
	"encoding/json"
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

func (s *server) rulesAvailable(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Rules == nil {
		s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "this instance does not run the alerts role"))
		return false
	}
	return true
}

func (s *server) handleRules() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.rulesAvailable(w, r) {
			return
		}
		rules := s.opts.Rules.Rules()
		s.respondJSON(w, r, listJSON{Items: rules, Count: len(rules), Total: len(rules)}, "private, no-store")
	})
}

func (s *server) handleRule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.rulesAvailable(w, r) {
			return
		}
		rule, ok := s.opts.Rules.Rule(mux.Vars(r)["id"])
		if !ok {
			s.errorResponse(w, r, kessel.Errorf(kessel.ENOTFOUND, "rule %q not found", mux.Vars(r)["id"]))
			return
		}
		s.respondJSON(w, r, rule, "private, no-store")
	})
}

// handlePutRule serves POST /rules (create) and PUT /rules/{id} (replace).
func (s *server) handlePutRule(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.rulesAvailable(w, r) {
			return
		}
		body, ok := s.body(w, r)
		if !ok {
			return
		}
		var rule kessel.Rule
		if err := json.Unmarshal(body, &rule); err != nil {
			if kessel.ErrorCode(err) != kessel.EINVALID {
				err = invalid("body is not a rule: %v", err)
			}
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
		body, _ = json.Marshal(saved)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if create {
			w.Header().Set("Location", "/api/v1/rules/"+saved.ID)
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write(append(body, '\n'))
	})
}

func (s *server) handleDeleteRule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.rulesAvailable(w, r) {
			return
		}
		if err := s.opts.Rules.DeleteRule(r.Context(), mux.Vars(r)["id"]); err != nil {
			s.errorResponse(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
