package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/registry"
)

var (
	_ ingest.Store   = (*influx.Client)(nil)
	_ ingest.Devices = (*registry.Registry)(nil)
)

type rig struct {
	store *influx.Client
	reg   *registry.Registry
	prom  *prometheus.Registry
	in    *ingest.Ingester
}

func startIngester(t *testing.T, brokerURL string) *rig {
	t.Helper()
	srv := influxtest.Start(t)
	store, err := influx.New(influx.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := store.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	reg, _ := registry.New(registry.Options{})
	prom := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	in, err := ingest.New(store, reg, ingest.Options{Broker: brokerURL, ClientID: "kessel-test", Registerer: prom, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingester: %v", err)
		}
	})
	testenv.Eventually(t, 20*time.Second, func() bool { return in.Ready(ctx) == nil }, "ingester not ready")
	return &rig{store: store, reg: reg, prom: prom, in: in}
}

func publisher(t *testing.T, url string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect publisher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// TestGoodAndBadInterleaved sends every kind of bad message between good
// ones and checks that every good one is stored, every bad one counted by
// reason and kept as a dead letter, on both broker kinds.
func TestGoodAndBadInterleaved(t *testing.T) {
	brokers := map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string {
			b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b.URL()
		},
		"mosquitto": func(t *testing.T) string { return testenv.StartMosquitto(t).URL },
	}
	bad := map[string]string{
		ingest.ReasonMalformedJSON: `{"values":{"pm10":`,
		ingest.ReasonNonNumeric:    `{"values":{"pm10":"high"}}`,
		ingest.ReasonNonFinite:     `{"values":{"pm10":NaN}}`,
		ingest.ReasonEmptyValues:   `{"values":{}}`,
		ingest.ReasonTooLarge:      `{"values":{"pm10":1},"x":"` + strings.Repeat("x", 70<<10) + `"}`,
	}
	for name, start := range brokers {
		t.Run(name, func(t *testing.T) {
			url := start(t)
			r := startIngester(t, url)
			pub := publisher(t, url)
			publish(t, pub, "kessel/devices/air-1/meta", `{"kind":"air_quality","location":{"lon":9.18,"lat":48.7784}}`)
			base := time.Now().Add(-time.Hour).Truncate(time.Second)
			const good = 40
			reasons := []string{}
			for reason := range bad {
				reasons = append(reasons, reason)
			}
			for i := range good {
				ts := base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
				publish(t, pub, "kessel/devices/air-1/readings", fmt.Sprintf(`{"ts":%q,"values":{"pm10":%d}}`, ts, i))
				if i < len(reasons) {
					publish(t, pub, "kessel/devices/air-1/readings", bad[reasons[i]])
				}
			}
			publish(t, pub, "kessel/devices/a b/readings", `{"values":{"x":1}}`)

			ctx := context.Background()
			testenv.Eventually(t, 20*time.Second, func() bool {
				rs, err := r.store.History(ctx, kessel.HistoryQuery{Device: "air-1", From: base.Add(-time.Minute), To: base.Add(time.Hour)})
				return err == nil && len(rs) == good
			}, "not all %d good readings stored", good)
			rs, _ := r.store.History(ctx, kessel.HistoryQuery{Device: "air-1", From: base.Add(-time.Minute), To: base.Add(time.Hour)})
			for i, rd := range rs {
				if rd.Values["pm10"] != float64(i) || rd.Kind != "air_quality" {
					t.Fatalf("reading %d = %+v", i, rd)
				}
			}
			for reason := range bad {
				if got := counterValue(t, r.prom, "kessel_ingest_rejected_total", reason); got != 1 {
					t.Errorf("rejected{%s} = %v, want 1", reason, got)
				}
			}
			testenv.Eventually(t, 10*time.Second, func() bool {
				dls, err := r.store.DeadLetters(ctx, kessel.DeadLetterQuery{From: base, To: time.Now().Add(time.Minute)})
				return err == nil && len(dls) == len(bad)+1
			}, "dead letters not stored")
			if _, latest, ok := r.reg.Get("air-1"); !ok || latest == nil || latest.Values["pm10"] != good-1 {
				t.Errorf("registry latest = %+v", latest)
			}
		})
	}
}

func counterValue(t *testing.T, g prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
