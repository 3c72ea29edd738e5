package jetstream

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel/internal/loglimit"
)

// logEvery is how often at most one refusal of a sort is logged; the
// counters count every one.
const logEvery = time.Minute

type metrics struct {
	refused    *prometheus.CounterVec
	denied     prometheus.Counter
	subRefused prometheus.Counter
	redeliver  prometheus.Counter
	qos0       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_broker_connections_refused_total",
			Help: "Connections the embedded broker refused, by reason: credentials (wrong or unknown login), client_id (another device login's client id), mqtt5 (MQTT 5 clients: the listener speaks MQTT 3.1.1), starting (before Kessel's consumer existed)."}, []string{"reason"}),
		denied: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_broker_publishes_denied_total",
			Help: "Publishes the embedded broker dropped because the login may not publish on the topic, at any QoS (the server does not say which); QoS 1 ones were still acknowledged to the client (MQTT 3.1.1 has no way to refuse them)."}),
		subRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_broker_subscriptions_refused_total",
			Help: "Topic filters the embedded broker refused to subscribe a client to (SUBACK 0x80): topics the login may not read."}),
		redeliver: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_broker_redelivered_total",
			Help: "Messages the durable ingest consumer received again during this run (an acknowledgement timed out, or ingest could not take them); writes are idempotent, so they are stored once. What a crashed run held is delivered again at start and logged, not counted here."}),
		qos0: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_broker_qos0_total",
			Help: "Device messages published at QoS 0 (at most once: no store, no redelivery), by result: ingested (handed to ingest; in a NATS cluster, stored in its device's partition), or dropped, by reason: queue_full (ingest holds as many messages as it may, or, in a cluster, the routing queue is full), not_consuming (ingest was not running yet or any more), slow_consumer (the client library's buffer overflowed), route_failed (a cluster did not store it in its partition). Publishes refused for the login's permissions are in kessel_broker_publishes_denied_total."},
			[]string{"result", "reason"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.refused, m.denied, m.subRefused, m.redeliver, m.qos0} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("jetstream: metrics: %w", err)
		}
	}
	return m, nil
}

// serverLog adapts the server's logger to slog, and counts the refusals
// that the server reports only in its log: MQTT 5 connections and
// publishes denied by permissions.
type serverLog struct {
	log     *slog.Logger
	m       *metrics
	mqtt5   *loglimit.Limiter
	denied  *loglimit.Limiter
	verbose bool // pass the server's notices on at info (else debug)
	fatal   atomic.Pointer[string]
	// closing is set once Kessel shuts the server down: work it cuts
	// short (a subscription being set up) is then no failure.
	closing atomic.Bool
}

func (l *serverLog) Noticef(format string, v ...any) {
	level := slog.LevelDebug
	if l.verbose {
		level = slog.LevelInfo
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (l *serverLog) Warnf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }

// Fatalf records why the server could not go on (a taken port); Start
// returns it.
func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.fatal.Store(&msg)
	l.log.Error(msg)
}

func (l *serverLog) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

func (l *serverLog) Tracef(format string, v ...any) {}

func (l *serverLog) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	switch {
	case strings.Contains(msg, "unacceptable protocol version"):
		l.m.refused.WithLabelValues("mqtt5").Inc()
		if ok, held := l.mqtt5.Allow(); ok {
			l.log.Warn("refused an MQTT 5 (or older 3.1) client: the embedded broker speaks MQTT 3.1.1 only; connect the device with MQTT 3.1.1, or run with --mqtt-broker mochi",
				"server", msg, "not_logged_since_last", held)
		}
	case strings.Contains(msg, "Publish Violation"):
		l.m.denied.Inc()
		if ok, held := l.denied.Allow(); ok {
			l.log.Warn("dropped a publish the login may not make (a QoS 1 one was still acknowledged)", "server", msg, "not_logged_since_last", held)
		}
	case strings.Contains(msg, "Subscription Violation"):
		l.m.subRefused.Inc()
		l.log.Debug(msg)
	case strings.Contains(msg, "Authorization Error"):
		l.log.Debug(msg) // counted where they are decided
	case l.closing.Load():
		l.log.Warn("while shutting down: " + msg)
	default:
		l.log.Error(msg)
	}
}
