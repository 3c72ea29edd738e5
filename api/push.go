package api

import (
	"context"
	"net/http"

	"github.com/kessel-city/kessel"
)

// Pusher stores a message that arrived over HTTP as if it came on topic.
// It returns nil once stored, EINVALID for a bad message, EUNAVAILABLE when
// the store cannot take it now.
type Pusher interface {
	Submit(ctx context.Context, topic string, payload []byte) error
}

// handlePushAirrohr takes the Sensor.Community/airrohr firmware's "custom
// API" POST: JSON with string values, device in X-Sensor.
func (s *server) handlePushAirrohr() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.push(w, r, kessel.AirrohrPushTopic+r.Header.Get("X-Sensor"))
	})
}

// push reads a device's message and submits it on topic: 200 once it is
// stored, 400 with the reason for a bad one (kept as a dead letter), 413
// for a body over MaxBody, whose first KiB ingest still keeps as a dead
// letter (too_large: the prefix handed over is over ingest's limit). The
// body goes to ingest as it came, whatever its Content-Type: ingest
// decodes it and keeps what it cannot read as a dead letter.
func (s *server) push(w http.ResponseWriter, r *http.Request, topic string) {
	body, err := readBody(r, s.opts.MaxBody)
	if kessel.ErrorCode(err) == kessel.ETOOLARGE {
		if err := s.pusher.Submit(r.Context(), topic, body); kessel.ErrorCode(err) != kessel.EINVALID {
			s.log.Warn("oversized push not kept as a dead letter", "topic", topic, "err", err)
		}
	}
	if err == nil {
		err = s.pusher.Submit(r.Context(), topic, body)
	}
	if err != nil {
		s.errorResponse(w, r, err)
		return
	}
	s.encode(w, r, map[string]string{"status": "stored"}, reply{})
}
