package jetstream_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/jetstream"
)

// natsServer runs a standalone NATS server with JetStream and the MQTT
// listener, as an external cluster's node would (one node: streams R1).
func natsServer(t *testing.T) (natsURL, mqttURL string) {
	t.Helper()
	o := &server.Options{ServerName: "t1", Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
		MQTT: server.MQTTOpts{Host: "127.0.0.1", Port: -1}}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.ClientURL(), fmt.Sprintf("tcp://127.0.0.1:%d", o.MQTT.Port)
}

func joinCluster(t *testing.T, url, name string) *jetstream.Broker {
	t.Helper()
	return joinGroup(t, url, name, "")
}

func joinGroup(t *testing.T, url, name, group string) *jetstream.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := jetstream.ConnectCluster(ctx, jetstream.ClusterOptions{URLs: []string{url}, Name: name, Replicas: 1, Partitions: 4, Group: group, Match: match})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestClusterOptionsRefused(t *testing.T) {
	tests := []struct {
		name string
		opts jetstream.ClusterOptions
		want string
	}{
		{"no server", jetstream.ClusterOptions{Match: match}, "at least one server"},
		{"user and token", jetstream.ClusterOptions{URLs: []string{"nats://127.0.0.1:1"}, User: "u", Token: "t", Match: match}, "not more than one"},
		{"token and creds", jetstream.ClusterOptions{URLs: []string{"nats://127.0.0.1:1"}, Token: "t", CredsFile: "c", Match: match}, "not more than one"},
		{"bad group", jetstream.ClusterOptions{URLs: []string{"nats://127.0.0.1:1"}, Group: "a.b", Match: match}, `group "a.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jetstream.ConnectCluster(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || kessel.ErrorCode(err) != kessel.EINVALID {
				t.Fatalf("err %v, want EINVALID with %q", err, tt.want)
			}
		})
	}
}

type handled struct {
	mu       sync.Mutex
	by       map[string]string // device: replica
	last     map[string]int    // device: last seq
	n        int
	problems []string
	acquired map[string]int // replica: partitions acquired
}

func (h *handled) handler(replica string) func(context.Context, jetstream.Message) error {
	return func(_ context.Context, m jetstream.Message) error {
		dev := strings.Split(m.Topic, "/")[2]
		seq, _ := strconv.Atoi(string(m.Payload))
		h.mu.Lock()
		defer h.mu.Unlock()
		if r, ok := h.by[dev]; ok && r != replica {
			h.problems = append(h.problems, fmt.Sprintf("%s handled by %s and %s", dev, r, replica))
		}
		if last, ok := h.last[dev]; ok && seq <= last {
			h.problems = append(h.problems, fmt.Sprintf("%s: %d after %d", dev, seq, last))
		}
		h.by[dev], h.last[dev] = replica, seq
		h.n++
		m.Ack()
		return nil
	}
}

// TestClusterPartitions: two replicas consume together; every message
// is handed over once, each device's by one replica, in order.
func TestClusterPartitions(t *testing.T) {
	natsURL, mqttURL := natsServer(t)
	h := &handled{by: map[string]string{}, last: map[string]int{}, acquired: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, name := range []string{"replica-a", "replica-b"} {
		b := joinCluster(t, natsURL, name)
		wg.Go(func() {
			_ = b.ConsumeCluster(ctx, h.handler(name), func(context.Context, int) {
				h.mu.Lock()
				h.acquired[name]++
				h.mu.Unlock()
			})
		})
	}
	c, err := dial(t, mqttURL, "", "", "fleet", nil)
	if err != nil {
		t.Fatal(err)
	}
	const devices, each = 20, 20
	for i := range devices * each {
		publish(t, c, kessel.ReadingsTopic(fmt.Sprintf("dev-%02d", i%devices)), strconv.Itoa(i))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.mu.Lock()
		n := h.n
		h.mu.Unlock()
		if n >= devices*each || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n != devices*each || len(h.problems) > 0 || len(h.by) != devices {
		t.Fatalf("handed over %d of %d (%d devices), problems: %v", h.n, devices*each, len(h.by), h.problems)
	}
	t.Logf("partitions acquired: %v", h.acquired)
}

// TestPublishOnce: a transition published twice under one id reaches
// QoS 1 and QoS 0 subscribers once; another id goes out too.
func TestPublishOnce(t *testing.T) {
	natsURL, mqttURL := natsServer(t)
	b := joinCluster(t, natsURL, "replica")
	var mu sync.Mutex
	got := map[byte][]string{}
	for _, qos := range []byte{0, 1} {
		c, err := dial(t, mqttURL, "", "", fmt.Sprintf("watch-%d", qos), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Subscribe("kessel/alerts/#", qos, func(_ mqtt.Client, m mqtt.Message) {
			mu.Lock()
			got[qos] = append(got[qos], string(m.Payload()))
			mu.Unlock()
		}).Wait()
	}
	ctx := context.Background()
	for _, p := range []struct{ id, payload string }{{"a/firing/1", "1"}, {"a/firing/1", "2"}, {"a/resolved/2", "3"}} {
		if err := b.PublishOnce(ctx, "kessel/alerts/public/hot/dev-1", []byte(p.payload), p.id); err != nil {
			t.Fatal(err)
		}
	}
	// Each subscriber gets messages in order: once "3" is in, a
	// duplicate "2" would be too.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := len(got[0]) > 0 && got[0][len(got[0])-1] == "3" && len(got[1]) > 0 && got[1][len(got[1])-1] == "3"
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for qos, want := range map[byte]string{0: "1 3", 1: "1 3"} {
		if g := strings.Join(got[qos], " "); g != want {
			t.Errorf("QoS %d subscriber got %q, want %q (the repeated id once)", qos, g, want)
		}
	}
}

// TestFollow: an API-only replica sees the device messages stored from
// then on.
func TestFollow(t *testing.T) {
	natsURL, mqttURL := natsServer(t)
	b := joinCluster(t, natsURL, "api")
	seen := make(chan string, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() { defer close(done); _ = b.Follow(ctx, "api", func(topic string, _ []byte) { seen <- topic }) }()
	c, err := dial(t, mqttURL, "", "", "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		publish(t, c, kessel.ReadingsTopic("dev.1"), "1")
		publish(t, c, "other/topic", "1")
		select {
		case topic := <-seen:
			if topic != kessel.ReadingsTopic("dev.1") {
				t.Fatalf("followed %q, want only the device's readings", topic)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatal("the follower saw no message")
}

// TestClusterGroups: two groups (each would feed its own InfluxDB) each
// get every message.
func TestClusterGroups(t *testing.T) {
	natsURL, mqttURL := natsServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var mu sync.Mutex
	got := map[string]int{}
	for _, group := range []string{"", "second"} {
		b := joinGroup(t, natsURL, "replica", group)
		wg.Go(func() {
			_ = b.ConsumeCluster(ctx, func(_ context.Context, m jetstream.Message) error {
				mu.Lock()
				got[group]++
				mu.Unlock()
				m.Ack()
				return nil
			}, nil)
		})
	}
	c, err := dial(t, mqttURL, "", "", "fleet", nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		publish(t, c, kessel.ReadingsTopic(fmt.Sprintf("dev-%d", i%7)), strconv.Itoa(i))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		done := got[""] >= n && got["second"] >= n
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if got[""] != n || got["second"] != n {
		t.Fatalf("default group got %d, second group %d; want %d each", got[""], got["second"], n)
	}
}

// TestClusterPinKept: a replica whose acquired takes longer than the
// pin's TTL (it waits for InfluxDB) keeps asking for messages, so it
// keeps the partition: the other replica never gets it, and every
// message is handed over once, in order, after acquired returned.
func TestClusterPinKept(t *testing.T) {
	natsURL, mqttURL := natsServer(t)
	h := &handled{by: map[string]string{}, last: map[string]int{}, acquired: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	gotPin, release := make(chan struct{}), make(chan struct{})
	join := func(name string, acquired func(context.Context, int)) {
		cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
		defer ccancel()
		// AckWait 1 s: the pin goes to another replica after 6 s without a pull.
		b, err := jetstream.ConnectCluster(cctx, jetstream.ClusterOptions{URLs: []string{natsURL}, Name: name, Replicas: 1, Partitions: 1,
			Match: match, AckWait: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		wg.Go(func() { _ = b.ConsumeCluster(ctx, h.handler(name), acquired) })
	}
	join("replica-a", func(ctx context.Context, _ int) {
		h.mu.Lock()
		h.acquired["replica-a"]++
		h.mu.Unlock()
		close(gotPin)
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	c, err := dial(t, mqttURL, "", "", "fleet", nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		publish(t, c, kessel.ReadingsTopic(fmt.Sprintf("dev-%02d", i%10)), strconv.Itoa(i))
	}
	select {
	case <-gotPin:
	case <-time.After(30 * time.Second):
		t.Fatal("replica-a never got the partition")
	}
	join("replica-b", func(context.Context, int) {
		h.mu.Lock()
		h.acquired["replica-b"]++
		h.mu.Unlock()
	})
	<-time.After(12 * time.Second) // the store outage itself: twice the pin's TTL
	close(release)
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.mu.Lock()
		done := h.n >= n
		h.mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n != n || len(h.problems) > 0 || h.acquired["replica-b"] > 0 {
		t.Fatalf("handed over %d of %d, partitions acquired %v, problems: %v", h.n, n, h.acquired, h.problems)
	}
}
