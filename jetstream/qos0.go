package jetstream

// QoS 0 device messages. The server's MQTT listener hands every PUBLISH,
// whatever its QoS, to NATS as a core message on the topic's subject
// with the header Nmqtt-Pub: <QoS>, once the login's publish permissions
// allowed it (a refused one goes nowhere and is logged, which
// kessel_broker_publishes_denied_total counts); only QoS 1 and 2 messages
// are then also stored in $MQTT_msgs (nats-server, mqttInitiateMsgDelivery
// in server/mqtt.go). Kessel reads QoS 1 and 2 from the stream and QoS 0
// from the core subjects, where it takes only the messages whose header
// says QoS 0: no message is ingested on both paths. A core message
// without the header (a NATS client's, not an MQTT device's) is not
// ingested.

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/internal/loglimit"
)

// qos0Filters hold every topic ingest reads (Match decides which it
// takes): device readings and self-descriptions, and The Things Stack
// uplinks.
var qos0Filters = []string{kessel.DeviceTopicPrefix + "#", "v3/+/devices/+/up"}

// subscribeQoS0 calls handle, on the subscription's goroutine, with each
// QoS 0 message on a topic Match accepts; in queue group queue unless it
// is empty (one member of the group gets each message).
func (b *Broker) subscribeQoS0(queue string, handle func(topic string, msg *nats.Msg)) ([]*nats.Subscription, error) {
	cb := func(msg *nats.Msg) {
		if msg.Header.Get(mqttPubHeader) != "0" {
			return // QoS 1 or 2: read from $MQTT_msgs
		}
		if topic := Topic(msg.Subject); b.opts.Match(topic) {
			handle(topic, msg)
		}
	}
	var subs []*nats.Subscription
	for _, f := range qos0Filters {
		sub, err := b.nc.QueueSubscribe(Subject(f), queue, cb)
		if err != nil {
			for _, s := range subs {
				_ = s.Unsubscribe()
			}
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

// qos0Intake hands the QoS 0 device messages to whoever takes them
// (ConsumeQoS0, routeQoS0) and counts what becomes of them.
type qos0Intake struct {
	ingested, full, notConsuming, slow, routeFailed prometheus.Counter

	mu sync.RWMutex
	// take is called with each message under mu's read lock, so that
	// setting it waits for the calls under way; nil: nobody consumes.
	take func(topic string, msg *nats.Msg)
	// subs are the subscriptions and the slow-consumer drops counted so
	// far on each.
	subs    map[*nats.Subscription]int
	log     *slog.Logger
	limiter *loglimit.Limiter
}

func newQoS0Intake(m *metrics, log *slog.Logger, now func() time.Time) *qos0Intake {
	c := func(result, reason string) prometheus.Counter { return m.qos0.WithLabelValues(result, reason) }
	return &qos0Intake{ingested: c("ingested", ""), full: c("dropped", "queue_full"), notConsuming: c("dropped", "not_consuming"),
		slow: c("dropped", "slow_consumer"), routeFailed: c("dropped", "route_failed"),
		subs: map[*nats.Subscription]int{}, log: log, limiter: loglimit.New(logEvery, now)}
}

// subscribe starts the intake's subscriptions (see subscribeQoS0).
func (q *qos0Intake) subscribe(b *Broker, queue string) error {
	subs, err := b.subscribeQoS0(queue, q.handle)
	if err != nil {
		return err
	}
	q.mu.Lock()
	for _, s := range subs {
		q.subs[s] = 0
	}
	q.mu.Unlock()
	return nil
}

// unsubscribe ends the subscriptions; take is set to nil.
func (q *qos0Intake) unsubscribe() {
	q.set(nil)
	q.mu.Lock()
	defer q.mu.Unlock()
	for s := range q.subs {
		_ = s.Unsubscribe()
	}
	clear(q.subs)
}

func (q *qos0Intake) handle(topic string, msg *nats.Msg) {
	q.mu.RLock()
	take := q.take
	if take != nil {
		take(topic, msg)
	}
	q.mu.RUnlock()
	if take == nil {
		q.drop(q.notConsuming, topic, "ingest is not running")
	}
}

// set makes take the taker, once the calls of the previous one ended.
func (q *qos0Intake) set(take func(topic string, msg *nats.Msg)) {
	q.mu.Lock()
	q.take = take
	q.mu.Unlock()
}

// drop counts a dropped message in c and logs it (at most once a minute).
func (q *qos0Intake) drop(c prometheus.Counter, topic, why string) {
	c.Inc()
	if ok, held := q.limiter.Allow(); ok {
		q.log.Warn("dropped a QoS 0 device message: "+why, "topic", topic, "not_logged_since_last", held)
	}
}

// slowConsumer counts what the client library dropped on sub since the
// last call, if sub is one of the intake's.
func (q *qos0Intake) slowConsumer(sub *nats.Subscription) {
	q.mu.Lock()
	defer q.mu.Unlock()
	counted, ok := q.subs[sub]
	if !ok {
		return
	}
	if n, err := sub.Dropped(); err == nil && n > counted {
		q.slow.Add(float64(n - counted))
		q.subs[sub] = n
		if ok, held := q.limiter.Allow(); ok {
			q.log.Warn("dropped QoS 0 device messages: Kessel did not keep up with them", "subject", sub.Subject, "not_logged_since_last", held)
		}
	}
}

// asyncError is the connection's handler of asynchronous errors.
func (b *Broker) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrSlowConsumer) && sub != nil {
		if q := b.qos0.Load(); q != nil {
			q.slowConsumer(sub)
		}
		return
	}
	b.log.Debug("NATS connection error", "err", err)
}

// ConsumeQoS0 hands take the embedded broker's QoS 0 device messages
// whose topic Options.Match accepts until ctx ends: at most once (nothing
// stores them before, nothing delivers them again), through the same
// permissions as QoS 1 (the broker drops what a login may not publish).
// take must not block: it returns false when it cannot take the message
// (ingest's queue is full), which is then dropped and counted, as are
// the messages that arrive while no ConsumeQoS0 runs. The broker listens
// for them from Start on. In a cluster (ConnectCluster), ConsumeCluster
// handles QoS 0 messages itself and ConsumeQoS0 returns an error. One
// ConsumeQoS0 at a time.
func (b *Broker) ConsumeQoS0(ctx context.Context, take func(topic string, payload []byte) bool) error {
	q := b.qos0.Load()
	if b.cluster != nil || q == nil {
		return errors.New("jetstream: ConsumeQoS0 is for the embedded broker; ConsumeCluster takes a cluster's QoS 0 messages")
	}
	q.set(func(topic string, msg *nats.Msg) {
		if take(topic, msg.Data) {
			q.ingested.Inc()
		} else {
			q.drop(q.full, topic, "ingest's queue is full")
		}
	})
	<-ctx.Done()
	q.set(nil)
	return nil
}
