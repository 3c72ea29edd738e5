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

// TestGoodAndBadInterleaved sends bad messages of every wire format
// (reserved kinds and field names, unstorable tag values and times among
// them) between good ones of every format and checks that every good one
// is stored, every bad one counted by reason and kept as a dead letter, on
// both broker kinds.
func TestGoodAndBadInterleaved(t *testing.T) {
	brokers := map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string {
			b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Auth: broker.Auth{Anonymous: true}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b.URL()
		},
		"mosquitto": func(t *testing.T) string { return testenv.StartMosquitto(t).URL },
	}
	type msg struct{ topic, payload, reason string }
	const native, senml, tts = "kessel/devices/air-1/readings", "kessel/devices/env-1/readings", "v3/city@ttn/devices/lora-1/up"
	bad := []msg{
		{native, `{"values":{"pm10":`, ingest.ReasonMalformedJSON},
		{native, `{"values":{"pm10":"high"}}`, ingest.ReasonNonNumeric},
		{native, `{"values":{"pm10":NaN}}`, ingest.ReasonNonFinite},
		{native, `{"values":{}}`, ingest.ReasonEmptyValues},
		{native, `{"values":{"pm10":1},"x":"` + strings.Repeat("x", 70<<10) + `"}`, ingest.ReasonTooLarge},
		{"kessel/devices/a b/readings", `{"values":{"x":1}}`, ingest.ReasonBadDeviceID},
		{senml, `[{"n":"t","v":1,"vs":"x"}]`, ingest.ReasonMalformedJSON},
		{senml, `[{"n":"t"}]`, ingest.ReasonEmptyValues},
		{tts, `{"app_id":"x","payload_fields":{"t":1}}`, ingest.ReasonUnsupportedFormat},
		{tts, `{"uplink_message":{"decoded_payload":{"t":1}},"received_at":"soon"}`, ingest.ReasonBadTimestamp},
		{"kessel/devices/air-1/meta", `{"kind":"air_quality","visibility":"secret"}`, ingest.ReasonBadMeta},
		{"kessel/devices/air-9/meta", `{"kind":"kessel_rules"}`, ingest.ReasonReservedKind},
		{"kessel/devices/air-9/meta", `{"kind":"noise","department":"Tiefbau\\"}`, ingest.ReasonBadTagValue},
		{native, `{"values":{"_start":1}}`, ingest.ReasonReservedField},
		{native, `{"kind":"kessel_usage","values":{"pm10":1}}`, ingest.ReasonReservedKind},
		{native, `{"ts":"1677-09-01T00:00:00Z","values":{"pm10":1}}`, ingest.ReasonBadTimestamp},
		{senml, `[{"n":"device","v":1}]`, ingest.ReasonReservedField},
		{tts, `{"uplink_message":{"decoded_payload":{"_time":1}}}`, ingest.ReasonReservedField},
	}
	wantReasons := map[string]int{}
	for _, b := range bad {
		wantReasons[b.reason]++
	}
	for name, start := range brokers {
		t.Run(name, func(t *testing.T) {
			url := start(t)
			r := startIngester(t, url)
			pub := publisher(t, url)
			publish(t, pub, "kessel/devices/air-1/meta", `{"kind":"air_quality","location":{"lon":9.18,"lat":48.7784}}`)
			base := time.Now().Add(-time.Hour).Truncate(time.Second)
			const good = 40
			for i := range good {
				ts := base.Add(time.Duration(i) * time.Second)
				switch i % 3 {
				case 0:
					publish(t, pub, native, fmt.Sprintf(`{"ts":%q,"values":{"pm10":%d}}`, ts.Format(time.RFC3339Nano), i))
				case 1:
					publish(t, pub, senml, fmt.Sprintf(`[{"bn":"env-1:","bt":%d,"n":"seq","v":%d}]`, ts.Unix(), i))
				case 2:
					publish(t, pub, tts, fmt.Sprintf(`{"end_device_ids":{"device_id":"lora-1"},"received_at":%q,"uplink_message":{"f_cnt":%d,"decoded_payload":{"seq":%d}}}`, ts.Format(time.RFC3339Nano), i, i))
				}
				if i < len(bad) {
					publish(t, pub, bad[i].topic, bad[i].payload)
				}
			}

			ctx := context.Background()
			stored := func(device string) int {
				rs, err := r.store.History(ctx, kessel.HistoryQuery{Device: device, From: base.Add(-time.Minute), To: base.Add(time.Hour)})
				if err != nil {
					return -1
				}
				return len(rs)
			}
			testenv.Eventually(t, 20*time.Second, func() bool {
				return stored("air-1") == 14 && stored("env-1") == 13 && stored("lora-1") == 13
			}, "not all %d good readings stored: native %d, senml %d, tts %d", good, stored("air-1"), stored("env-1"), stored("lora-1"))
			rs, _ := r.store.History(ctx, kessel.HistoryQuery{Device: "air-1", From: base.Add(-time.Minute), To: base.Add(time.Hour)})
			for i, rd := range rs {
				if rd.Values["pm10"] != float64(3*i) || rd.Kind != "air_quality" {
					t.Fatalf("native reading %d = %+v", i, rd)
				}
			}
			for reason, n := range wantReasons {
				if got := counterValue(t, r.prom, "kessel_ingest_rejected_total", reason); got != float64(n) {
					t.Errorf("rejected{%s} = %v, want %d", reason, got, n)
				}
			}
			testenv.Eventually(t, 10*time.Second, func() bool {
				dls, err := r.store.DeadLetters(ctx, kessel.DeadLetterQuery{From: base, To: time.Now().Add(time.Minute)})
				return err == nil && len(dls) == len(bad)
			}, "dead letters not stored")
			testenv.Eventually(t, 10*time.Second, func() bool {
				dead := 0.0
				for _, f := range []string{"native", "senml", "tts", "meta"} {
					dead += counterValue(t, r.prom, "kessel_ingest_deadlettered_total", f)
				}
				return counterValue(t, r.prom, "kessel_ingest_written_total", "native") == 14 &&
					counterValue(t, r.prom, "kessel_ingest_written_total", "senml") == 13 &&
					counterValue(t, r.prom, "kessel_ingest_written_total", "tts") == 13 &&
					counterValue(t, r.prom, "kessel_ingest_deadlettered_total", "tts") == 3 && dead == float64(len(bad))
			}, "written/dead-lettered by format: written native %v senml %v tts %v, dead-lettered tts %v",
				counterValue(t, r.prom, "kessel_ingest_written_total", "native"), counterValue(t, r.prom, "kessel_ingest_written_total", "senml"),
				counterValue(t, r.prom, "kessel_ingest_written_total", "tts"), counterValue(t, r.prom, "kessel_ingest_deadlettered_total", "tts"))
			if _, latest, ok := r.reg.Get("air-1"); !ok || latest == nil || latest.Values["pm10"] != 39 {
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
