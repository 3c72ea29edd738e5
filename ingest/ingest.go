// Package ingest receives sensor messages over MQTT (and HTTP push), decodes
// and validates them, enriches them from the device registry and stores them,
// at least once: an MQTT message is acknowledged only after the store has
// confirmed the write of its readings, or of its dead letter when it was bad.
//
// An Ingester stores; a Follower (follower.go, for an API-only instance)
// only keeps the live state current. The files hold one job each:
// sources.go the MQTT connections, intake.go how messages arrive,
// pipeline.go batching, decoding and acknowledgement, store.go writing with
// retries, check.go the last validation before a reading enters a batch,
// deadletter.go, framecount.go and loglimit.go; the decoders are decode.go,
// fastnative.go, senml.go, tts.go and airrohr.go.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/internal/loglimit"
)

// Store is where readings and dead letters go. Errors with code EINVALID are
// permanent (the data will never be accepted); any other error is retried.
// A *kessel.PartialWriteError from WriteReadings says that every reading
// but the ones it names was stored.
type Store interface {
	WriteReadings(ctx context.Context, rs []kessel.Reading) error
	WriteDeadLetters(ctx context.Context, dls []kessel.DeadLetter) error
}

// Devices is what ingest needs of the device registry.
type Devices interface {
	// Describe applies a device's self-description from its meta topic.
	Describe(d kessel.Device) error
	// Enrich fills a reading's kind, district and department from the
	// registry, registering an unknown device if the policy allows; it
	// returns an error when the device must be rejected.
	Enrich(r *kessel.Reading) error
	// Observe records stored readings as their devices' latest.
	Observe(rs []kessel.Reading)
}

// Options configures an Ingester. Zero values take the defaults noted.
type Options struct {
	// Broker is the MQTT URL of an external broker, e.g. tcp://127.0.0.1:1883.
	// Empty means no MQTT client: messages arrive through Enqueue (from the
	// embedded broker) and Submit (HTTP push).
	Broker   string
	ClientID string // required: the persistent session's stable id
	Username string
	Password string
	// SharedGroup, when set, subscribes to readings through $share/<group>/
	// so that several ingesters split one stream.
	SharedGroup string
	// MaxInflight bounds messages received but not yet acknowledged; default 20000.
	MaxInflight int
	// BatchSize is the most messages written in one store call; default 5000.
	BatchSize int
	// Watch, when set, sees every accepted reading as soon as it is
	// decoded and enriched, before the batch is written (the alert engine:
	// an alert should not wait for the batching). It must not block.
	Watch func([]kessel.Reading)
	// Check, when set, is quality control: it runs on every accepted
	// reading before Watch sees it and before it is stored, and may add
	// annotations (flags, corrected values) to its Values and set its
	// Correction, never changing a measured value. received is when the
	// message arrived. Calls come from one goroutine at a time or are
	// made safe by the checker (quality.Checker locks).
	Check func(r *kessel.Reading, received time.Time)
	// FlushInterval is how long the loop waits for a batch to fill once it
	// holds a message; default 100ms. Larger batches cost less per message;
	// the wait adds to the time before a message is acknowledged.
	FlushInterval time.Duration
	// TTS, when TTS.Broker is set, is a second MQTT connection, to a The
	// Things Stack server, whose uplinks are stored like those that reach
	// Kessel's own broker.
	TTS    TTSSource
	Limits Limits
	Logger *slog.Logger
	// Registerer receives the ingest metrics; nil means none are exported.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Topics Kessel subscribes to.
const (
	TopicReadings = kessel.DeviceTopicPrefix + "+/readings"
	TopicMeta     = kessel.DeviceTopicPrefix + "+/meta"
	TopicTTS      = "v3/+/devices/+/up"
)

// Ingester consumes MQTT messages and stores them. Create it with New and
// run it with Run.
type Ingester struct {
	store   Store
	devices Devices
	opts    Options
	log     *slog.Logger
	m       *metrics

	in      chan message
	broker  *source // nil without Options.Broker
	tts     *source // nil without Options.TTS.Broker
	running atomic.Bool
	closing atomic.Bool
	storeOK atomic.Bool
	seq     atomic.Uint64

	logLimit *loglimit.Limiter // rejections and reconnects, per reason or source, once per logInterval
	fcnt     frameCounter
}

// New checks opts and returns an Ingester; it does not connect yet.
func New(store Store, devices Devices, opts Options) (*Ingester, error) {
	if store == nil || devices == nil {
		return nil, errors.New("ingest: store and devices are required")
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("ingest: metrics: %w", err)
	}
	in := &Ingester{
		store:    store,
		devices:  devices,
		opts:     opts,
		log:      opts.Logger.With("component", "ingest"),
		logLimit: loglimit.New(logInterval, nil),
		m:        m,
		in:       make(chan message, opts.MaxInflight),
	}
	in.storeOK.Store(true)
	if opts.Broker != "" {
		in.broker = newSource(sourceConfig{name: "broker", url: opts.Broker, clientID: opts.ClientID,
			username: opts.Username, password: opts.Password, subscriptions: in.subscriptions()},
			in.onMessage, in.log, in.logLimit, opts.Now, m.connected.WithLabelValues("broker"))
	}
	if t := opts.TTS; t.Broker != "" {
		// The Things Stack's MQTT server serves QoS 0 only, so there is no
		// session to resume: a clean one, and nothing to acknowledge.
		in.tts = newSource(sourceConfig{name: "tts", url: t.Broker, clientID: t.ClientID, username: t.Username,
			password: t.Password, clean: true, subscriptions: map[string]byte{t.topic(): 0}},
			in.onMessage, in.log, in.logLimit, opts.Now, m.connected.WithLabelValues("tts"))
	}
	return in, nil
}

func (o *Options) validate() error {
	if o.Broker != "" && o.ClientID == "" {
		return kessel.Errorf(kessel.EINVALID, "ingest: an MQTT client id is required for the persistent session")
	}
	if strings.ContainsAny(o.SharedGroup, "/+#") {
		return kessel.Errorf(kessel.EINVALID, "ingest: shared group %q must not contain '/', '+' or '#'", o.SharedGroup)
	}
	if o.TTS.Broker != "" {
		if o.TTS.ClientID == "" {
			return kessel.Errorf(kessel.EINVALID, "ingest: a client id is required for the TTS connection")
		}
		if strings.ContainsAny(o.TTS.Username, "/+#") {
			return kessel.Errorf(kessel.EINVALID, "ingest: TTS username %q must not contain '/', '+' or '#'", o.TTS.Username)
		}
	}
	return nil
}

// Held is the most messages an Ingester with these options holds
// unacknowledged: its queue and the batches being decoded, waiting and
// written. A broker that stops delivering at a limit of unacknowledged
// messages must allow more than this: JetStream's pull consumer, held at
// its MaxAckPending, stopped for 30 s ("no heartbeat received").
func (o Options) Held() int {
	o.ensureDefaults()
	return o.MaxInflight + (writers+2)*o.BatchSize
}

func (o *Options) ensureDefaults() {
	if o.MaxInflight <= 0 {
		o.MaxInflight = 20000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Limits.ensureDefaults()
}

// Behind reports whether messages are arriving faster than they are
// stored: at least a batch (Options.BatchSize) received and not yet
// acknowledged. At the steady rate of a city (10,000 readings/s) a
// hundred milliseconds' worth is held; draining a queue that built up
// while Kessel or InfluxDB was down holds the broker's whole window.
// Background work (the bulk archive) waits while it is true.
func (in *Ingester) Behind() bool { return in.m.inflight.value() >= int64(in.opts.BatchSize) }

// Ready reports an EUNAVAILABLE error while the ingester is not connected to
// its broker or cannot write to the store. The TTS connection is not part of
// readiness (a third party's outage must not take Kessel out of a load
// balancer); see TTSReady and the kessel_ingest_connected metric.
func (in *Ingester) Ready(context.Context) error {
	if !in.running.Load() || (in.broker != nil && !in.broker.connected.Load()) {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to the MQTT broker"}
	}
	if !in.storeOK.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "store writes are failing; messages are held unacknowledged"}
	}
	return nil
}

