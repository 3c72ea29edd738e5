package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/registry"
)

// streamServer serves the API with a running alert engine over a real
// http.Server; stopEngine stops the engine.
func streamServer(t *testing.T) (srv *http.Server, url string, engine *alert.Engine, stopEngine func()) {
	t.Helper()
	reg, _ := registry.New(registry.Options{})
	store, err := influx.New(influx.Options{URL: "http://127.0.0.1:1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rule := alert.Rule{ID: "pm", Kind: "air_quality", Field: "pm10", Condition: alert.CondThreshold, Op: ">", Threshold: 50, Visibility: kessel.Public}
	engine, err = alert.New([]alert.Rule{rule}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	engineDone := make(chan error, 1)
	go func() { engineDone <- engine.Run(ctx) }()
	stopEngine = func() { cancel(); <-engineDone }
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stopEngine()
		}
	})
	h, err := api.NewServer(reg, nil, store, api.Options{Alerts: engine, Rules: engine, RateLimits: map[string]api.RateLimit{}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv = &http.Server{Handler: h}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	return srv, "http://" + ln.Addr().String() + "/api/v1/alerts/stream", engine, stopEngine
}

// openStream connects, waits for the stream to start (the subscription
// exists once the headers arrive) and returns a channel of its data lines,
// closed when the stream ends.
func openStream(t *testing.T, url, lastID string) <-chan string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "id: ") || strings.HasPrefix(l, "data: ") {
				lines <- l
			}
		}
	}()
	return lines
}

// TestStreamEnds: an open alert stream ends, and lets HTTP shutdown finish
// at once, when the server shuts down or the engine stops; before, shutdown
// waited for its whole timeout with one stream open.
func TestStreamEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(srv *http.Server, stopEngine func()) error
	}{
		{"server shutdown", func(srv *http.Server, _ func()) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(ctx)
		}},
		{"engine stop", func(_ *http.Server, stopEngine func()) error { stopEngine(); return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, url, engine, stopEngine := streamServer(t)
			lines := openStream(t, url, "")
			engine.Observe([]kessel.Reading{{Device: "air-1", Kind: "air_quality", Time: time.Now(), Values: map[string]float64{"pm10": 80}}})
			var got []string
			for l := range lines {
				got = append(got, l)
				if len(got) == 2 {
					break
				}
			}
			var a kessel.Alert
			if len(got) != 2 || json.Unmarshal([]byte(strings.TrimPrefix(got[1], "data: ")), &a) != nil || a.Status() != "firing" {
				t.Fatalf("stream sent %q, want the firing alert", got)
			}
			start := time.Now()
			if err := tc.end(srv, stopEngine); err != nil {
				t.Fatalf("after %v: %v", time.Since(start), err)
			}
			select {
			case l, open := <-lines:
				if open {
					t.Fatalf("stream sent %q, want its end", l)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream did not end")
			}
		})
	}
}
