package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/internal/loglimit"
)

// FollowerOptions configures a Follower. Zero values take the defaults noted.
type FollowerOptions struct {
	// Broker is the MQTT URL of the broker the ingesters read; empty
	// means no MQTT client: messages arrive through Take (from a NATS
	// stream).
	Broker   string
	ClientID string // required with Broker
	Username string
	Password string
	Limits   Limits
	Logger   *slog.Logger
	// Registerer receives kessel_ingest_connected{source="broker"}; nil
	// means it is not exported.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Follower keeps an API-only instance's live state current: it subscribes
// on a clean session to the readings, descriptions and uplinks the
// ingesting instances store, decodes and checks them as they do and hands
// the readings to Devices. It writes nothing; the ingesters store,
// dead-letter and acknowledge for good.
type Follower struct {
	devices Devices
	opts    FollowerOptions
	src     *source
	fcnt    frameCounter
}

// NewFollower checks opts and returns a Follower; it does not connect yet.
func NewFollower(devices Devices, opts FollowerOptions) (*Follower, error) {
	if devices == nil {
		return nil, fmt.Errorf("ingest: follower: devices are required")
	}
	if opts.Broker != "" && opts.ClientID == "" {
		return nil, kessel.Errorf(kessel.EINVALID, "ingest: a follower needs a client id")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Limits.ensureDefaults()
	up := newConnectedGauge()
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(up); err != nil {
			return nil, fmt.Errorf("ingest: follower metrics: %w", err)
		}
	}
	f := &Follower{devices: devices, opts: opts}
	if opts.Broker == "" {
		return f, nil
	}
	log := opts.Logger.With("component", "follow")
	// Not shared: a follower sees every message, whichever ingester stores it.
	subs := map[string]byte{TopicReadings: 1, TopicTTS: 1, TopicMeta: 1}
	f.src = newSource(sourceConfig{name: "broker", url: opts.Broker, clientID: opts.ClientID, username: opts.Username,
		password: opts.Password, clean: true, subscriptions: subs}, f.onMessage, log, loglimit.New(logInterval, nil), opts.Now, up.WithLabelValues("broker"))
	return f, nil
}

// Run follows the stream until ctx ends, then disconnects; it returns once
// every goroutine it started has ended.
func (f *Follower) Run(ctx context.Context) error {
	if f.src == nil {
		<-ctx.Done()
		return nil
	}
	f.src.start(ctx)
	<-ctx.Done()
	f.src.close()
	return nil
}

// Ready reports an EUNAVAILABLE error while the follower is not connected
// and subscribed (always nil without Broker).
func (f *Follower) Ready(context.Context) error {
	if f.src != nil && !f.src.connected.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to the MQTT broker"}
	}
	return nil
}

// onMessage runs on paho's router goroutine, one message at a time: what
// the ingesters would store becomes the devices' latest; what they would
// reject is skipped (they keep it as a dead letter).
func (f *Follower) onMessage(_ mqtt.Client, m mqtt.Message) {
	defer m.Ack()
	f.Take(m.Topic(), m.Payload())
}

// Take follows one message that arrived without the MQTT client (from a
// NATS stream), in order; not safe for concurrent use.
func (f *Follower) Take(topic string, payload []byte) {
	dec, err := Decode(topic, payload, f.opts.Now(), f.opts.Limits)
	if err != nil {
		return
	}
	if dec.FCnt != nil && len(dec.Readings) == 1 {
		f.fcnt.track(&dec.Readings[0], *dec.FCnt)
	}
	if accept(f.devices, &dec, f.opts.Now(), f.opts.Limits) != nil || len(dec.Readings) == 0 {
		return
	}
	f.devices.Observe(dec.Readings)
}
