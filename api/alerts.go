package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/kessel-city/kessel"
)

// Alerts is the alert engine as the API needs it.
type Alerts interface {
	List(q kessel.AlertQuery) []kessel.Alert
	Get(id string) (kessel.Alert, bool)
	// Ack records who acknowledged the alert and their note (may be empty).
	Ack(ctx context.Context, id, who, note string) (kessel.Alert, error)
	Subscribe(lastSeq int64) (backlog []kessel.AlertEvent, events <-chan kessel.AlertEvent, cancel func())
	Transitions(id string) []kessel.AlertEvent
}

func (s *server) canSeeInternalAlerts(r *http.Request) bool {
	return principalOf(r).Has(ScopeAlertsManage)
}

// alertAs is an alert as a client sees it: whole for a key with
// alerts:manage (manager), else without who acknowledged it and their
// note (kessel.Alert.Redacted). Every handler that answers alerts passes
// them through here.
func alertAs(a kessel.Alert, manager bool) kessel.Alert {
	if manager {
		return a
	}
	return a.Redacted()
}

func (s *server) handleAlerts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		q := kessel.AlertQuery{State: v.Get("state"), Kind: v.Get("kind"), Severity: v.Get("severity"), IncludeInternal: s.canSeeInternalAlerts(r)}
		switch q.State {
		case "", kessel.StatusFiring, kessel.StatusPending, kessel.StatusResolved:
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
		items := s.opts.Alerts.List(q)
		if items == nil {
			items = []kessel.Alert{}
		}
		for i := range items {
			items[i] = alertAs(items[i], q.IncludeInternal)
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
		s.encode(w, r, alertWithTransitions(alertAs(a, s.canSeeInternalAlerts(r)), s.opts.Alerts.Transitions(a.ID)), reply{cache: "public, max-age=5"})
	})
}

// alertWithTransitions is an alert's wire form (kessel.Alert's JSON) with
// its recent transitions added as "transitions".
func alertWithTransitions(a kessel.Alert, evs []kessel.AlertEvent) json.RawMessage {
	type transition struct {
		Seq   int64     `json:"seq"`
		State string    `json:"state"`
		At    time.Time `json:"at"`
		Value float64   `json:"value"`
	}
	ts := []transition{}
	for _, ev := range evs {
		at := ev.Alert.FiredAt
		if ev.Alert.Status() == kessel.StatusResolved {
			at = ev.Alert.ResolvedAt
		}
		ts = append(ts, transition{ev.Seq, ev.Alert.Status(), at.UTC(), ev.Alert.Value})
	}
	doc, _ := json.Marshal(a) // an object: {...}
	list, _ := json.Marshal(ts)
	doc = append(append(append(doc[:len(doc)-1], `,"transitions":`...), list...), '}')
	return doc
}

func (s *server) handleAck() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.alertFor(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		note, err := s.ackNote(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		p := principalOf(r)
		a, err = s.opts.Alerts.Ack(r.Context(), a.ID, p.Name+" ("+p.Department+")", note)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		s.encode(w, r, a, reply{})
	})
}

// handleStream serves alert transitions as Server-Sent Events: event ids
// (unique and increasing across restarts) for Last-Event-ID resume, a
// heartbeat comment every 15 seconds. A stream ends when its client goes,
// when the engine stops, and when the HTTP server shuts down (so that
// Shutdown need not wait for streaming clients).
func (s *server) handleStream() http.Handler {
	shutdowns := &serverShutdowns{done: map[*http.Server]chan struct{}{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shutdown := shutdowns.of(r)
		lastSeq, err := lastEventID(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		backlog, events, cancel := s.opts.Alerts.Subscribe(max(lastSeq, 0))
		defer cancel()
		if lastSeq < 0 {
			backlog = nil // a new subscriber starts now
		}
		st := &sseWriter{w: w, rc: http.NewResponseController(w), internal: s.canSeeInternalAlerts(r)}
		if st.start() != nil {
			return
		}
		for _, ev := range backlog {
			if st.send(ev) != nil {
				return
			}
		}
		heartbeat := time.NewTicker(15 * time.Second)
		defer heartbeat.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-shutdown:
				return
			case ev, ok := <-events:
				if !ok || st.send(ev) != nil {
					return // the engine stopped, or the client is gone
				}
			case <-heartbeat.C:
				if st.write(": heartbeat\n\n") != nil {
					return
				}
			}
		}
	})
}

// lastEventID reads Last-Event-ID (or ?last_event_id=); -1 when absent.
func lastEventID(r *http.Request) (int64, error) {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(last, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid("Last-Event-ID %q is not an event id", last)
	}
	return n, nil
}

// sseWriter writes one alert stream.
type sseWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	internal bool // the client may see internal alerts and who acknowledged one
}

func (st *sseWriter) start() error {
	h := st.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	st.w.WriteHeader(http.StatusOK)
	return st.write("retry: 3000\n\n")
}

// send writes an event the client may see.
func (st *sseWriter) send(ev kessel.AlertEvent) error {
	if ev.Alert.Visibility != kessel.Public && !st.internal {
		return nil
	}
	data, err := json.Marshal(alertAs(ev.Alert, st.internal))
	if err != nil {
		return err
	}
	return st.write(fmt.Sprintf("id: %d\nevent: alert\ndata: %s\n\n", ev.Seq, data))
}

// write writes and flushes, giving a stalled client 30 seconds.
func (st *sseWriter) write(s string) error {
	_ = st.rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(st.w, s); err != nil {
		return err
	}
	return st.rc.Flush()
}

// serverShutdowns tells streams when the http.Server serving them shuts
// down: Shutdown waits for active requests, and a stream never ends by
// itself.
type serverShutdowns struct {
	mu   sync.Mutex
	done map[*http.Server]chan struct{}
}

// of returns a channel closed when the server of r shuts down (nil, which
// never fires, when r carries no server).
func (d *serverShutdowns) of(r *http.Request) <-chan struct{} {
	hs, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if hs == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, ok := d.done[hs]
	if !ok {
		ch = make(chan struct{})
		d.done[hs] = ch
		hs.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}
