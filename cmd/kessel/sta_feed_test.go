package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
)

// TestSTAFeed: stored readings go out as one message per field once a
// broker publishes; before that nothing is queued, and a full queue drops
// (counted) instead of blocking ingest.
func TestSTAFeed(t *testing.T) {
	reading := kessel.Reading{Device: "air-1", Time: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), Values: map[string]float64{"pm10": 1, "pm25": 2}}
	for _, tc := range []struct {
		name                       string
		publisher                  bool
		fail                       bool
		nobody                     bool // the broker says nobody subscribes to the topic
		unheard                    bool // the broker says nobody subscribes to any Datastream
		batches                    int
		published, failed, dropped float64
	}{
		{"no broker yet: nothing queued", false, false, false, false, 3, 0, 0, 0},
		{"published, one message per field", true, false, false, false, 3, 6, 0, 0},
		{"nobody subscribes: nothing rendered or sent", true, false, true, false, 3, 0, 0, 0},
		{"nobody subscribes to any Datastream: nothing rendered or sent", true, false, false, true, 3, 0, 0, 0},
		{"the broker refuses: counted", true, true, false, false, 1, 0, 2, 0},
		{"a full queue drops, counted per value", true, false, false, false, staQueue + 5, 2 * staQueue, 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{log: slog.New(slog.DiscardHandler)}
			if tc.publisher {
				a.setSTAPublisher(func(_ context.Context, m api.STAMessage) error {
					if tc.fail {
						return errors.New("refused")
					}
					return nil
				})
			}
			a.setSTAInterest(func() bool { return !tc.unheard }, func(string) bool { return !tc.nobody })
			f := &staFeed{base: "http://x", in: make(chan []kessel.Reading, staQueue), publish: &a.publishSTA, interest: &a.staInterest,
				sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"result"})}
			for range tc.batches { // the feed does not run yet: the queue fills
				f.observed([]kessel.Reading{reading})
			}
			close(f.in)
			f.run(context.Background(), a)
			for result, want := range map[string]float64{"published": tc.published, "failed": tc.failed, "dropped": tc.dropped} {
				if got := testutil.ToFloat64(f.sent.WithLabelValues(result)); got != want {
					t.Errorf("%s: %v, want %v", result, got, want)
				}
			}
		})
	}
}

// TestSTAFeedStopsAtDeadline: the feed's stop returns by the shutdown's
// deadline even while a publish never completes (a QoS 1 publish to an
// external broker that went away), and then ends that publish.
func TestSTAFeedStopsAtDeadline(t *testing.T) {
	a := &app{log: slog.New(slog.DiscardHandler), prom: prometheus.NewRegistry(), cfg: config{serveFlags: serveFlags{HTTP: "x", Broker: brokerEmbedded}, RoleSet: map[string]bool{"ingest": true}}}
	publishing := make(chan struct{})
	a.setSTAPublisher(func(ctx context.Context, _ api.STAMessage) error {
		close(publishing)
		<-ctx.Done() // the broker never answers
		return ctx.Err()
	})
	stop, err := a.startSTA(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.sta.observed([]kessel.Reading{{Device: "air-1", Time: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), Values: map[string]float64{"pm10": 1}}})
	<-publishing
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	stopped := make(chan struct{})
	go func() { stop(ctx); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the feed's stop still waits for a publish 10 s after the shutdown's deadline")
	}
	if got := testutil.ToFloat64(a.sta.sent.WithLabelValues("failed")); got != 1 {
		t.Errorf("failed publishes: %v, want 1", got)
	}
}
