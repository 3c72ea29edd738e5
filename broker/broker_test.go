package broker_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"golang.org/x/crypto/bcrypt"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/internal/testenv"
)

// hash hashes at bcrypt's lowest cost, which logins accept like any
// other: at the default cost each login takes seconds under the race
// detector on a busy machine.
func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// TestDeviceCredentials: on the embedded broker a device connects only
// with its password and publishes only on its own topics; what it may
// publish reaches Deliver, what it may not never does.
func TestDeviceCredentials(t *testing.T) {
	var mu sync.Mutex
	var delivered []string
	b, err := broker.Start(broker.Options{
		Addr:  "127.0.0.1:0",
		Match: func(string) bool { return true },
		Deliver: func(topic string, _ []byte) error {
			mu.Lock()
			delivered = append(delivered, topic)
			mu.Unlock()
			return nil
		},
		Auth: broker.Auth{Users: []broker.User{
			{Username: "air-1", PasswordHash: hash(t, "device-secret-1"), Role: broker.RoleDevice},
			{Username: "gateway", PasswordHash: hash(t, "gateway-secret"), Role: broker.RoleService},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	connect := func(user, pw string) (mqtt.Client, error) {
		o := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID(fmt.Sprintf("%s@%d", user, time.Now().UnixNano())).SetUsername(user).SetPassword(pw).SetConnectTimeout(20 * time.Second)
		c := mqtt.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(20 * time.Second) {
			t.Fatalf("connect %s: no answer", user)
		}
		return c, tok.Error()
	}
	for _, tc := range []struct{ name, user, pw string }{
		{"wrong password", "air-1", "nope"},
		{"unknown user", "air-2", "device-secret-1"},
		{"anonymous", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := connect(tc.user, tc.pw); err == nil {
				c.Disconnect(50)
				t.Fatal("connected")
			}
		})
	}
	dev, err := connect("air-1", "device-secret-1")
	if err != nil {
		t.Fatalf("device with its password: %v", err)
	}
	defer dev.Disconnect(50)
	// MQTT 3.1.1 cannot refuse a single publish: the broker disconnects a
	// client that publishes where it may not.
	for _, topic := range []string{"kessel/devices/air-2/readings", "v3/app/devices/air-1/up"} {
		dev.Publish(topic, 1, false, `{"values":{"x":1}}`).WaitTimeout(2 * time.Second)
		testenv.Eventually(t, 5*time.Second, func() bool { return !dev.IsConnectionOpen() }, "device still connected after publishing on %s", topic)
		dev.Disconnect(10)
		if dev, err = connect("air-1", "device-secret-1"); err != nil {
			t.Fatal(err)
		}
	}
	if tok := dev.Publish("kessel/devices/air-1/readings", 1, false, `{"values":{"x":1}}`); !tok.WaitTimeout(2*time.Second) || tok.Error() != nil {
		t.Fatalf("own topic: %v", tok.Error())
	}
	gw, err := connect("gateway", "gateway-secret")
	if err != nil {
		t.Fatalf("service user: %v", err)
	}
	defer gw.Disconnect(50)
	if tok := gw.Publish("v3/app/devices/lora-9/up", 1, false, `{}`); !tok.WaitTimeout(2*time.Second) || tok.Error() != nil {
		t.Fatalf("service: %v", tok.Error())
	}
	// Deliver runs before the broker acknowledges, and a refused publish
	// was decided before its client was disconnected: nothing is on its way.
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(delivered) != "[kessel/devices/air-1/readings v3/app/devices/lora-9/up]" {
		t.Errorf("delivered %v; want only the device's own topic and the service's", delivered)
	}
}

func TestUserValidation(t *testing.T) {
	for _, u := range []broker.User{
		{Username: "", PasswordHash: "$2a$10$x", Role: broker.RoleDevice},
		{Username: "a b", PasswordHash: hash(t, "p"), Role: broker.RoleDevice},
		{Username: "a", PasswordHash: "plain", Role: broker.RoleDevice},
		{Username: "a", PasswordHash: hash(t, "p"), Role: "root"},
	} {
		if err := u.Validate(); kessel.ErrorCode(err) != kessel.EINVALID {
			t.Errorf("%+v: %v", u, err)
		}
	}
	h, err := broker.HashPassword("p")
	if err != nil {
		t.Fatal(err)
	}
	if err := (broker.User{Username: "a", PasswordHash: h, Role: broker.RoleDevice}).Validate(); err != nil {
		t.Errorf("a HashPassword hash: %v", err)
	}
}

// TestDataDirKeepsState restarts a broker with a data directory: a
// retained self-description survives, and so does a persistent session's
// subscription (the dashboard gets an alert published after the restart
// without subscribing again). Messages queued for an offline session are
// not restored: mochi-mqtt v2.7.9's bolt hook stores them without their
// packet id.
func TestDataDirKeepsState(t *testing.T) {
	dir := t.TempDir()
	var logs testenv.Buffer
	start := func(addr string) *broker.Broker {
		b, err := broker.Start(broker.Options{Addr: addr, Auth: broker.Auth{Anonymous: true}, DataDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := start("127.0.0.1:0")
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a fresh data directory logged an error:\n%s", logs.String())
	}
	addr := b.Addr()
	got := make(chan string, 4)
	handler := func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() + " " + string(m.Payload()) }
	connect := func(id string, clean bool) mqtt.Client {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).SetDefaultPublishHandler(handler))
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %s: %v", id, tok.Error())
		}
		return c
	}
	dash := connect("dashboard", false) // a persistent session
	if tok := dash.Subscribe("kessel/alerts/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	dash.Disconnect(100)
	pub := connect("sensor", true)
	pub.Publish("kessel/devices/air-1/meta", 1, true, `{"kind":"air_quality"}`).Wait()
	pub.Disconnect(100)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = start(addr)
	defer b.Close()
	dash = connect("dashboard", false) // no Subscribe: the session has it
	defer dash.Disconnect(100)
	fresh := connect("fresh", true)
	defer fresh.Disconnect(100)
	fresh.Subscribe("kessel/devices/+/meta", 1, nil).Wait()
	if err := b.Publish("kessel/alerts/internal/frost/road-1", []byte(`firing`), false, 1); err != nil { // Kessel's own topic: anonymous clients may not
		t.Fatal(err)
	}
	want := map[string]bool{"kessel/alerts/internal/frost/road-1 firing": true, `kessel/devices/air-1/meta {"kind":"air_quality"}`: true}
	deadline := time.After(5 * time.Second)
	for len(want) > 0 {
		select {
		case m := <-got:
			delete(want, m)
		case <-deadline:
			t.Fatalf("after the restart, not received: %v", want)
		}
	}
}
