package jetstream_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/jetstream"
)

// TestDeviceRules: a device connects only with its password and a client
// id of its own, publishes only on its own topics (others are dropped and
// counted), and reads public alerts but not internal ones; a service login
// reads internal alerts, which Kessel publishes from inside the process.
func TestDeviceRules(t *testing.T) {
	b, reg := start(t, jetstream.Options{Users: []jetstream.User{
		{Username: "air-1", PasswordHash: hash(t, "device-secret-1"), Role: jetstream.RoleDevice},
		// The listener refuses client ids with a dot: such a device connects with another of its choosing.
		{Username: "air.9", PasswordHash: hash(t, "device-secret-9"), Role: jetstream.RoleDevice},
		{Username: "air-2", PasswordHash: hash(t, "device-secret-2"), Role: jetstream.RoleDevice},
		{Username: "ops", PasswordHash: hash(t, "service-secret"), Role: jetstream.RoleService},
	}})
	for _, tc := range []struct{ name, user, pw, client, reason string }{
		{"wrong password", "air-1", "nope", "air-1", "credentials"},
		{"unknown user", "air-3", "device-secret-1", "air-3", "credentials"},
		{"anonymous", "", "", "x", "credentials"},
		{"another device's client id", "air-1", "device-secret-1", "air-2", "client_id"},
		{"a service taking a device's client id", "ops", "service-secret", "air-2@ota", "client_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := counter(t, reg, "kessel_broker_connections_refused_total", "reason", tc.reason)
			if _, err := dial(t, b.URL(), tc.user, tc.pw, tc.client, nil); err == nil {
				t.Fatal("connected")
			}
			if got := counter(t, reg, "kessel_broker_connections_refused_total", "reason", tc.reason); got != before+1 {
				t.Fatalf("refusals for %s: %v, want %v", tc.reason, got, before+1)
			}
		})
	}
	var devIn, opsIn inbox
	dev, err := dial(t, b.URL(), "air-1", "device-secret-1", "air-1@main", devIn.handle)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := dial(t, b.URL(), "ops", "service-secret", "ops", opsIn.handle)
	if err != nil {
		t.Fatal(err)
	}
	metaFilter := kessel.DeviceTopicPrefix + "+/meta"
	sub := dev.SubscribeMultiple(map[string]byte{kessel.PublicAlertTopicPrefix + "#": 1, kessel.InternalAlertTopicPrefix + "#": 1, metaFilter: 1}, nil)
	if !sub.WaitTimeout(10*time.Second) || sub.Error() != nil {
		t.Fatal(sub.Error())
	}
	if codes := sub.(*mqtt.SubscribeToken).Result(); codes[kessel.PublicAlertTopicPrefix+"#"] != 1 || codes[kessel.InternalAlertTopicPrefix+"#"] != 0x80 || codes[metaFilter] != 0x80 {
		t.Fatalf("device SUBACKs %v: want public alerts granted at QoS 1, internal alerts and self-descriptions refused", codes)
	}
	if got := counter(t, reg, "kessel_broker_subscriptions_refused_total"); got < 1 {
		t.Fatalf("refused subscriptions counted: %v", got)
	}
	if tok := ops.Subscribe(kessel.AlertTopicPrefix+"#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	publish(t, dev, kessel.ReadingsTopic("air-1"), `{"pm25":1}`)
	if tok := dev.Publish(kessel.MetaTopic("air-1"), 1, true, `{"visibility":"public"}`); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("retained meta: %v", tok.Error())
	}
	dev9, err := dial(t, b.URL(), "air.9", "device-secret-9", "sensor-nine", nil)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, dev9, kessel.ReadingsTopic("air.9"), `{"pm25":9}`)
	publish(t, dev, kessel.ReadingsTopic("air-2"), `{"pm25":666}`) // acknowledged, dropped
	eventually(t, "the refused publish counted", func() bool { return counter(t, reg, "kessel_broker_publishes_denied_total") == 1 })
	got := consume(t, b, 3, func(jetstream.Message) bool { return true })
	if got[0].Topic != kessel.ReadingsTopic("air-1") || got[1].Topic != kessel.MetaTopic("air-1") || got[2].Topic != kessel.ReadingsTopic("air.9") {
		t.Fatalf("consumed %s, %s, %s", got[0].Topic, got[1].Topic, got[2].Topic)
	}
	ctx := context.Background()
	for _, topic := range []string{kessel.PublicAlertTopicPrefix + "frost/air-1", kessel.InternalAlertTopicPrefix + "leak/pump-1"} {
		if err := b.Publish(ctx, topic, []byte(`{}`), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the service login to read both alerts", func() bool {
		return opsIn.has(kessel.PublicAlertTopicPrefix+"frost/air-1") && opsIn.has(kessel.InternalAlertTopicPrefix+"leak/pump-1")
	})
	eventually(t, "the device to read the public alert", func() bool { return devIn.has(kessel.PublicAlertTopicPrefix + "frost/air-1") })
	// A service login that subscribes later gets the retained self-description.
	var lateIn inbox
	late, err := dial(t, b.URL(), "ops", "service-secret", "ops-late", lateIn.handle)
	if err != nil {
		t.Fatal(err)
	}
	if tok := late.Subscribe(kessel.DeviceTopicPrefix+"+/meta", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	eventually(t, "the retained self-description", func() bool { return lateIn.has(kessel.MetaTopic("air-1")) })
	if devIn.has(kessel.InternalAlertTopicPrefix + "leak/pump-1") {
		t.Fatal("a device read an internal alert")
	}
}

