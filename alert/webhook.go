package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/kessel-city/kessel"
)

// Webhook is an HTTP endpoint told about alert transitions.
type Webhook struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Secret signs each body: X-Kessel-Signature: sha256=<hex HMAC>.
	Secret string `yaml:"secret"`
	// Rules limits the webhook to these rule ids; empty means all.
	Rules []string `yaml:"rules"`
	// Departments limits it to alerts of devices of these departments;
	// empty means all.
	Departments []string `yaml:"departments"`
	// PerMinute caps deliveries to this endpoint; default 60.
	PerMinute int `yaml:"per_minute"`
}

// Validate returns an EINVALID error naming what is wrong.
func (w Webhook) Validate() error {
	u, err := url.Parse(w.URL)
	switch {
	case w.Name == "":
		return kessel.Errorf(kessel.EINVALID, "webhook: name is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return kessel.Errorf(kessel.EINVALID, "webhook %s: url must be http(s)://host/…", w.Name)
	case len(w.Secret) < 16:
		return kessel.Errorf(kessel.EINVALID, "webhook %s: secret must be at least 16 characters", w.Name)
	case w.PerMinute < 0:
		return kessel.Errorf(kessel.EINVALID, "webhook %s: per_minute must not be negative", w.Name)
	}
	return nil
}

// Sign returns the X-Kessel-Signature value for body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookOptions tunes delivery.
type WebhookOptions struct {
	Attempts   int           // default 6
	BaseDelay  time.Duration // first retry delay, doubling; default 1s
	Queue      int           // per endpoint; default 256
	Client     *http.Client  // default: 10 s timeout
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Webhooks delivers transitions to every endpoint on its own goroutine and
// queue, so one slow or failing endpoint never delays another, nor the
// engine.
type Webhooks struct {
	hooks []*hookWorker
	opts  WebhookOptions
	log   *slog.Logger

	sent, failed, dead *prometheus.CounterVec
}

type hookWorker struct {
	Webhook
	q   chan []byte
	lim *rate.Limiter
}

// NewWebhooks validates the endpoints.
func NewWebhooks(hooks []Webhook, o WebhookOptions) (*Webhooks, error) {
	if o.Attempts <= 0 {
		o.Attempts = 6
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Webhooks{opts: o, log: o.Logger.With("component", "webhooks"),
		sent:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_webhook_delivered_total", Help: "Alert notifications a webhook accepted."}, []string{"webhook"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_webhook_attempts_failed_total", Help: "Failed webhook attempts (retried)."}, []string{"webhook"}),
		dead:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_webhook_dead_total", Help: "Notifications given up after the last retry, or dropped on a full queue."}, []string{"webhook"}),
	}
	names := map[string]bool{}
	for _, h := range hooks {
		if err := h.Validate(); err != nil {
			return nil, err
		}
		if names[h.Name] {
			return nil, kessel.Errorf(kessel.EINVALID, "webhook %s appears twice", h.Name)
		}
		names[h.Name] = true
		per := h.PerMinute
		if per == 0 {
			per = 60
		}
		w.hooks = append(w.hooks, &hookWorker{Webhook: h, q: make(chan []byte, o.Queue), lim: rate.NewLimiter(rate.Limit(float64(per)/60), max(1, per/6))})
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{w.sent, w.failed, w.dead} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// Notify queues a transition for every endpoint that wants it; it never blocks.
func (w *Webhooks) Notify(a kessel.Alert) {
	body, err := json.Marshal(a)
	if err != nil {
		w.log.Error("alert not encodable; no webhook told", "alert", a.ID, "err", err)
		return
	}
	for _, h := range w.hooks {
		if len(h.Rules) > 0 && !slices.Contains(h.Rules, a.RuleID) ||
			len(h.Departments) > 0 && !slices.Contains(h.Departments, a.Department) {
			continue
		}
		select {
		case h.q <- body:
		default:
			w.dead.WithLabelValues(h.Name).Inc()
			w.log.Error("webhook queue full; notification dropped", "webhook", h.Name, "alert", a.ID)
		}
	}
}

// Run delivers until ctx ends.
func (w *Webhooks) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, h := range w.hooks {
		wg.Add(1)
		go func() { defer wg.Done(); w.deliver(ctx, h) }()
	}
	wg.Wait()
	return nil
}

func (w *Webhooks) deliver(ctx context.Context, h *hookWorker) {
	for {
		select {
		case <-ctx.Done():
			return
		case body := <-h.q:
			if err := h.lim.Wait(ctx); err != nil {
				return
			}
			delay := w.opts.BaseDelay
			for attempt := 1; ; attempt++ {
				err := w.post(ctx, h, body)
				if err == nil {
					w.sent.WithLabelValues(h.Name).Inc()
					break
				}
				w.failed.WithLabelValues(h.Name).Inc()
				if attempt == w.opts.Attempts {
					w.dead.WithLabelValues(h.Name).Inc()
					w.log.Error("webhook gave up after the last retry", "webhook", h.Name, "attempts", attempt, "err", err, "body", string(body))
					break
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(delay):
				}
				delay = min(2*delay, 5*time.Minute)
			}
		}
	}
}

func (w *Webhooks) post(ctx context.Context, h *hookWorker, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Kessel-Webhook/1")
	req.Header.Set("X-Kessel-Signature", Sign(h.Secret, body))
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
