package ingest

import (
	"context"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/internal/testenv"

	"github.com/kessel-city/kessel/internal/loglimit"
)

// sourceGoroutines lists the goroutines running a source's code.
func sourceGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "ingest.(*source).") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

func testSource(t *testing.T, url, user, password string) *source {
	t.Helper()
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_connected"})
	cfg := sourceConfig{name: "broker", url: url, clientID: "air-1@ingest-test", username: user, password: password,
		clean: true, subscriptions: map[string]byte{TopicReadings: 1}}
	s := newSource(cfg, func(mqtt.Client, mqtt.Message) {}, slog.New(slog.DiscardHandler), loglimit.New(logInterval, nil), time.Now, gauge)
	s.retry = 20 * time.Millisecond
	return s
}

// TestSourceCloseWaits checks that close leaves nothing behind: neither the
// loop making the first connection (to a broker that is not there) nor a
// resubscription scheduled after a refused subscription.
func TestSourceCloseWaits(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("device-secret-1"), bcrypt.MinCost) // fast under -race
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Auth: broker.Auth{Users: []broker.User{{Username: "air-1", PasswordHash: string(hash), Role: broker.RoleDevice}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "tcp://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	for _, tc := range []struct {
		name     string
		url      string
		user     string
		password string
		running  func(*source) bool // the state to reach before closing
	}{
		{"connect loop retrying", deadURL, "", "", func(s *source) bool { return strings.Contains(sourceGoroutines(), "(*source).connect") }},
		{"subscription refused, resubscription pending", b.URL(), "air-1", "device-secret-1", (*source).pendingResubscription},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSource(t, tc.url, tc.user, tc.password)
			ctx, cancel := context.WithCancel(context.Background())
			s.start(ctx)
			closed := false
			t.Cleanup(func() {
				if !closed {
					cancel()
					s.close()
				}
			})
			testenv.Eventually(t, 20*time.Second, func() bool { return tc.running(s) }, "source never reached the state to test")
			cancel()
			s.close()
			closed = true
			if s.pendingResubscription() {
				t.Error("a resubscription is still scheduled after close")
			}
			if g := sourceGoroutines(); g != "" {
				t.Errorf("goroutines of the source still run after close:\n%s", g)
			}
			if s.connected.Load() {
				t.Error("connected after close")
			}
		})
	}
}

// TestSubscriptionCutByClose: a subscription still waiting for its SUBACK
// when the source closes is not reported as a failure (a shutdown logged
// an error for it), nor tried again.
func TestSubscriptionCutByClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	subscribed := make(chan struct{})
	go func() { // a broker that accepts the connection and never answers its SUBSCRIBE
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err != nil { // CONNECT
			return
		}
		if _, err := c.Write([]byte{0x20, 2, 0, 0}); err != nil { // CONNACK, accepted
			return
		}
		if _, err := c.Read(buf); err != nil { // SUBSCRIBE
			return
		}
		close(subscribed)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	var logs testenv.Buffer
	s := testSource(t, "tcp://"+ln.Addr().String(), "", "")
	s.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	s.start(ctx)
	select {
	case <-subscribed:
	case <-time.After(20 * time.Second):
		t.Fatal("the source never subscribed")
	}
	cancel()
	s.close()
	testenv.Eventually(t, 20*time.Second, func() bool { return strings.Contains(logs.String(), "subscription ended by closing") },
		"the cut subscription was not seen; log:\n%s", logs.String())
	if strings.Contains(logs.String(), "level=ERROR") || s.pendingResubscription() {
		t.Fatalf("a subscription cut by close reported as failed or tried again; log:\n%s", logs.String())
	}
}
