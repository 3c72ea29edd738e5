package jetstream_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/jetstream"
)

// publishQoS publishes at qos and waits until the client is done (QoS 0:
// written to the connection; QoS 1: PUBACK).
func publishQoS(t *testing.T, c mqtt.Client, topic string, qos byte, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s at QoS %d: %v", topic, qos, tok.Error())
	}
}

// seen collects payloads by the path they came on.
type seen struct {
	mu  sync.Mutex
	got map[string][]string // path: payloads
}

func (s *seen) add(path, payload string) {
	s.mu.Lock()
	s.got[path] = append(s.got[path], payload)
	s.mu.Unlock()
}

func (s *seen) has(path, payload string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.got[path], payload)
}

func (s *seen) all(path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got[path])
}

// consumeBoth runs Consume and ConsumeQoS0 until the test ends: what
// the stream delivers is recorded as "stream" and acknowledged, what
// ConsumeQoS0 offers as "qos0" and taken if accept.
func consumeBoth(t *testing.T, b *jetstream.Broker, s *seen, accept bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		_ = b.Consume(ctx, func(_ context.Context, m jetstream.Message) error {
			s.add("stream", string(m.Payload))
			m.Ack()
			return nil
		})
	})
	wg.Go(func() {
		_ = b.ConsumeQoS0(ctx, func(topic string, payload []byte) bool {
			s.add("qos0", string(payload))
			return accept
		})
	})
}

// TestQoS0Embedded: QoS 0 messages are offered to ConsumeQoS0, QoS 1
// messages come from the stream, and none comes both ways. Each path
// keeps the order of one connection's messages, so once the last message
// of each QoS arrived, a duplicate of an earlier one would have too.
func TestQoS0Embedded(t *testing.T) {
	tests := []struct {
		name string
		qos  func(i int) byte
	}{
		{"QoS 0 only", func(int) byte { return 0 }},
		{"QoS 0 and 1 mixed", func(i int) byte { return byte(i % 2) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, reg := start(t, jetstream.Options{Anonymous: true})
			s := &seen{got: map[string][]string{}}
			consumeBoth(t, b, s, true)
			c, err := dial(t, b.URL(), "", "", "gateway", nil)
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			want := map[string][]string{}
			for i := range n {
				qos, p := tc.qos(i), strconv.Itoa(i)
				publishQoS(t, c, kessel.ReadingsTopic(fmt.Sprintf("dev-%d", i%7)), qos, p)
				want[[]string{"qos0", "stream"}[qos]] = append(want[[]string{"qos0", "stream"}[qos]], p)
			}
			publishQoS(t, c, kessel.DeviceTopicPrefix+"dev-1/commands", 0, "not a topic Kessel reads")
			for qos, path := range []string{"qos0", "stream"} {
				publishQoS(t, c, kessel.ReadingsTopic("dev-last"), byte(qos), "last-"+path)
				want[path] = append(want[path], "last-"+path)
			}
			eventually(t, "the last message of each QoS", func() bool { return s.has("qos0", "last-qos0") && s.has("stream", "last-stream") })
			for _, path := range []string{"qos0", "stream"} {
				if got := s.all(path); !slices.Equal(got, want[path]) {
					t.Errorf("%s path: got %d messages %v, want %d %v", path, len(got), got, len(want[path]), want[path])
				}
			}
			if got, w := counter(t, reg, "kessel_broker_qos0_total", "result", "ingested"), float64(len(want["qos0"])); got != w {
				t.Errorf("QoS 0 messages counted ingested: %v, want %v", got, w)
			}
		})
	}
}

