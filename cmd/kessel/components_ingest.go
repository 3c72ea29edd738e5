package main

// All of the hub's wiring of package ingest is in this file.

import (
	"context"
	"fmt"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/registry"
)

// registerLastSeen exports each device's last-seen time (--device-metrics).
func (a *app) registerLastSeen(reg *registry.Registry) {
	a.prom.MustRegister(ingest.NewLastSeenCollector(reg))
}

// startIngest runs ingest (role ingest): MQTT (or the embedded broker's
// deliveries) and HTTP pushes -> decode -> validate -> store.
func (a *app) startIngest(ctx context.Context) (func(context.Context), error) {
	if !a.cfg.has("ingest") {
		return nil, nil
	}
	c := a.cfg
	opts := ingest.Options{
		ClientID: c.ClientID, Username: c.MQTTUser, Password: c.MQTTPassword, SharedGroup: c.SharedGroup,
		Limits: ingest.Limits{MaxPayload: c.MaxPayload, MaxAge: c.MaxAge}, Logger: a.log, Registerer: a.prom,
		BatchSize: c.BatchSize, FlushInterval: c.FlushInterval,
		TTS: ingest.TTSSource{Broker: c.TTSBroker, Username: c.TTSUser, Password: c.TTSPassword, ClientID: c.TTSClientID},
	}
	if !c.embedded() {
		opts.Broker = c.Broker // with the embedded broker, messages arrive through its hook
	}
	if c.QC {
		opts.Check = a.qualityCheck()
	}
	if a.engine != nil {
		opts.Watch = a.engine.Observe // alerts evaluate readings as they arrive, not after the batch is written
	}
	ing, err := ingest.New(a.store, a.ingestDevices(), opts)
	if err != nil {
		return nil, err
	}
	a.ingester = ing
	runCtx, stop := detach(ctx)
	a.ingestCtx = runCtx
	wait := background(func() {
		if err := ing.Run(runCtx); err != nil {
			a.fail(fmt.Errorf("ingest: %w", err))
		}
	})
	a.ready = append(a.ready, api.Check{Name: "mqtt", Check: ing.Ready})
	if c.TTSBroker != "" {
		a.ready = append(a.ready, api.Check{Name: "tts", Check: ing.TTSReady, Optional: true})
	}
	if !c.embedded() {
		a.setPublisher(func(ctx context.Context, topic string, payload []byte) error {
			return ing.Publish(ctx, topic, payload, false, 1)
		})
		a.setSTAPublisher(func(ctx context.Context, m api.STAMessage) error {
			if !m.Public {
				return nil // an external broker's readers are not Kessel's to authorise
			}
			return ing.Publish(ctx, m.Topic, m.Payload, false, 0) // QoS 0, as documented: each waited for its PUBACK, and the feed fell ever further behind
		})
	}
	return func(context.Context) { stop(); wait() }, nil
}

// deliverToIngest makes the embedded broker hand readings to ingest.
func (a *app) deliverToIngest(o *broker.Options) {
	if a.ingester == nil {
		return
	}
	o.Match = ingest.Match
	o.Deliver = func(topic string, payload []byte) error { return a.ingester.Enqueue(a.ingestCtx, topic, payload) }
}

// pusher is where the API sends HTTP device pushes; nil without ingest.
func (a *app) pusher() api.Pusher {
	if a.ingester == nil {
		return nil
	}
	return a.ingester
}

// startFollower keeps an API-only instance's live state current: it
// follows the readings stream (its state was filled from InfluxDB on
// start) and stores nothing.
func (a *app) startFollower(ctx context.Context) (func(context.Context), error) {
	if a.cfg.has("ingest") || !a.cfg.has("api") {
		return nil, nil
	}
	if a.cfg.Broker == brokerNATS {
		return a.startNATSFollower(ctx)
	}
	c := a.cfg
	f, err := ingest.NewFollower(a.reg, ingest.FollowerOptions{Broker: a.brokerURL, ClientID: c.ClientID + "-api",
		Username: c.MQTTUser, Password: c.MQTTPassword, Limits: ingest.Limits{MaxPayload: c.MaxPayload}, Logger: a.log, Registerer: a.prom})
	if err != nil {
		return nil, err
	}
	runCtx, stop := detach(ctx)
	wait := background(func() {
		if err := f.Run(runCtx); err != nil {
			a.fail(fmt.Errorf("follow: %w", err))
		}
	})
	a.ready = append(a.ready, api.Check{Name: "mqtt", Check: f.Ready})
	return func(context.Context) { stop(); wait() }, nil
}
