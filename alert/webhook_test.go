package alert_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/internal/testenv"
)

// TestWebhooks: a good endpoint gets a correctly signed body at once while
// a slow one hangs and a failing one is retried with backoff and then given
// up (counted); rules and departments filter what an endpoint receives.
func TestWebhooks(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	type delivery struct{ path, alert, state string }
	var mu sync.Mutex
	var got []delivery
	sigOK := true
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a kessel.Alert
		if err := json.Unmarshal(b, &a); err != nil {
			t.Errorf("webhook body %s: %v", b, err)
		}
		mu.Lock()
		got = append(got, delivery{r.URL.Path, a.ID, a.Status()})
		sigOK = sigOK && r.Header.Get("X-Kessel-Signature") == alert.Sign(secret, b)
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
		{Name: "good", URL: good.URL + "/good", Secret: secret},
		{Name: "failing", URL: failing.URL, Secret: secret},
		{Name: "other-rule", URL: good.URL + "/other-rule", Secret: secret, Rules: []string{"frost"}},
		{Name: "other-department", URL: good.URL + "/other-department", Secret: secret, Departments: []string{"tiefbau"}},
	}, alert.WebhookOptions{Attempts: 3, BaseDelay: 10 * time.Millisecond, Registerer: prom, Client: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { wh.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	wh.Notify(kessel.Alert{ID: "a1", RuleID: "feinstaubalarm", Subject: "air-1", Department: "umweltschutz", State: kessel.Firing})
	// Each endpoint delivers in order: once the filtered endpoints got the
	// second alert (which they want), they would have had the first.
	wh.Notify(kessel.Alert{ID: "a2", RuleID: "frost", Subject: "road-1", Department: "tiefbau", State: kessel.Inactive, ResolvedAt: time.Unix(1, 0)})
	want := []delivery{{"/good", "a1", "firing"}, {"/good", "a2", "resolved"}, {"/other-department", "a2", "resolved"}, {"/other-rule", "a2", "resolved"}}
	testenv.Eventually(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(want)
	}, "deliveries %v, want %v", got, want)
	testenv.Eventually(t, 5*time.Second, func() bool { return counterSum(t, prom, "kessel_webhook_dead_total") >= 2 },
		"dead notifications %v, want 2 (the failing endpoint's)", counterSum(t, prom, "kessel_webhook_dead_total"))
	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(got, func(a, b delivery) int { return strings.Compare(a.path+a.alert, b.path+b.alert) })
	if !slices.Equal(got, want) || !sigOK {
		t.Errorf("deliveries %v (signatures ok: %v), want %v", got, sigOK, want)
	}
	if f := fails.Load(); f != 6 {
		t.Errorf("failing endpoint tried %d times, want 3 per notification", f)
	}
	if dead := counterSum(t, prom, "kessel_webhook_dead_total"); dead != 2 {
		t.Errorf("dead notifications %v, want 2", dead)
	}
}

// counterSum adds up every series of a counter.
func counterSum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestWebhookValidation(t *testing.T) {
	for _, w := range []alert.Webhook{{Name: "", URL: "http://x", Secret: "0123456789abcdef"}, {Name: "a", URL: "ftp://x", Secret: "0123456789abcdef"}, {Name: "a", URL: "http://x", Secret: "short"}} {
		if err := w.Validate(); kessel.ErrorCode(err) != kessel.EINVALID {
			t.Errorf("%+v: %v", w, err)
		}
	}
}
