package alert_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
)

// TestWebhooks: a good endpoint gets a correctly signed body at once while
// a slow one hangs and a failing one is retried with backoff and then given
// up (counted); rules filter what an endpoint receives.
func TestWebhooks(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	var mu sync.Mutex
	var got [][]byte
	var sigOK bool
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b)
		sigOK = r.Header.Get("X-Kessel-Signature") == alert.Sign(secret, b)
		mu.Unlock()
	}))
	defer good.Close()
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	var fails atomic.Int32
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fails.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer failing.Close()

	prom := prometheus.NewRegistry()
	wh, err := alert.NewWebhooks([]alert.Webhook{
		{Name: "slow", URL: slow.URL, Secret: secret},
		{Name: "good", URL: good.URL, Secret: secret},
		{Name: "failing", URL: failing.URL, Secret: secret},
		{Name: "other-rule", URL: good.URL, Secret: secret, Rules: []string{"frost"}},
		{Name: "other-department", URL: good.URL, Secret: secret, Departments: []string{"tiefbau"}},
	}, alert.WebhookOptions{Attempts: 3, BaseDelay: 10 * time.Millisecond, Registerer: prom, Client: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { wh.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	wh.Notify(kessel.Alert{ID: "a1", RuleID: "feinstaubalarm", Subject: "air-1", Department: "umweltschutz", State: kessel.Firing})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 1 && fails.Load() >= 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !sigOK {
		t.Fatalf("good endpoint got %d bodies (want 1: the other-rule and other-department hooks filter), signature ok %v", len(got), sigOK)
	}
	if f := fails.Load(); f != 3 {
		t.Errorf("failing endpoint tried %d times, want 3", f)
	}
	mfs, _ := prom.Gather()
	dead := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "kessel_webhook_dead_total" {
			for _, m := range mf.GetMetric() {
				dead += m.GetCounter().GetValue()
			}
		}
	}
	if dead != 1 {
		t.Errorf("dead notifications %v, want 1 (the failing endpoint)", dead)
	}
}

func TestWebhookValidation(t *testing.T) {
	for _, w := range []alert.Webhook{{Name: "", URL: "http://x", Secret: "0123456789abcdef"}, {Name: "a", URL: "ftp://x", Secret: "0123456789abcdef"}, {Name: "a", URL: "http://x", Secret: "short"}} {
		if err := w.Validate(); kessel.ErrorCode(err) != kessel.EINVALID {
			t.Errorf("%+v: %v", w, err)
		}
	}
}
