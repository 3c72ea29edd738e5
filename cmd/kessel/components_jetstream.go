package main

import (
	"context"
	"sync"

	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/jetstream"
)

// Values of --mqtt-broker that embed a broker.
const (
	// brokerEmbedded is NATS with JetStream: a device's QoS 1 message is
	// acknowledged once stored, and Kessel's consumer acknowledges it to
	// the stream once InfluxDB stored it.
	brokerEmbedded = "embedded"
	// brokerMochi is the in-memory mochi-mqtt broker (MQTT 5 clients,
	// public devices' self-descriptions readable by devices); it
	// acknowledges a message once ingest queued it in memory.
	brokerMochi = "mochi"
)

// startJetStream starts the default embedded broker (--mqtt-broker
// embedded) beside the components after it (restoring its stream takes as
// long as they do; awaitJetStream takes the broker where the others
// expect it). Kessel's durable consumer on the device topics exists before
// it lets any device in: what devices publish before ingest runs waits in
// the stream. It stops after ingest, so that what ingest drains at
// shutdown is still acknowledged to the stream.
func (a *app) startJetStream(context.Context) (func(context.Context), error) {
	if a.cfg.Broker != brokerEmbedded {
		return nil, nil
	}
	type started struct {
		b   *jetstream.Broker
		err error
	}
	done := make(chan started, 1)
	go func() {
		b, err := a.newJetStream()
		done <- started{b, err}
	}()
	a.awaitJS = sync.OnceValues(func() (*jetstream.Broker, error) { r := <-done; return r.b, r.err })
	return func(context.Context) {
		// After ingest drained: what it stored is acknowledged, the rest
		// given back to the stream.
		if b, err := a.awaitJS(); err == nil {
			if err := b.Close(); err != nil {
				a.log.Warn("broker shutdown", "err", err)
			}
		}
	}, nil
}

// newJetStream starts the embedded broker.
func (a *app) newJetStream() (*jetstream.Broker, error) {
	auth := a.cfg.File.brokerAuth()
	if auth.Anonymous {
		a.log.Warn("embedded broker accepts anonymous clients (development mode); list mqtt.users in the config for production")
	}
	users := make([]jetstream.User, len(auth.Users))
	for i, u := range auth.Users {
		users[i] = jetstream.User{Username: u.Username, PasswordHash: u.PasswordHash, Role: u.Role}
	}
	b, err := jetstream.Start(jetstream.Options{
		Addr: a.cfg.MQTTListen, DataDir: a.cfg.MQTTData, Users: users, Anonymous: auth.Anonymous,
		Match: ingest.Match,
		// Larger than the ingest limit, so an oversized payload reaches
		// ingest and becomes a counted dead letter, not a disconnect.
		MaxPayload: int32(max(1<<20, 2*a.cfg.MaxPayload)),
		// More unacknowledged than ingest may hold, with the pull's
		// buffer of up to 1,000 on its way and the acknowledgements
		// JetStream has not processed yet (with a margin of 2,000 the
		// consumer reached it in drains and stopped delivering until
		// they were).
		MaxAckPending: 2 * ingest.Options{BatchSize: a.cfg.BatchSize}.Held(),
		Logger:        a.log, Registerer: a.prom,
	})
	if err != nil {
		return nil, err
	}
	a.log.Info("embedded MQTT broker (NATS JetStream) listening", "addr", b.Addr(), "data", a.cfg.MQTTData)
	return b, nil
}

// awaitJetStream waits for the embedded broker startJetStream started and
// hands it to the components after it (startJetStream's stop closes it).
func (a *app) awaitJetStream(context.Context) (func(context.Context), error) {
	if a.awaitJS == nil {
		return nil, nil
	}
	b, err := a.awaitJS()
	if err != nil {
		return nil, err
	}
	a.js = b
	a.brokerURL = b.URL()
	a.setPublisher(func(ctx context.Context, topic string, payload []byte) error {
		return b.Publish(ctx, topic, payload, false, 1)
	})
	a.setSTAPublisher(func(ctx context.Context, m api.STAMessage) error {
		return b.PublishSTA(ctx, m.Topic, m.Payload, m.Public)
	})
	a.setSTAInterest(b.STAListened, b.STAInterest)
	return nil, nil
}

// startConsume hands the stream's messages to ingest; each is
// acknowledged to the stream once stored. QoS 0 messages go to ingest
// without a stream. Its stop (before ingest's) waits
// until nothing more is pulled.
func (a *app) startConsume(ctx context.Context) (func(context.Context), error) {
	if a.js == nil || a.ingester == nil {
		return nil, nil
	}
	if a.js.Partitions() > 0 {
		return a.startClusterConsume(ctx)
	}
	runCtx, stop := detach(ctx)
	b, in := a.js, a.ingester
	wait := background(func() {
		err := b.Consume(runCtx, func(ctx context.Context, m jetstream.Message) error {
			return in.EnqueueStored(ctx, ingest.StoredMessage{Topic: m.Topic, Payload: m.Payload, At: m.Stored, Ack: m.Ack, Behind: m.Behind})
		})
		if err != nil {
			a.log.Error("consuming from the embedded broker's stream stopped", "err", err)
		}
	})
	// QoS 0 readings, which no stream holds: at most once, dropped and
	// counted when ingest's queue is full.
	waitQoS0 := background(func() {
		if err := b.ConsumeQoS0(runCtx, in.Offer); err != nil {
			a.log.Error("taking QoS 0 messages from the embedded broker stopped", "err", err)
		}
	})
	return func(context.Context) { stop(); wait(); waitQoS0() }, nil
}
