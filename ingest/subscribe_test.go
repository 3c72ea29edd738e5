package ingest_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/influx/influxtest"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/internal/testenv"
	"github.com/kessel-city/kessel/registry"
)

// TestSubscriptionRefused connects with a login the broker lets in but
// whose subscriptions it refuses (SUBACK 0x80): the ingester must say so,
// with the topics, and not report itself ready.
func TestSubscriptionRefused(t *testing.T) {
	hash, err := broker.HashPassword("device-secret-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Auth: broker.Auth{Users: []broker.User{{Username: "air-1", PasswordHash: hash, Role: broker.RoleDevice}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := influxtest.Start(t)
	store, err := influx.New(influx.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := registry.New(registry.Options{})
	var logs testenv.Buffer
	in, err := ingest.New(store, reg, ingest.Options{Broker: b.URL(), ClientID: "air-1@kessel-refused", Username: "air-1", Password: "device-secret-1",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "subscription failed") && strings.Contains(logs.String(), "kessel/devices/+/readings")
	}, "refused subscription not logged:\n%s", logs.String())
	if err := in.Ready(ctx); err == nil {
		t.Error("ready although the broker refused the subscriptions")
	}
}
