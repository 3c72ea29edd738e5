package simulators

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// HTTPPusher posts HTTP messages (airrohr) to Kessel's base URL. A 4xx
// answer other than 429 counts as delivered: Kessel rejected the message
// and keeps it as a dead letter, which is what a fault is for.
type HTTPPusher struct {
	base   string
	client *http.Client
	failed atomic.Int64
}

// NewHTTPPusher returns a pusher for base, e.g. http://127.0.0.1:8080.
func NewHTTPPusher(base string) *HTTPPusher {
	return &HTTPPusher{base: base, client: &http.Client{Timeout: 10 * time.Second}}
}

// Publish posts m, retrying up to three times after 429 or 503.
func (h *HTTPPusher) Publish(ctx context.Context, m Message) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+m.HTTPPath, bytes.NewReader(m.Payload))
		if err != nil {
			return err
		}
		for k, v := range m.Header {
			req.Header.Set(k, v)
		}
		resp, err := h.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			h.failed.Add(1)
			return nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if !retry {
			if resp.StatusCode >= 500 {
				h.failed.Add(1)
			}
			return nil
		}
		if attempt == 3 {
			h.failed.Add(1)
			return nil
		}
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Duration(max(wait, 1))*time.Second, 2*time.Second)):
		}
	}
}

// Flush returns at once: pushes are synchronous.
func (h *HTTPPusher) Flush(context.Context) error { return nil }

// Failed counts pushes that were not delivered.
func (h *HTTPPusher) Failed() int { return int(h.failed.Load()) }

// Router sends MQTT messages to one publisher and HTTP pushes to another.
type Router struct {
	MQTT, HTTP Publisher
}

// Publish routes m by whether it has a topic.
func (r Router) Publish(ctx context.Context, m Message) error {
	if m.Topic == "" {
		if r.HTTP == nil {
			return errors.New("simulators: an airrohr device needs --push (Kessel's HTTP base URL)")
		}
		return r.HTTP.Publish(ctx, m)
	}
	return r.MQTT.Publish(ctx, m)
}

// Flush flushes both.
func (r Router) Flush(ctx context.Context) error {
	var errs []error
	for _, p := range []Publisher{r.MQTT, r.HTTP} {
		if p != nil {
			errs = append(errs, p.Flush(ctx))
		}
	}
	return errors.Join(errs...)
}

// Failed sums both.
func (r Router) Failed() int {
	n := 0
	for _, p := range []Publisher{r.MQTT, r.HTTP} {
		if p != nil {
			n += p.Failed()
		}
	}
	return n
}
