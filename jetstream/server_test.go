package jetstream_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/crypto/bcrypt"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/jetstream"
)

// match is what Kessel reads: device readings and self-descriptions.
func match(topic string) bool {
	return strings.HasPrefix(topic, kessel.DeviceTopicPrefix) && (strings.HasSuffix(topic, "/readings") || strings.HasSuffix(topic, "/meta"))
}

func start(t *testing.T, opts jetstream.Options) (*jetstream.Broker, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	opts.Match, opts.Registerer = match, reg
	b, err := jetstream.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, reg
}

func dial(t *testing.T, url, user, pw, clientID string, onMsg mqtt.MessageHandler) (mqtt.Client, error) {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).SetUsername(user).SetPassword(pw).
		SetConnectTimeout(20 * time.Second).SetAutoReconnect(false).SetCleanSession(true).SetDefaultPublishHandler(onMsg)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(20 * time.Second) {
		t.Fatalf("connect %s: no answer", user)
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(50) })
	}
	return c, tok.Error()
}

func publish(t *testing.T, c mqtt.Client, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// consume collects messages until n arrived, acknowledging those ack
// says to; it returns them in arrival order.
func consume(t *testing.T, b *jetstream.Broker, n int, ack func(jetstream.Message) bool) []jetstream.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []jetstream.Message
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(ctx, func(_ context.Context, m jetstream.Message) error {
			got = append(got, m)
			if ack(m) {
				m.Ack()
			}
			if len(got) == n {
				cancel()
			}
			return nil
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("consumed %d messages, want %d", len(got), n)
	}
	return got
}

// TestDurableAcrossRestart: messages published before Kessel consumes
// (the consumer exists from Start on, so interest retention keeps them)
// are delivered with their topic, stored time and how many are behind
// them, other topics are not; those not acknowledged
// come again after a restart with the same store, those acknowledged do not.
func TestDurableAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	b, _ := start(t, jetstream.Options{Addr: addr, DataDir: dir, Anonymous: true})
	c, err := dial(t, b.URL(), "", "", "sensor-pub", nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	before := time.Now()
	publish(t, c, "city/other-application/x", "not Kessel's") // acknowledged by the consumer, not handed over
	for i := range n {
		publish(t, c, kessel.ReadingsTopic(fmt.Sprintf("dev.%02d", i)), fmt.Sprint(i))
	}
	c.Disconnect(50)
	got := consume(t, b, n, func(m jetstream.Message) bool { return len(m.Payload) == 1 }) // 0..9 acknowledged
	for i, m := range got {
		if want := kessel.ReadingsTopic(fmt.Sprintf("dev.%02d", i)); m.Topic != want || string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d: %s %q, want %s %q", i, m.Topic, m.Payload, want, fmt.Sprint(i))
		}
		if m.Stored.Before(before.Add(-time.Second)) || m.Stored.After(time.Now()) {
			t.Fatalf("message %d stored at %v, not during the test", i, m.Stored)
		}
		if m.Behind != uint64(n-1-i) {
			t.Fatalf("message %d of %d: %d behind it, want %d", i, n, m.Behind, n-1-i)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, _ := start(t, jetstream.Options{Addr: addr, DataDir: dir, Anonymous: true})
	t0 := time.Now()
	again := consume(t, b2, n-10, func(jetstream.Message) bool { return true })
	t.Log("second consume took", time.Since(t0))
	for i, m := range again {
		if want := fmt.Sprint(i + 10); string(m.Payload) != want {
			t.Fatalf("redelivered %d: %q, want %q", i, m.Payload, want)
		}
		if !m.Stored.Equal(got[i+10].Stored) {
			t.Fatalf("redelivered %d stored at %v, first delivery said %v", i, m.Stored, got[i+10].Stored)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func counter(t *testing.T, reg *prometheus.Registry, name string, label ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, label []string) bool {
	for i := 0; i+1 < len(label); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			found = found || lp.GetName() == label[i] && lp.GetValue() == label[i+1]
		}
		if !found {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds or 20 s passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type inbox struct {
	mu     sync.Mutex
	topics []string
}

func (in *inbox) handle(_ mqtt.Client, m mqtt.Message) {
	in.mu.Lock()
	in.topics = append(in.topics, m.Topic())
	in.mu.Unlock()
}

func (in *inbox) has(topic string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, t := range in.topics {
		if t == topic {
			return true
		}
	}
	return false
}

// TestHeldMessagesDoNotTimeOut: a message handed over and held (the store
// is down) is not delivered again when AckWait passes, however long it is
// held: Consume tells JetStream it is in progress.
func TestHeldMessagesDoNotTimeOut(t *testing.T) {
	b, reg := start(t, jetstream.Options{Anonymous: true, AckWait: time.Second})
	c, err := dial(t, b.URL(), "", "", "pub", nil)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, c, kessel.ReadingsTopic("air-1"), "1")
	ctx, cancel := context.WithCancel(context.Background())
	deliveries := make(chan jetstream.Message, 10)
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(ctx, func(_ context.Context, m jetstream.Message) error { deliveries <- m; return nil })
	}()
	defer func() { cancel(); <-done }()
	first := <-deliveries
	select {
	case m := <-deliveries:
		t.Fatalf("delivered again while held: %s", m.Payload)
	case <-time.After(4 * time.Second): // four times AckWait
	}
	first.Ack()
	if got := counter(t, reg, "kessel_broker_redelivered_total"); got != 0 {
		t.Fatalf("redeliveries counted: %v", got)
	}
}
