package main

// The SensorThings MQTT receive extension: each stored reading's
// Observations go out on v1.1/Datastreams('device:field')/Observations.

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/registry"
)

// staQueue is how many stored batches may wait to be published; beyond
// it a batch's observations are dropped from MQTT (counted), never
// slowing ingest down.
const staQueue = 256

// staFeed publishes the Observations of stored readings over MQTT.
type staFeed struct {
	base    string
	in      chan []kessel.Reading
	publish *atomic.Pointer[func(ctx context.Context, m api.STAMessage) error]
	// interest, when set, says whether a topic has a subscriber, and
	// listened whether any Datastream has one.
	interest *atomic.Pointer[staInterest]
	sent     *prometheus.CounterVec
}

// The --sta-mqtt modes.
const (
	staAuto = "auto" // every broker but an external MQTT one
	staAll  = "all"  // an external MQTT broker too
	staOff  = "off"
)

// staOn reports whether the feed runs. On an external MQTT broker it
// runs only when asked for (all): Kessel cannot learn who subscribes
// there, and publishing every stored value as an Observation (five per
// reading of an air-quality sensor) took 0.87 of a core at a steady
// 10,000 readings/s in make bench-ingest, against 0.34 without it.
// embedded covers a NATS cluster too (--nats sets the broker to nats).
func (c *config) staOn() bool {
	switch {
	case !c.has("ingest") || c.STAMQTT == staOff:
		return false
	case c.STAMQTT == staAll:
		return true
	}
	return c.embedded()
}

// startSTA runs the feed (role ingest) when staOn. It starts before
// ingest and stops after ingest drained, before the broker closes.
func (a *app) startSTA(ctx context.Context) (func(context.Context), error) {
	if !a.cfg.staOn() {
		return nil, nil
	}
	base := strings.TrimRight(a.cfg.File.Catalog.BaseURL, "/")
	if base == "" {
		base = "http://" + a.cfg.HTTP
	}
	f := &staFeed{base: base, in: make(chan []kessel.Reading, staQueue), publish: &a.publishSTA, interest: &a.staInterest,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_sta_mqtt_observations_total",
			Help: "SensorThings Observations for the MQTT receive extension, by result: published, dropped (the queue was full), failed (the broker refused)."}, []string{"result"})}
	if err := a.prom.Register(f.sent); err != nil {
		return nil, err
	}
	a.sta = f
	runCtx, stop := detach(ctx)
	wait := background(func() { f.run(runCtx, a) })
	return func(ctx context.Context) {
		close(f.in)
		// What is still queued goes out until the shutdown's deadline;
		// then publishing ends (a QoS 1 publish to a broker that went
		// away never completes: shutdown waited for it forever).
		cancelled := context.AfterFunc(ctx, stop)
		wait()
		cancelled()
		stop()
	}, nil
}

func (f *staFeed) run(ctx context.Context, a *app) {
	for rs := range f.in {
		pub := f.publish.Load()
		if pub == nil {
			continue
		}
		var want func(string) bool
		if w := f.interest.Load(); w != nil {
			if !w.listened() {
				continue // nobody would receive one: none is rendered
			}
			want = w.topic
		}
		for _, m := range api.STAObservations(f.base, rs, want) {
			if err := (*pub)(ctx, m); err != nil {
				f.sent.WithLabelValues("failed").Inc()
				a.log.Debug("could not publish a SensorThings observation", "topic", m.Topic, "err", err)
				continue
			}
			f.sent.WithLabelValues("published").Inc()
		}
	}
}

// observed hands stored readings to the feed without waiting.
func (f *staFeed) observed(rs []kessel.Reading) {
	if f.publish.Load() == nil || len(rs) == 0 {
		return
	}
	select {
	case f.in <- append([]kessel.Reading(nil), rs...):
	default:
		n := 0
		for _, r := range rs {
			n += len(r.Values)
		}
		f.sent.WithLabelValues("dropped").Add(float64(n))
	}
}

// setSTAPublisher sets how Observations go out (the broker's part).
func (a *app) setSTAPublisher(pub func(ctx context.Context, m api.STAMessage) error) {
	a.publishSTA.Store(&pub)
}

// staDevices is the registry as ingest sees it: stored readings also go
// to the SensorThings feed.
type staDevices struct {
	*registry.Registry
	feed *staFeed
}

func (d staDevices) Observe(rs []kessel.Reading) {
	d.Registry.Observe(rs)
	d.feed.observed(rs)
}

// ingestDevices is what ingest records stored readings in.
func (a *app) ingestDevices() ingest.Devices {
	if a.sta == nil {
		return a.reg
	}
	return staDevices{a.reg, a.sta}
}

// staInterest is how the feed learns from a broker that knows whether
// anyone subscribes to some Datastream's Observations (listened, asked
// once per batch) and to a given Datastream's (topic).
type staInterest struct {
	listened func() bool
	topic    func(topic string) bool
}

// setSTAInterest sets how the feed learns whether an Observation would
// reach a subscriber (without it every one is rendered and published).
func (a *app) setSTAInterest(listened func() bool, topic func(topic string) bool) {
	a.staInterest.Store(&staInterest{listened, topic})
}
