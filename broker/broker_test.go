package broker_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/broker"
)

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := broker.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
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
		o := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID(fmt.Sprintf("%s-%d", user, time.Now().UnixNano())).SetUsername(user).SetPassword(pw).SetConnectTimeout(5 * time.Second)
		c := mqtt.NewClient(o)
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
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
		deadline := time.Now().Add(5 * time.Second)
		for dev.IsConnectionOpen() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if dev.IsConnectionOpen() {
			t.Fatalf("device still connected after publishing on %s", topic)
		}
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
	gw.Publish("v3/app/devices/lora-9/up", 1, false, `{}`).WaitTimeout(2 * time.Second)

	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(delivered)
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let a wrongly allowed publish arrive, if any
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
}
