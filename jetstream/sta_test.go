package jetstream_test

import (
	"context"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/jetstream"
)

// TestSTAReceive: the SensorThings MQTT receive extension on the embedded
// broker. An anonymous client reads public Datastreams only, a device
// login none, a service login all; nobody but Kessel publishes on v1.1/;
// an internal Datastream that was offered to anonymous clients is
// withheld.
func TestSTAReceive(t *testing.T) {
	public, secret, turned := kessel.STAObservationsTopic("air-1", "pm10"), kessel.STAObservationsTopic("secret-1", "pm10"), kessel.STAObservationsTopic("air-2", "pm10")
	b, reg := start(t, jetstream.Options{Anonymous: true, STAPublic: func() []string { return []string{public, turned} }, Users: []jetstream.User{
		{Username: "air-1", PasswordHash: hash(t, "device-secret"), Role: jetstream.RoleDevice},
		{Username: "ops", PasswordHash: hash(t, "service-secret"), Role: jetstream.RoleService},
	}})
	var anonIn, opsIn inbox
	anon, err := dial(t, b.URL(), "", "", "reader", anonIn.handle)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := dial(t, b.URL(), "air-1", "device-secret", "air-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := dial(t, b.URL(), "ops", "service-secret", "ops", opsIn.handle)
	if err != nil {
		t.Fatal(err)
	}
	subacks := []struct {
		name   string
		c      mqtt.Client
		filter string
		want   byte
	}{
		{"anonymous: a public Datastream", anon, public, 0},
		{"anonymous: an internal Datastream", anon, secret, 0x80},
		{"anonymous: every Datastream by wildcard", anon, "v1.1/+/Observations", 0x80},
		{"device: a public Datastream", dev, public, 0x80},
		{"service: a public Datastream", ops, public, 0},
		{"service: an internal Datastream", ops, secret, 0},
		{"service: a Datastream that turns internal", ops, turned, 0},
	}
	for _, tc := range subacks {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.c.Subscribe(tc.filter, 0, nil)
			if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			if got := tok.(*mqtt.SubscribeToken).Result()[tc.filter]; got != tc.want {
				t.Fatalf("SUBACK %#x, want %#x", got, tc.want)
			}
		})
	}
	ctx := context.Background()
	for _, p := range []struct {
		topic  string
		public bool
	}{{secret, false}, {turned, false}, {public, true}} {
		if err := b.PublishSTA(ctx, p.topic, []byte(`{"result":1}`), p.public); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the anonymous client to read the public observation", func() bool { return anonIn.has(public) })
	eventually(t, "the service login to read public and internal", func() bool { return opsIn.has(public) && opsIn.has(secret) })
	if anonIn.has(secret) || opsIn.has(turned) {
		t.Fatalf("anonymous read %v; service read the withheld one: %v", anonIn.has(secret), opsIn.has(turned))
	}
	if got := counter(t, reg, "kessel_broker_sta_withheld_total"); got != 1 {
		t.Fatalf("withheld: %v, want 1", got)
	}
	if err := b.PublishSTA(ctx, "v1.1/Things", nil, true); kessel.ErrorCode(err) != kessel.EINVALID {
		t.Fatalf("publish on a topic that is no Datastream's: %v", err)
	}
	publish(t, anon, public, `{"result":666}`)
	publish(t, dev, public, `{"result":666}`)
	eventually(t, "both publishes on v1.1/ denied", func() bool { return counter(t, reg, "kessel_broker_publishes_denied_total") == 2 })
}