// TestMQTT5Refused: an MQTT 5 CONNECT is answered "unacceptable protocol
// version" and counted.
func TestMQTT5Refused(t *testing.T) {
	b, reg := start(t, jetstream.Options{Anonymous: true})
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// CONNECT, protocol "MQTT" level 5, clean start, keep-alive 30,
	// no properties, client id "m5".
	pkt := []byte{0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 30, 0, 0, 2, 'm', '5'}
	if _, err := conn.Write(pkt); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	ack := make([]byte, 4)
	if _, err := bufio.NewReader(conn).Read(ack); err != nil {
		t.Fatal(err)
	}
	if ack[0] != 0x20 || ack[3] != 0x01 {
		t.Fatalf("CONNACK % x, want 20 02 00 01 (unacceptable protocol version)", ack)
	}
	eventually(t, "the refusal counted", func() bool {
		return counter(t, reg, "kessel_broker_connections_refused_total", "reason", "mqtt5") == 1
	})
}

func TestSubjectRoundTrip(t *testing.T) {
	for _, tc := range []struct{ topic, subject string }{
		{"kessel/devices/air-1/readings", "kessel.devices.air-1.readings"},
		{"kessel/devices/air.1:x/meta", "kessel.devices.air//1:x.meta"},
		{"v3/app1@ttn/devices/node-1/up", "v3.app1@ttn.devices.node-1.up"},
		{"v1.1/Datastreams(3)/Observations", "v1//1.Datastreams(3).Observations"},
		{"kessel/devices/+/readings", "kessel.devices.*.readings"},
		{"kessel/alerts/public/#", "kessel.alerts.public.>"},
	} {
		t.Run(tc.topic, func(t *testing.T) {
			if got := jetstream.Subject(tc.topic); got != tc.subject {
				t.Fatalf("Subject = %q, want %q", got, tc.subject)
			}
			if strings.ContainsAny(tc.topic, "+#") {
				return // filters are not converted back
			}
			if back := jetstream.Topic(tc.subject); back != tc.topic {
				t.Fatalf("Topic = %q, want %q", back, tc.topic)
			}
		})
	}
}

// TestAnonymousCannotSpoofAlerts: where anonymous clients are let in
// beside logins, or from another host in development, they may publish
// readings but never on Kessel's own topics: a subscriber to the alerts
// gets no spoofed alert, and each attempt is counted as denied.
func TestAnonymousCannotSpoofAlerts(t *testing.T) {
	b, reg := start(t, jetstream.Options{Anonymous: true, Users: []jetstream.User{
		{Username: "ops", PasswordHash: hash(t, "service-secret"), Role: jetstream.RoleService},
	}})
	var opsIn inbox
	ops, err := dial(t, b.URL(), "ops", "service-secret", "ops", opsIn.handle)
	if err != nil {
		t.Fatal(err)
	}
	if tok := ops.Subscribe("#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	anon, err := dial(t, b.URL(), "", "", "anon-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, topic := range []string{
		kessel.PublicAlertTopicPrefix + "feinstaub/city",
		kessel.InternalAlertTopicPrefix + "leak/pump-1",
		"kessel/alerts",
		kessel.STAObservationsTopic("air-1", "pm10"),
	} {
		t.Run(topic, func(t *testing.T) {
			publish(t, anon, topic, `{"status":"firing"}`)
			eventually(t, "the spoofed publish counted", func() bool { return counter(t, reg, "kessel_broker_publishes_denied_total") == float64(i+1) })
		})
	}
	publish(t, anon, kessel.ReadingsTopic("air-1"), `{"pm25":1}`) // readings stay open to anonymous devices
	eventually(t, "the anonymous reading delivered", func() bool { return opsIn.has(kessel.ReadingsTopic("air-1")) })
	for _, topic := range []string{kessel.PublicAlertTopicPrefix + "feinstaub/city", kessel.InternalAlertTopicPrefix + "leak/pump-1", "kessel/alerts"} {
		if opsIn.has(topic) {
			t.Errorf("a subscriber got the spoofed %s", topic)
		}
	}
}
