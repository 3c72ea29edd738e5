package main

import (
	"context"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/broker"
)

// embedded reports whether the hub runs its own MQTT broker
// (or joins a NATS cluster): readings then do not come through an MQTT client.
func (c config) embedded() bool {
	return c.Broker == brokerEmbedded || c.Broker == brokerMochi || c.Broker == brokerNATS
}

// startBroker runs the in-memory embedded MQTT broker (--mqtt-broker
// mochi), which hands readings straight to ingest.
func (a *app) startBroker(context.Context) (func(context.Context), error) {
	if !a.cfg.embedded() {
		a.brokerURL = a.cfg.Broker
	}
	if a.cfg.Broker != brokerMochi {
		return nil, nil // the default embedded broker is startJetStream's
	}
	auth := a.cfg.File.brokerAuth()
	if auth.Anonymous {
		a.log.Warn("embedded broker accepts anonymous clients (development mode); list mqtt.users in the config for production")
	}
	o := broker.Options{Addr: a.cfg.MQTTListen, Logger: a.log, Auth: auth, DataDir: a.cfg.MQTTData,
		Registerer: a.prom, Visibility: a.reg.Visibility,
		// Larger than the ingest limit, so an oversized payload reaches
		// ingest and becomes a counted dead letter, not a disconnect.
		MaxPacket: uint32(max(1<<20, 2*a.cfg.MaxPayload)),
	}
	a.deliverToIngest(&o)
	b, err := broker.Start(o)
	if err != nil {
		return nil, err
	}
	a.broker = b
	a.brokerURL = b.URL()
	a.log.Info("embedded MQTT broker (mochi, in memory) listening", "addr", b.Addr())
	a.setPublisher(func(_ context.Context, topic string, payload []byte) error {
		return b.Publish(topic, payload, false, 1)
	})
	a.setSTAPublisher(func(_ context.Context, m api.STAMessage) error { return b.Publish(m.Topic, m.Payload, false, 0) })
	return func(context.Context) {
		if err := b.Close(); err != nil {
			a.log.Warn("broker shutdown", "err", err)
		}
	}, nil
}
