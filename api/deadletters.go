package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
)

// MaxDeadLetters is the most dead letters one request returns.
const MaxDeadLetters = 10000

func (s *server) handleDeadLetters() http.Handler {
	type item struct {
		Time    time.Time `json:"time"`
		Reason  string    `json:"reason"`
		Topic   string    `json:"topic"`
		Device  string    `json:"device,omitempty"`
		Detail  string    `json:"detail"`
		Payload string    `json:"payload"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		format, err := negotiate(r)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		now := s.opts.Now()
		q := kessel.DeadLetterQuery{Reason: v.Get("reason"), Limit: 1000}
		if q.From, q.To, err = parseRange(v, now, now.Add(-24*time.Hour), now.Add(time.Minute)); err != nil {
			s.errorResponse(w, r, err)
			return
		}
		if q.Reason != "" && !kessel.ValidFieldName(q.Reason) {
			s.errorResponse(w, r, invalid("reason %q is not a reason code", q.Reason))
			return
		}
		if l := v.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > MaxDeadLetters {
				s.errorResponse(w, r, invalid("limit must be a whole number from 1 to %d, got %q", MaxDeadLetters, l))
				return
			}
			q.Limit = n
		}
		limit := q.Limit
		q.Limit++ // one more tells whether there are older ones
		dls, err := s.opts.DeadLetters.DeadLetters(r.Context(), q)
		if err != nil {
			s.errorResponse(w, r, err)
			return
		}
		next := ""
		if len(dls) > limit { // newest first: the next page ends where this one does
			dls = dls[:limit]
			u := url.URL{Path: r.URL.Path}
			qv := r.URL.Query()
			qv.Set("to", dls[limit-1].Time.UTC().Format(time.RFC3339Nano))
			u.RawQuery = qv.Encode()
			next = strings.TrimRight(s.opts.Catalog.BaseURL, "/") + u.String()
			w.Header().Set("Link", "<"+next+">; rel=\"next\"")
		}
		if format == formatCSV {
			rows := [][]string{{"time", "reason", "topic", "device", "detail", "payload"}}
			for _, d := range dls {
				rows = append(rows, []string{d.Time.UTC().Format(time.RFC3339Nano), d.Reason, d.Topic, d.Device, d.Detail, d.Payload})
			}
			s.encode(w, r, csvBytes(rows), reply{media: mediaCSV, cache: "private, no-store"})
			return
		}
		items := make([]item, len(dls))
		for i, d := range dls {
			items[i] = item{d.Time.UTC(), d.Reason, d.Topic, d.Device, d.Detail, d.Payload}
		}
		s.encode(w, r, listJSON{Items: items, Count: len(items), Total: len(items), Next: next}, reply{cache: "private, no-store"})
	})
}
