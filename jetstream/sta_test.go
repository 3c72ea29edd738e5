package jetstream_test

import (
	"context"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/jetstream"
)

// TestSTAReceive: the SensorThings MQTT receive extension on the embedded
// broker. A device login reads no Datastream, a service login every one;
// where anonymous clients may read, Kessel publishes public Datastreams
// only; nobody but Kessel publishes under v1.1/.
func TestSTAReceive(t *testing.T) {
	public, secret := kessel.STAObservationsTopic("air-1", "pm10"), kessel.STAObservationsTopic("secret-1", "pm10")
	all := "v1.1/+/Observations"
	for _, tc := range []struct {
		name      string
		anonymous bool
		svcWants  []string // what the service login receives
		withheld  float64
	}{
		{"anonymous clients too: internal Datastreams withheld", true, []string{public}, 1},
		{"logins only: every Datastream", false, []string{secret, public}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, reg := start(t, jetstream.Options{Anonymous: tc.anonymous, Users: []jetstream.User{
				{Username: "air-1", PasswordHash: hash(t, "device-secret"), Role: jetstream.RoleDevice},
				{Username: "ops", PasswordHash: hash(t, "service-secret"), Role: jetstream.RoleService},
			}})
			var anonIn, opsIn inbox
			var anon mqtt.Client
			if tc.anonymous {
				var err error
				if anon, err = dial(t, b.URL(), "", "", "reader", anonIn.handle); err != nil {
					t.Fatal(err)
				}
				staSuback(t, anon, all, 0)
			}
			dev, err := dial(t, b.URL(), "air-1", "device-secret", "air-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			ops, err := dial(t, b.URL(), "ops", "service-secret", "ops", opsIn.handle)
			if err != nil {
				t.Fatal(err)
			}
			staSuback(t, dev, public, 0x80)
			staSuback(t, ops, all, 0)
			ctx := context.Background()
			for _, p := range []struct {
				topic  string
				public bool
			}{{secret, false}, {public, true}} {
				if err := b.PublishSTA(ctx, p.topic, []byte(`{"result":1}`), p.public); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "the service login to read the public observation", func() bool { return opsIn.has(public) })
			if opsIn.has(secret) != (len(tc.svcWants) == 2) || anonIn.has(secret) {
				t.Fatalf("internal observation read by the service login: %v, by an anonymous client: %v", opsIn.has(secret), anonIn.has(secret))
			}
			if tc.anonymous {
				eventually(t, "the anonymous client to read the public observation", func() bool { return anonIn.has(public) })
			}
			if got := counter(t, reg, "kessel_broker_sta_withheld_total"); got != tc.withheld {
				t.Fatalf("withheld: %v, want %v", got, tc.withheld)
			}
			if err := b.PublishSTA(ctx, "v1.1/Things", nil, true); kessel.ErrorCode(err) != kessel.EINVALID {
				t.Fatalf("publish on a topic that is no Datastream's: %v", err)
			}
			publish(t, dev, public, `{"result":666}`)
			if tc.anonymous {
				publish(t, anon, public, `{"result":666}`)
			}
			want := map[bool]float64{true: 2, false: 1}[tc.anonymous]
			eventually(t, "publishes on v1.1/ denied", func() bool { return counter(t, reg, "kessel_broker_publishes_denied_total") == want })
		})
	}
}

func staSuback(t *testing.T, c mqtt.Client, filter string, want byte) {
	t.Helper()
	tok := c.Subscribe(filter, 0, nil)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if got := tok.(*mqtt.SubscribeToken).Result()[filter]; got != want {
		t.Fatalf("SUBACK for %s: %#x, want %#x", filter, got, want)
	}
}

// TestSTAReceiveCluster: on an external NATS cluster, whose permissions
// the operator sets, Kessel publishes public Datastreams' observations
// only.
func TestSTAReceiveCluster(t *testing.T) {
	natsURL, mqttURL := natsServer(t)
	b := joinCluster(t, natsURL, "replica")
	var in inbox
	c, err := dial(t, mqttURL, "", "", "sta-watch", in.handle)
	if err != nil {
		t.Fatal(err)
	}
	staSuback(t, c, "v1.1/+/Observations", 0)
	public, secret := kessel.STAObservationsTopic("air-1", "pm10"), kessel.STAObservationsTopic("secret-1", "pm10")
	ctx := context.Background()
	if err := b.PublishSTA(ctx, secret, []byte(`{}`), false); err != nil {
		t.Fatal(err)
	}
	if err := b.PublishSTA(ctx, public, []byte(`{}`), true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the public observation", func() bool { return in.has(public) })
	if in.has(secret) {
		t.Fatal("an internal Datastream's observation was published on the cluster")
	}
}

// TestSTAInterest: the feed renders an Observation only when an MQTT
// client of the embedded broker subscribes to its topic, by name or
// with a wildcard, at QoS 0 or 1.
func TestSTAInterest(t *testing.T) {
	pm10, no2 := kessel.STAObservationsTopic("air-1", "pm10"), kessel.STAObservationsTopic("air-1", "no2")
	for _, tc := range []struct {
		name     string
		filter   string
		qos      byte
		pm10, no bool // interest in pm10's topic, and in no2's
	}{
		{"every Datastream", "v1.1/+/Observations", 0, true, true},
		{"one Datastream", pm10, 0, true, false},
		{"one Datastream at QoS 1", pm10, 1, true, false},
		{"all of v1.1", "v1.1/#", 1, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := start(t, jetstream.Options{Anonymous: true})
			if b.STAInterest(pm10) || b.STAInterest(no2) {
				t.Fatal("interest before anybody subscribed")
			}
			c, err := dial(t, b.URL(), "", "", "reader", func(mqtt.Client, mqtt.Message) {})
			if err != nil {
				t.Fatal(err)
			}
			if tok := c.Subscribe(tc.filter, tc.qos, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("subscribe %s: %v", tc.filter, tok.Error())
			}
			eventually(t, "interest in pm10's topic", func() bool { return b.STAInterest(pm10) == tc.pm10 })
			if got := b.STAInterest(no2); got != tc.no {
				t.Fatalf("interest in no2's topic: %v, want %v", got, tc.no)
			}
			if tok := c.Unsubscribe(tc.filter); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("unsubscribe: %v", tok.Error())
			}
			eventually(t, "no interest once unsubscribed", func() bool { return !b.STAInterest(pm10) })
		})
	}
}

// TestSTAListened: whether anyone subscribes to some Datastream's
// Observations: a new subscriber is seen at once, one gone within a
// second; other subscriptions do not count.
func TestSTAListened(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	later := func() { mu.Lock(); now = now.Add(time.Second); mu.Unlock() }
	b, _ := start(t, jetstream.Options{Anonymous: true, Now: clock})
	if b.STAListened() {
		t.Fatal("listened with no client")
	}
	c, err := dial(t, b.URL(), "", "", "reader", nil)
	if err != nil {
		t.Fatal(err)
	}
	staSuback(t, c, "kessel/alerts/#", 0)
	later()
	if b.STAListened() {
		t.Fatal("an alert subscription counted as listening to Observations")
	}
	for _, filter := range []string{kessel.STAObservationsTopic("air-1", "pm10"), "v1.1/+/Observations", "#"} {
		t.Run(filter, func(t *testing.T) {
			staSuback(t, c, filter, 0)
			if !b.STAListened() {
				t.Fatalf("a new subscriber to %s not seen at once", filter)
			}
			if tok := c.Unsubscribe(filter); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			later()
			if b.STAListened() {
				t.Fatalf("still listened after %s was unsubscribed", filter)
			}
		})
	}
}
