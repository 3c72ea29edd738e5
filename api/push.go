package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/kessel-city/kessel"
)

// Pusher stores a message that arrived over HTTP as if it came on topic.
// It returns nil once stored, EINVALID for a bad message, EUNAVAILABLE when
// the store cannot take it now.
type Pusher interface {
	Submit(ctx context.Context, topic string, payload []byte) error
}

// DefaultMaxBody is the default of Options.MaxBody: twice ingest's default
// payload limit.
const DefaultMaxBody = 128 << 10

// readBody reads at most limit bytes. Beyond, it returns errTooLarge with
// the first limit+1 bytes.
func readBody(r *http.Request, limit int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, invalid("could not read the body: %v", err)
	}
	if len(body) > limit {
		return body, errTooLarge
	}
	return body, nil
}

var errTooLarge = errors.New("body too large")

// body reads the request body, answering 413 or 400 itself when it cannot.
func (s *server) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := readBody(r, s.opts.MaxBody)
	switch {
	case errors.Is(err, errTooLarge):
		s.tooLarge(w, r)
		return nil, false
	case err != nil:
		s.errorResponse(w, r, err)
		return nil, false
	}
	return b, true
}

// handlePushAirrohr takes the Sensor.Community/airrohr firmware's "custom
// API" POST: JSON with string values, device in X-Sensor.
func (s *server) handlePushAirrohr() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.pusher == nil {
			s.errorResponse(w, r, kessel.Errorf(kessel.EUNAVAILABLE, "this instance does not run the ingest role"))
			return
		}
		s.push(w, r, kessel.AirrohrPushTopic+r.Header.Get("X-Sensor"))
	})
}

// push reads a device's message and submits it on topic: 200 once it is
// stored, 400 with the reason for a bad one (kept as a dead letter), 413
// for a body over MaxBody, whose first KiB ingest still keeps as a dead
// letter (too_large: the prefix handed over is over ingest's limit).
func (s *server) push(w http.ResponseWriter, r *http.Request, topic string) {
	body, err := readBody(r, s.opts.MaxBody)
	if errors.Is(err, errTooLarge) {
		if err := s.pusher.Submit(r.Context(), topic, body); kessel.ErrorCode(err) != kessel.EINVALID {
			s.log.Warn("oversized push not kept as a dead letter", "topic", topic, "err", err)
		}
		s.tooLarge(w, r)
		return
	} else if err != nil {
		s.errorResponse(w, r, err)
		return
	}
	if err := s.pusher.Submit(r.Context(), topic, body); err != nil {
		s.errorResponse(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.respondJSON(w, r, map[string]string{"status": "stored"}, "no-store")
}

func (s *server) tooLarge(w http.ResponseWriter, r *http.Request) {
	s.problem(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", s.opts.MaxBody))
}