// TestQoS0Refused: a QoS 0 message that a login may not publish, that
// ingest cannot take, or that comes while ingest does not run is counted
// and not ingested, and the publisher is not held up: its next QoS 1
// message is acknowledged.
func TestQoS0Refused(t *testing.T) {
	tests := []struct {
		name    string
		topic   string
		consume bool // ConsumeQoS0 runs
		accept  bool // and takes what it is offered
		offered bool // the message reaches ConsumeQoS0
		metric  string
		labels  []string
	}{
		{"another device's topic", kessel.ReadingsTopic("air-2"), true, true, false, "kessel_broker_publishes_denied_total", nil},
		{"ingest's queue full", kessel.ReadingsTopic("air-1"), true, false, true, "kessel_broker_qos0_total", []string{"result", "dropped", "reason", "queue_full"}},
		{"ingest not running", kessel.ReadingsTopic("air-1"), false, false, false, "kessel_broker_qos0_total", []string{"result", "dropped", "reason", "not_consuming"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, reg := start(t, jetstream.Options{Users: []jetstream.User{
				{Username: "air-1", PasswordHash: hash(t, "secret-1"), Role: jetstream.RoleDevice},
				{Username: "air-2", PasswordHash: hash(t, "secret-2"), Role: jetstream.RoleDevice},
			}})
			s := &seen{got: map[string][]string{}}
			if tc.consume {
				consumeBoth(t, b, s, tc.accept)
			}
			c, err := dial(t, b.URL(), "air-1", "secret-1", "air-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			publishQoS(t, c, tc.topic, 0, "refused")
			eventually(t, tc.metric+" to count it", func() bool { return counter(t, reg, tc.metric, tc.labels...) == 1 })
			publishQoS(t, c, kessel.ReadingsTopic("air-1"), 1, "acknowledged")
			if tc.consume {
				// The device's next QoS 0 message, on the same path, comes after the first would have.
				publishQoS(t, c, kessel.ReadingsTopic("air-1"), 0, "next")
				eventually(t, "the next QoS 0 message", func() bool { return s.has("qos0", "next") })
			}
			if got := s.has("qos0", "refused"); got != tc.offered {
				t.Errorf("refused message offered to ingest: %v, want %v", got, tc.offered)
			}
			want := 0.0
			if tc.consume && tc.accept {
				want = 1 // "next"
			}
			if got := counter(t, reg, "kessel_broker_qos0_total", "result", "ingested"); got != want {
				t.Errorf("QoS 0 messages counted ingested: %v, want %v", got, want)
			}
		})
	}
}

// joinWithRegistry joins the cluster as replica name with its own metrics.
func joinWithRegistry(t *testing.T, url, name string) (*jetstream.Broker, *prometheus.Registry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	b, err := jetstream.ConnectCluster(ctx, jetstream.ClusterOptions{URLs: []string{url}, Name: name, Replicas: 1, Partitions: 4, Match: match, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, reg
}

// TestQoS0Cluster: in a cluster, each QoS 0 message is routed by one
// replica into its device's partition and handed over once, by the
// replica holding that partition, as the QoS 1 messages are; none is
// handed over twice.
func TestQoS0Cluster(t *testing.T) {
	natsURL, mqttURL := natsServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var mu sync.Mutex
	by, times := map[string]string{}, map[string]int{}
	var problems []string
	var regs []*prometheus.Registry
	for _, name := range []string{"replica-a", "replica-b"} {
		b, reg := joinWithRegistry(t, natsURL, name)
		regs = append(regs, reg)
		wg.Go(func() {
			_ = b.ConsumeCluster(ctx, func(_ context.Context, m jetstream.Message) error {
				dev := strings.Split(m.Topic, "/")[2]
				mu.Lock()
				if r, ok := by[dev]; ok && r != name {
					problems = append(problems, fmt.Sprintf("%s handled by %s and %s", dev, r, name))
				}
				by[dev] = name
				times[string(m.Payload)]++
				mu.Unlock()
				m.Ack()
				return nil
			}, nil)
		})
	}
	c, err := dial(t, mqttURL, "", "", "gateway", nil)
	if err != nil {
		t.Fatal(err)
	}
	const n, devices = 300, 10
	qos0 := 0
	for i := range n {
		qos := byte(0)
		if i%3 == 2 {
			qos = 1
		}
		qos0 += 1 - int(qos)
		publishQoS(t, c, kessel.ReadingsTopic(fmt.Sprintf("dev-%02d", i%devices)), qos, strconv.Itoa(i))
	}
	routed := func() float64 {
		sum := 0.0
		for _, reg := range regs {
			sum += counter(t, reg, "kessel_broker_qos0_total", "result", "ingested")
		}
		return sum
	}
	eventually(t, "every message handed over", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(times) == n && routed() == float64(qos0)
	})
	mu.Lock()
	defer mu.Unlock()
	for p, k := range times {
		if k != 1 {
			problems = append(problems, fmt.Sprintf("message %s handed over %d times", p, k))
		}
	}
	if len(problems) > 0 || len(by) != devices {
		t.Fatalf("%d devices handled, problems: %v", len(by), problems)
	}
}

// TestFollowQoS0: an API-only replica in a cluster sees QoS 0 device
// messages too, though no stream holds them.
func TestFollowQoS0(t *testing.T) {
	natsURL, mqttURL := natsServer(t)
	b := joinCluster(t, natsURL, "api")
	s := &seen{got: map[string][]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() {
		defer close(done)
		_ = b.Follow(ctx, "api", func(topic string, p []byte) { s.add(topic, string(p)) })
	}()
	c, err := dial(t, mqttURL, "", "", "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the follower to see a QoS 0 reading", func() bool {
		publishQoS(t, c, kessel.DeviceTopicPrefix+"dev-1/commands", 0, "not followed")
		publishQoS(t, c, kessel.ReadingsTopic("dev-1"), 0, "0")
		return s.has(kessel.ReadingsTopic("dev-1"), "0")
	})
	if got := s.all(kessel.DeviceTopicPrefix + "dev-1/commands"); len(got) > 0 {
		t.Fatalf("followed a topic Kessel does not read: %v", got)
	}
}
