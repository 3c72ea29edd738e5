package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/registry"
)

// TestFollower follows a broker's stream: descriptions and good readings
// become the live state, readings the ingesters would refuse do not.
func TestFollower(t *testing.T) {
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Auth: broker.Auth{Anonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	reg, _ := registry.New(registry.Options{})
	prom := prometheus.NewRegistry()
	f, err := ingest.NewFollower(reg, ingest.FollowerOptions{Broker: b.URL(), ClientID: "kessel-api", Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if f.Ready(context.Background()) == nil {
			t.Error("ready after Run returned")
		}
	}()
	testenv.Eventually(t, 20*time.Second, func() bool { return f.Ready(ctx) == nil }, "follower not ready")

	pub := publisher(t, b.URL())
	publish(t, pub, "kessel/devices/air-1/meta", `{"kind":"air_quality","location":{"lon":9.18,"lat":48.7784}}`)
	for _, tc := range []struct{ topic, payload string }{
		{"kessel/devices/air-1/readings", `{"values":{"pm10":7}}`},
		{"kessel/devices/air-1/readings", `{"values":{"_value":99}}`},
		{"kessel/devices/air-1/readings", `{"ts":"1677-09-01T00:00:00Z","values":{"pm10":99}}`},
		{"kessel/devices/air-2/meta", `{"kind":"kessel_rules"}`},
		{"kessel/devices/air-1/readings", `{"values":{"pm10":8}}`},
	} {
		publish(t, pub, tc.topic, tc.payload)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		_, latest, ok := reg.Get("air-1")
		return ok && latest != nil && latest.Values["pm10"] == 8
	}, "live state of air-1 not followed")
	if d, _, _ := reg.Get("air-1"); d.Kind != "air_quality" {
		t.Errorf("description not followed: %+v", d)
	}
	if d, _, ok := reg.Get("air-2"); ok && d.Kind == "kessel_rules" {
		t.Errorf("a reserved kind reached the registry: %+v", d)
	}
}
