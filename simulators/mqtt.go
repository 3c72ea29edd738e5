package simulators

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// MQTT publishes at QoS 1 with a bounded window of unconfirmed messages.
type MQTT struct {
	client mqtt.Client
	window chan mqtt.Token
	failed atomic.Int64
}

// DialMQTT connects to the broker at url (tcp://host:port).
func DialMQTT(ctx context.Context, url, clientID, username, password string) (*MQTT, error) {
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).SetUsername(username).SetPassword(password).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectTimeout(10 * time.Second).SetMaxResumePubInFlight(1000).
		SetWriteTimeout(10 * time.Second)
	c := mqtt.NewClient(o)
	t := c.Connect()
	select {
	case <-t.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := t.Error(); err != nil {
		return nil, fmt.Errorf("simulators: connect %s: %w", url, err)
	}
	return &MQTT{client: c, window: make(chan mqtt.Token, 1000)}, nil
}

// Publish sends m at QoS 1; it blocks while 1000 messages are unconfirmed.
func (p *MQTT) Publish(ctx context.Context, m Message) error {
	t := p.client.Publish(m.Topic, 1, m.Retained, m.Payload)
	for {
		select {
		case p.window <- t:
			return nil
		default:
		}
		select {
		case old := <-p.window:
			p.wait(ctx, old)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (p *MQTT) wait(ctx context.Context, t mqtt.Token) {
	select {
	case <-t.Done():
		if t.Error() != nil {
			p.failed.Add(1)
		}
	case <-ctx.Done():
		p.failed.Add(1)
	}
}

// Flush waits for every unconfirmed message.
func (p *MQTT) Flush(ctx context.Context) error {
	for {
		select {
		case t := <-p.window:
			p.wait(ctx, t)
		default:
			return ctx.Err()
		}
	}
}

// Failed counts messages the broker did not confirm.
func (p *MQTT) Failed() int { return int(p.failed.Load()) }

// Close disconnects.
func (p *MQTT) Close() { p.client.Disconnect(250) }
