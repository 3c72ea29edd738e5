package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kessel-city/kessel/alert"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/archive"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/evidence"
	"github.com/kessel-city/kessel/geo"
	"github.com/kessel-city/kessel/influx"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/jetstream"
	"github.com/kessel-city/kessel/registry"
)

// serve runs the hub: it turns flags, environment and config file into one
// config, then starts the components in order and, when ctx ends or one
// of them fails, stops them in reverse.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := newConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	a := &app{cfg: c, getenv: getenv, stdout: stdout, log: newLogger(c, stderr), prom: prometheus.NewRegistry(), errc: make(chan error, 1)}
	a.prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return a.run(ctx, []component{
		{"pprof", a.startProfile},
		{"jetstream", a.startJetStream}, // beside the next ones; closed after ingest drained
		{"districts", a.loadDistricts},
		{"influxdb", a.startStore},
		{"registry", a.startRegistry},
		{"restore", a.startRestore},
		{"alerts", a.startAlerts},
		{"evidence", a.startEvidence},         // after the alerts, whose journal it reads
		{"jetstream-ready", a.awaitJetStream}, // before ingest
		{"nats", a.startNATS},                 // the same, in an external NATS cluster (--nats)
		{"sta", a.startSTA},                   // SensorThings over MQTT: stopped after ingest, before the broker
		{"ingest", a.startIngest},
		{"consume", a.startConsume}, // stops pulling before ingest drains
		{"rollup", a.startRollup},
		{"broker", a.startBroker},
		{"follower", a.startFollower},
		{"usage", a.startUsage},
		{"archive", a.startArchive},
		{"http", a.startHTTP},
	})
}

// app holds what the components of a running hub share. Each start
// function fills in its part and returns how to stop it.
type app struct {
	cfg    config
	getenv func(string) string
	stdout io.Writer
	log    *slog.Logger
	prom   *prometheus.Registry
	// errc receives the first failure of a running part.
	errc chan error

	districts *geo.Districts
	store     *influx.Client
	reg       *registry.Registry
	engine    *alert.Engine
	evidence  *evidence.Service
	ingester  *ingest.Ingester
	// ingestCtx is the context the embedded broker delivers to ingest with.
	ingestCtx context.Context
	broker    *broker.Broker
	// js is the default embedded broker (NATS JetStream).
	js *jetstream.Broker
	// awaitJS returns the embedded broker startJetStream started.
	awaitJS func() (*jetstream.Broker, error)
	// brokerURL is where the hub's MQTT broker is (the embedded one's URL,
	// or --mqtt-broker).
	brokerURL string
	// publishAlert publishes an alert transition over MQTT once a broker
	// connection exists.
	publishAlert atomic.Pointer[func(ctx context.Context, topic string, payload []byte) error]
	usage        *api.Usage
	archive      *archive.Archive
	// sta publishes stored readings' SensorThings Observations over MQTT
	// with publishSTA, once a broker connection exists.
	sta        *staFeed
	publishSTA atomic.Pointer[func(ctx context.Context, m api.STAMessage) error]
	// staInterest says whether an Observation would have a subscriber.
	staInterest atomic.Pointer[staInterest]
	// ready lists what /readyz checks.
	ready []api.Check
}

// component is one part of the hub. start returns the part's stop (nil if
// there is nothing to stop, e.g. for a role this instance does not run);
// stop gets a context that bounds the whole shutdown.
type component struct {
	name  string
	start func(ctx context.Context) (stop func(ctx context.Context), err error)
}

// shutdownTimeout bounds the whole shutdown (HTTP drain, ingest drain,
// final writes).
const shutdownTimeout = 15 * time.Second

// run starts the components in order, waits until ctx ends or a part
// fails, and then stops the started components in reverse order.
func (a *app) run(ctx context.Context, components []component) error {
	type started struct {
		name string
		stop func(context.Context)
	}
	var stops []started
	shutdown := func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i].stop(ctx)
			a.log.Debug("stopped", "component", stops[i].name)
		}
	}
	for _, c := range components {
		t0 := time.Now()
		stop, err := c.start(ctx)
		a.log.Debug("started", "component", c.name, "took", time.Since(t0))
		if err != nil {
			shutdown()
			return err
		}
		if stop != nil {
			stops = append(stops, started{c.name, stop})
		}
	}
	var runErr error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
	case runErr = <-a.errc:
		a.log.Error("stopping after failure", "err", runErr)
	}
	shutdown()
	a.log.Info("stopped")
	return runErr
}

// fail reports the failure of a running part; the first one stops the hub.
func (a *app) fail(err error) {
	select {
	case a.errc <- err:
	default:
	}
}

// background runs fn in a goroutine and returns a wait for its end: the
// component that calls it owns the goroutine and waits in its stop.
func background(fn func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	return func() { <-done }
}

// detach returns a context for a long-lived part: the signal that ends ctx
// does not end it, only its own cancel, so that parts stop in order.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(context.WithoutCancel(ctx))
}

// timeout runs fn with a context derived from ctx that ends after d.
func timeout(ctx context.Context, d time.Duration, fn func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	fn(ctx)
}

// announce prints where the hub serves, once HTTP listens.
func (a *app) announce(addr string) {
	fmt.Fprintf(a.stdout, "kessel %s serving: API http://%s/api/v1/devices  metrics http://%s/metrics  MQTT %s\n", version, addr, addr, a.brokerURL)
}
