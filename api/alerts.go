package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
)

// Alerts is the alert engine as the API needs it.
type Alerts interface {
	List(q kessel.AlertQuery) []kessel.Alert
	Get(id string) (kessel.Alert, bool)
	Ack(ctx context.Context, id, who string) (kessel.Alert, error)
	Subscribe(lastSeq int64) (backlog []kessel.AlertEvent, events <-chan kessel.AlertEvent, cancel func())
	Transitions(id string) []kessel.AlertEvent
}

type alertJSON struct {
	kessel.Alert
	State string `json:"state"`
}

func toAlertJSON(a kessel.Alert) alertJSON {
	st := a.State.String()
	if a.State == kessel.Inactive && !a.ResolvedAt.IsZero() {
		st = "resolved"
	}
	return alertJSON{Alert: a, State: st}
}

func (s *server) canSeeInternalAlerts(r *http.Request) bool {
	return principalOf(r).Has(ScopeAlertsManage)
}

func (s *server) handleAlerts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		q := kessel.AlertQuery{State: v.Get("state"), Kind: v.Get("kind"), Severity: v.Get("severity"), IncludeInternal: s.canSeeInternalAlerts(r)}
		switch q.State {
		case "", "firing", "pending", "resolved":
		default:
			s.errorResponse(w, r, invalid("state must be firing, pending or resolved, not %q", q.State))
			return
		}
		switch q.Severity {
		case "", "info", "warning", "critical":
		default:
			s.errorResponse(w, r, invalid("severity must be info, warning or critical, not %q", q.Severity))
			return
		}
		if q.Kind != "" && !kessel.ValidFieldName(q.Kind) {
			s.errorResponse(w, r, invalid("kind %q: use lower-case letters, digits and '_'", q.Kind))
			return
		}
		if d := v.Get("district"); d != "" {
			if s.districts == nil {
				s.errorResponse(w, r, invalid("district filter: no districts are configured"))
				return
			}
			dist, ok := s.districts.Get(d)
			if !ok {
				s.errorResponse(w, r, invalid("district %q is unknown", d))
				return
			}
			q.District = dist.Name
		}
		if since := v.Get("since"); since != "" {
			t, err := parseTime("since", since, s.opts.Now())
			if err != nil {
				s.errorResponse(w, r, err)
				return
			}
			q.Since = t
		}
		items := []alertJSON{}
		for _, a := range s.opts.Alerts.List(q) {
			items = append(items, toAlertJSON(a))
		}
		s.encode(w, r, listJSON{Items: items, Count: len(items), Total: len(items)}, reply{cache: "public, max-age=5"})
	})
}

func (s *server) alertFor(r *http.Request) (kessel.Alert, error) {
	id := mux.Vars(r)["id"]
	a, ok := s.opts.Alerts.Get(id)
	if !ok || (a.Visibility != kessel.Public && !s.canSeeInternalAlerts(r)) {
		return kessel.Alert{}, kessel.Errorf(kessel.ENOTFOUND, "alert %q not found", id)
	}
	return a, nil
}

func (s *server) handleAlert() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.alertFor(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		type transition struct {
			Seq   int64     `json:"seq"`
			State string    `json:"state"`
			At    time.Time `json:"at"`
			Value float64   `json:"value"`
		}
		ts := []transition{}
		for _, ev := range s.opts.Alerts.Transitions(a.ID) {
			j := toAlertJSON(ev.Alert)
			at := j.FiredAt
			if j.State == "resolved" {
				at = j.ResolvedAt
			}
			ts = append(ts, transition{ev.Seq, j.State, at.UTC(), ev.Alert.Value})
		}
		s.encode(w, r, struct {
			alertJSON
			Transitions []transition `json:"transitions"`
		}{toAlertJSON(a), ts}, reply{cache: "public, max-age=5"})
	})
}

func (s *server) handleAck() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.alertFor(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		p := principalOf(r)
		a, err = s.opts.Alerts.Ack(r.Context(), a.ID, p.Name+" ("+p.Department+")")
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		s.encode(w, r, toAlertJSON(a), reply{})
	})
}

// handleStream serves alert transitions as Server-Sent Events: event ids
// for Last-Event-ID resume, a heartbeat comment every 15 seconds.
func (s *server) handleStream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := r.Header.Get("Last-Event-ID")
		if last == "" {
			last = r.URL.Query().Get("last_event_id")
		}
		var lastSeq int64 = -1
		if last != "" {
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil || n < 0 {
				s.errorResponse(w, r, invalid("Last-Event-ID %q is not an event id", last))
				return
			}
			lastSeq = n
		}
		internal := s.canSeeInternalAlerts(r)
		backlog, events, cancel := s.opts.Alerts.Subscribe(max(lastSeq, 0))
		defer cancel()
		if lastSeq < 0 {
			backlog = nil // a new subscriber starts now
		}
		rc := http.NewResponseController(w)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		send := func(ev kessel.AlertEvent) error {
			if ev.Alert.Visibility != kessel.Public && !internal {
				return nil
			}
			data, _ := json.Marshal(toAlertJSON(ev.Alert))
			_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := fmt.Fprintf(w, "id: %d\nevent: alert\ndata: %s\n\n", ev.Seq, data); err != nil {
				return err
			}
			return rc.Flush()
		}
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprint(w, "retry: 3000\n\n")
		_ = rc.Flush()
		for _, ev := range backlog {
			if send(ev) != nil {
				return
			}
		}
		heartbeat := time.NewTicker(15 * time.Second)
		defer heartbeat.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-events:
				if send(ev) != nil {
					return
				}
			case <-heartbeat.C:
				_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
				if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil || rc.Flush() != nil {
					return
				}
			}
		}
	})
}
