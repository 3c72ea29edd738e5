package jetstream

import (
	"context"
	"fmt"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
)

// The SensorThings MQTT receive extension on this broker. Kessel publishes
// each new Observation on kessel.STAObservationsTopic (PublishSTA); nobody
// else may publish under kessel.STATopicPrefix. Service logins read every
// Datastream (they are the MQTT side of data:internal), as do anonymous
// clients on loopback in development mode; device logins read none.
//
// An anonymous client elsewhere reads public Datastreams only. The
// listener fixes a client's permissions when it connects, so such a
// client may subscribe to the topics of the Datastreams public at that
// moment (a Datastream that appears later needs a new connection), and an
// internal Datastream that was ever offered to such a client (it was
// public when one connected) is withheld from MQTT (still in the REST
// API) until Kessel restarts: it is never published where a client that
// may read public data only could have subscribed.
type staGate struct {
	// public returns the topics of the public Datastreams now; nil means
	// none.
	public   func() []string
	withheld prometheus.Counter
	mu       sync.Mutex
	offered  map[string]bool // topics ever allowed to an anonymous client
}

func newSTAGate(public func() []string, reg prometheus.Registerer) (*staGate, error) {
	g := &staGate{public: public, offered: map[string]bool{},
		withheld: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_broker_sta_withheld_total",
			Help: "SensorThings observations of internal Datastreams not published over MQTT because the Datastream had been public while an anonymous client connected (see README, SensorThings MQTT)."})}
	if reg != nil {
		if err := reg.Register(g.withheld); err != nil {
			return nil, fmt.Errorf("jetstream: metrics: %w", err)
		}
	}
	return g, nil
}

// allow returns the subjects an anonymous client may subscribe to for
// SensorThings, noting them as offered.
func (g *staGate) allow() []string {
	if g.public == nil {
		return nil
	}
	topics := g.public()
	out := make([]string, 0, len(topics))
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range topics {
		if _, ok := kessel.STATopicDevice(t); ok {
			g.offered[t] = true
			out = append(out, Subject(t))
		}
	}
	return out
}

func (g *staGate) wasOffered(topic string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.offered[topic]
}

// noSTAPublish keeps a client from publishing under kessel.STATopicPrefix.
var noSTAPublish = []string{Subject(kessel.STATopicPrefix + "#")}

// withoutSTAPublish adds the deny of SensorThings topics to p's publish
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
// internal Datastream that anonymous clients may have been allowed to
// read is not published (counted in kessel_broker_sta_withheld_total).
func (b *Broker) PublishSTA(ctx context.Context, topic string, payload []byte, public bool) error {
	if _, ok := kessel.STATopicDevice(topic); !ok {
		return kessel.Errorf(kessel.EINVALID, "jetstream: %q is not a SensorThings observations topic", topic)
	}
	if !public && b.sta.wasOffered(topic) {
		b.sta.withheld.Inc()
		return nil
	}
	msg := &nats.Msg{Subject: Subject(topic), Data: payload, Header: nats.Header{mqttPubHeader: []string{"0"}}}
	if err := b.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("jetstream: publish %s: %w", topic, err)
	}
	return nil
}
