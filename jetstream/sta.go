package jetstream

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
)

// The SensorThings MQTT receive extension on this broker. Kessel publishes
// each new Observation on kessel.STAObservationsTopic (PublishSTA); nobody
// else may publish under kessel.STATopicPrefix. Service logins may
// subscribe to every Datastream (they are the MQTT side of
// data:internal), as may anonymous clients on loopback in development
// mode; device logins to none.
//
// The listener fixes a client's permissions when it connects and cannot
// follow a device's visibility, which the registry may change at any
// time (and a list of the public Datastreams' topics would cost each
// connection about 1 KiB per topic, measured). So where anonymous clients
// other than the development tools may connect (Anonymous with Users),
// they may subscribe to any Datastream's topic, and Kessel publishes the
// Observations of public Datastreams only: internal ones are withheld
// from MQTT (counted; the REST API has them, the mochi broker checks each
// delivery instead). Without anonymous clients every Observation is
// published.
type staGate struct {
	publicOnly bool
	withheld   prometheus.Counter
}

func newSTAGate(publicOnly bool, reg prometheus.Registerer) (*staGate, error) {
	g := &staGate{publicOnly: publicOnly,
		withheld: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_broker_sta_withheld_total",
			Help: "SensorThings observations of internal Datastreams not published over MQTT because anonymous clients may read every Datastream topic (see README, SensorThings)."})}
	if reg != nil {
		if err := reg.Register(g.withheld); err != nil {
			return nil, fmt.Errorf("jetstream: metrics: %w", err)
		}
	}
	return g, nil
}

// staRead is what an anonymous client may subscribe to for SensorThings.
var staRead = []string{Subject(kessel.STATopicPrefix + "+/Observations")}

// noSTAPublish keeps a client from publishing under kessel.STATopicPrefix.
// noSTAPublish are Kessel's own topics, which no anonymous client may
// publish on: the SensorThings Observations and the alert transitions
// (a spoofed Feinstaubalarm on kessel/alerts/public/… would reach every
// citizen's app).
var noSTAPublish = []string{
	Subject(kessel.STATopicPrefix + "#"),
	Subject(kessel.AlertTopicPrefix + "#"), Subject(strings.TrimSuffix(kessel.AlertTopicPrefix, "/")),
}

// withoutSTAPublish adds the deny of Kessel's own topics to p's publish
// permissions (nil p: everything else allowed).
func withoutSTAPublish(p *server.Permissions) *server.Permissions {
	if p == nil {
		p = &server.Permissions{}
	}
	if p.Publish == nil {
		p.Publish = &server.SubjectPermission{}
	}
	p.Publish.Deny = append(p.Publish.Deny, noSTAPublish...)
	return p
}

// PublishSTA publishes one SensorThings Observation (its JSON entity) on
// topic, kessel.STAObservationsTopic of its Datastream, at QoS 0 to the
// subscribers online; public says whether the Datastream is public. An
// internal one is not published while anonymous clients may read every
// Datastream topic (counted in kessel_broker_sta_withheld_total), and
// never on an external cluster (ConnectCluster), whose permissions the
// operator configures. A topic that is not a Datastream's Observations is
// EINVALID.
func (b *Broker) PublishSTA(ctx context.Context, topic string, payload []byte, public bool) error {
	if _, ok := kessel.STATopicDevice(topic); !ok {
		return kessel.Errorf(kessel.EINVALID, "jetstream: %q is not a SensorThings observations topic", topic)
	}
	if !public && (b.sta == nil || b.sta.publicOnly) { // an external cluster's readers are not Kessel's to authorise
		if b.sta != nil {
			b.sta.withheld.Inc()
		}
		return nil
	}
	msg := &nats.Msg{Subject: Subject(topic), Data: payload, Header: nats.Header{mqttPubHeader: []string{"0"}}}
	if err := b.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("jetstream: publish %s: %w", topic, err)
	}
	return nil
}

// staListenedFor is how long STAListened's answer is kept.
const staListenedFor = time.Second

// staListened is STAListened's last answer, when it was found and how
// many subscriptions the account had then.
type staListened struct {
	at   time.Time
	subs int
	any  bool
}

// STAListened reports whether any client of the embedded server
// subscribes to a filter that some Datastream's Observations topic
// matches (one Datastream, all of them, or "#"). The answer is kept for
// staListenedFor while the number of subscriptions stays the same, so a
// new subscriber is seen at once (unless another client unsubscribed in
// the same second: then within that second). With nobody listening,
// ingest renders no Observation at all (measured: 6 % of Kessel's CPU in
// a drain, asking the broker about each Datastream). On an external
// cluster it is always true. Safe for concurrent use.
func (b *Broker) STAListened() bool {
	if b.srv == nil {
		return true
	}
	now, subs := b.opts.Now(), b.srv.GlobalAccount().TotalSubs()
	if l := b.staListened.Load(); l != nil && l.subs == subs && now.Sub(l.at) < staListenedFor && !now.Before(l.at) {
		return l.any
	}
	any := b.staSubscribed()
	b.staListened.Store(&staListened{at: now, subs: subs, any: any})
	return any
}

// staSubscribed walks the subscriptions of the clients' account.
func (b *Broker) staSubscribed() bool {
	sz, err := b.srv.Subsz(&server.SubszOptions{Subscriptions: true, Limit: math.MaxInt32, Account: b.srv.GlobalAccount().GetName()})
	if err != nil {
		return true
	}
	for _, sub := range sz.Subs {
		if server.SubjectsCollide(sub.Subject, staRead[0]) {
			return true
		}
	}
	return false
}

// STAInterest reports whether a client of the embedded server subscribes
// to topic (a Datastream's Observations) now, so that an Observation
// nobody would receive is not rendered (PublishSTA sends to online
// subscribers only). On an external cluster (ConnectCluster), whose
// subscribers may be on other servers, it is always true. Safe for
// concurrent use.
func (b *Broker) STAInterest(topic string) bool {
	if b.srv == nil {
		return true
	}
	return b.srv.GlobalAccount().SubscriptionInterest(Subject(topic))
}