// TTSReady reports an EUNAVAILABLE error while a configured connection to
// The Things Stack is down; nil without one.
func (in *Ingester) TTSReady(context.Context) error {
	if in.tts != nil && !in.tts.connected.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to The Things Stack at " + in.opts.TTS.Broker}
	}
	return nil
}

func (in *Ingester) subscriptions() map[string]byte {
	readings, tts := TopicReadings, TopicTTS
	if g := in.opts.SharedGroup; g != "" {
		readings = "$share/" + g + "/" + readings
		tts = "$share/" + g + "/" + tts
	}
	// Every ingester needs every device description, so meta is never shared.
	return map[string]byte{readings: 1, tts: 1, TopicMeta: 1}
}

func (in *Ingester) sources() []*source {
	var srcs []*source
	for _, s := range []*source{in.broker, in.tts} {
		if s != nil {
			srcs = append(srcs, s)
		}
	}
	return srcs
}

const drainTimeout = 10 * time.Second

// Run stores messages until ctx ends. With a Broker it connects,
// subscribes (again on every reconnect) and consumes; without one it stores
// what Enqueue hands it. With a TTS server it also reads uplinks from
// there. When ctx ends it stops taking messages, stores and acknowledges
// those it already holds (within drainTimeout) and disconnects; MQTT
// messages it did not store stay unacknowledged, so the broker redelivers
// them. It returns once every goroutine it started has ended.
func (in *Ingester) Run(ctx context.Context) error {
	in.running.Store(true)
	defer in.running.Store(false)
	for _, s := range in.sources() {
		s.start(ctx)
	}
	processCtx, stopProcessing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopProcessing()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		in.loop(ctx, processCtx)
	}()
	<-ctx.Done()
	in.closing.Store(true)
	// Give the loop time to store and acknowledge what it holds, then stop retrying.
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		in.log.Warn("drain timed out; unstored messages stay unacknowledged for redelivery")
		stopProcessing()
		<-drained
	}
	for _, s := range in.sources() {
		s.close()
	}
	return nil
}

// Publish sends a message over the ingester's own connection to the
// external broker: alerts at QoS 1, which returns once the broker
// acknowledged it; the SensorThings feed at QoS 0, which returns once it
// is written. EUNAVAILABLE when not connected.
func (in *Ingester) Publish(ctx context.Context, topic string, payload []byte, retain bool, qos byte) error {
	if in.broker == nil || !in.broker.connected.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to the MQTT broker"}
	}
	t := in.broker.client.Publish(topic, min(qos, 1), retain, payload)
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logInterval is how often at most one sort of rejection or reconnect is
// logged; the metrics count every one.
const logInterval = 10 * time.Second
