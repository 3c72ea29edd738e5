package simulators

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/internal/mqttconn"
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
	if mqttconn.Supports(url) {
		o.SetCustomOpenConnectionFn(mqttconn.Open)
	}
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

// Pool spreads messages over several connections, a device always on the
// same one so that its messages stay in order.
type Pool []*MQTT

// DialPool opens n connections (client ids id-0 … id-(n-1)).
func DialPool(ctx context.Context, url, clientID, username, password string, n int) (Pool, error) {
	p := make(Pool, 0, n)
	for i := range n {
		c, err := DialMQTT(ctx, url, fmt.Sprintf("%s-%d", clientID, i), username, password)
		if err != nil {
			p.Close()
			return nil, err
		}
		p = append(p, c)
	}
	return p, nil
}

// Publish sends m on the connection its topic hashes to.
func (p Pool) Publish(ctx context.Context, m Message) error {
	h := uint32(2166136261)
	for i := 0; i < len(m.Topic); i++ {
		h = (h ^ uint32(m.Topic[i])) * 16777619
	}
	return p[h%uint32(len(p))].Publish(ctx, m)
}

// Flush flushes every connection.
func (p Pool) Flush(ctx context.Context) error {
	for _, c := range p {
		if err := c.Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Failed sums the connections' failures.
func (p Pool) Failed() int {
	n := 0
	for _, c := range p {
		n += c.Failed()
	}
	return n
}

// Close disconnects all.
func (p Pool) Close() {
	for _, c := range p {
		c.Close()
	}
}
