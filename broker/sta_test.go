package broker_test

import (
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/broker"
)

// TestSTAReceive: the SensorThings MQTT receive extension on the mochi
// broker. Every client but a service login reads the observations of
// public Datastreams only (the registry's word, checked on every
// delivery, as in the REST API); only Kessel publishes under v1.1/.
func TestSTAReceive(t *testing.T) {
	b, _ := startUsers(t, broker.Options{})
	public, internal := kessel.STAObservationsTopic("air-b", "pm10"), kessel.STAObservationsTopic("air-c", "pm10")
	all := "v1.1/+/Observations"
	for _, tc := range []struct {
		name   string
		who    login
		client string
		want   []string
	}{
		{"anonymous", anonymous, "anon", []string{public}},
		{"a device", deviceA, "frost-a", []string{public}},
		{"a service", service, "gateway-1", []string{public, internal}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, msgs, lost := mustDial(t, b.URL(), tc.who, tc.client)
			tok := c.SubscribeMultiple(map[string]byte{all: 0, internal: 0}, nil).(*mqtt.SubscribeToken)
			if !tok.WaitTimeout(5*time.Second) || tok.Result()[all] != 0 {
				t.Fatalf("subscribe %s: %v", all, tok.Result())
			}
			if wantCode := map[bool]byte{true: 0, false: 0x80}[len(tc.want) == 2]; tok.Result()[internal] != wantCode {
				t.Errorf("SUBACK for %s: %#x, want %#x", internal, tok.Result()[internal], wantCode)
			}
			for _, topic := range []string{internal, public} {
				if err := b.Publish(topic, []byte("{}"), false, 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Publish(public, []byte("end"), false, 0); err != nil {
				t.Fatal(err)
			}
			var got []string
			collect(t, msgs, func(_ []string, m received) bool {
				if m.payload == "{}" {
					got = append(got, m.topic)
				}
				return m.payload == "end"
			})
			if !sameSet(got, tc.want) {
				t.Errorf("received %v, want %v", got, tc.want)
			}
			if tc.who == service {
				return
			}
			c.Publish(public, 1, false, "666")
			select {
			case <-lost: // the broker disconnects a client that publishes where it may not
			case m := <-msgs:
				t.Errorf("a client's publish on %s was delivered: %v", public, m)
			case <-time.After(5 * time.Second):
				t.Error("a client published on v1.1/ and stayed connected")
			}
		})
	}
}

// TestSTAReceiveWildcards: whatever filter an anonymous client subscribes
// with, wildcards included, it receives the public Datastream's
// observations and never the internal one's, nor an internal alert.
func TestSTAReceiveWildcards(t *testing.T) {
	b, _ := startUsers(t, broker.Options{})
	public, internal := kessel.STAObservationsTopic("air-b", "pm10"), kessel.STAObservationsTopic("air-c", "pm10")
	internalAlert := kessel.InternalAlertTopicPrefix + "pm-air-c"
	for i, filter := range []string{"#", "v1.1/#", "+/+/+", "v1.1/+/#", "v1.1/Datastreams('air-c:pm10')/#", "+/Datastreams('air-c:pm10')/+"} {
		t.Run(filter, func(t *testing.T) {
			c, msgs, _ := mustDial(t, b.URL(), anonymous, "anon-"+strconv.Itoa(i))
			tok := c.SubscribeMultiple(map[string]byte{filter: 0, public: 0}, nil).(*mqtt.SubscribeToken)
			if !tok.WaitTimeout(5 * time.Second) {
				t.Fatal("no SUBACK")
			}
			for _, topic := range []string{internal, internalAlert, public} {
				if err := b.Publish(topic, []byte("{}"), false, 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Publish(public, []byte("end"), false, 0); err != nil {
				t.Fatal(err)
			}
			collect(t, msgs, func(_ []string, m received) bool {
				if m.topic == internal || m.topic == internalAlert {
					t.Errorf("an anonymous client subscribed to %s received %s", filter, m.topic)
				}
				return m.payload == "end"
			})
		})
	}
}
