package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/kessel-city/kessel/internal/testenv"
)

// clusterFleet publishes QoS 1 readings at a steady rate to any of the
// cluster's MQTT listeners (paho moves to the next when one dies),
// resending each until it is acknowledged, so acked counts exactly the
// readings the cluster took. Every reading has a unique (device,
// timestamp); the alarm devices' temperature goes hot and cold in turn.
type clusterFleet struct {
	client  mqtt.Client
	devices []string
	alarms  int // the first alarms devices carry temp
	base    time.Time
	start   time.Time
	mu      sync.Mutex
	acked   map[string]int
	temps   map[string][]float64 // each alarm device's acknowledged temperatures, in order
	lastSeq map[string]int
	stop    chan struct{}
	done    chan struct{}
}

// alarmPeriod is how long an alarm device stays hot, then cold.
const alarmPeriod = 7 * time.Second

func startClusterFleet(t *testing.T, brokers []string, devices []string, alarms int, rate float64, base time.Time) *clusterFleet {
	t.Helper()
	o := mqtt.NewClientOptions().SetClientID("fleet").SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).SetMaxReconnectInterval(time.Second).SetConnectTimeout(2 * time.Second)
	for _, b := range brokers {
		o.AddBroker(b)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("fleet connect: %v", tok.Error())
	}
	// dev-01 describes itself as public, so the API shows it without a key.
	if tok := c.Publish("kessel/devices/dev-01/meta", 1, false, `{"kind":"test","visibility":"public"}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("fleet meta: %v", tok.Error())
	}
	f := &clusterFleet{client: c, devices: devices, alarms: alarms, base: base, start: time.Now(), acked: map[string]int{},
		temps: map[string][]float64{}, lastSeq: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go f.run(rate)
	t.Cleanup(func() { f.Stop(); c.Disconnect(100) })
	return f
}

// temp is alarm device a's temperature at elapsed: hot (60) in every
// other period, each device shifted by a second.
func temp(a int, elapsed time.Duration) float64 {
	if (elapsed+time.Duration(a)*time.Second)/alarmPeriod%2 == 1 {
		return 60
	}
	return 20
}

func (f *clusterFleet) run(rate float64) {
	defer close(f.done)
	gap := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for i := 0; ; i++ {
		select {
		case <-f.stop:
			return
		default:
		}
		d := i % len(f.devices)
		dev := f.devices[d]
		ts := f.base.Add(time.Duration(i) * time.Millisecond).UTC().Format(time.RFC3339Nano)
		values := fmt.Sprintf(`{"seq":%d}`, i)
		tv := 0.0
		if d < f.alarms {
			tv = temp(d, time.Since(f.start))
			values = fmt.Sprintf(`{"seq":%d,"temp":%g}`, i, tv)
		}
		f.publish(dev, fmt.Sprintf(`{"ts":%q,"kind":"test","values":%s}`, ts, values))
		f.mu.Lock()
		f.acked[dev]++
		f.lastSeq[dev] = i
		if d < f.alarms {
			f.temps[dev] = append(f.temps[dev], tv)
		}
		f.mu.Unlock()
		next = next.Add(gap)
		if w := time.Until(next); w > 0 {
			time.Sleep(w)
		}
	}
}

// publish sends one reading until a PUBACK comes (even after Stop: a
// reading the cluster may have taken is counted).
func (f *clusterFleet) publish(dev, payload string) {
	for {
		tok := f.client.Publish("kessel/devices/"+dev+"/readings", 1, false, payload)
		if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // a server is gone; paho reconnects to another
	}
}

// Stop ends publishing once the reading on its way is acknowledged.
func (f *clusterFleet) Stop() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

func (f *clusterFleet) Acked() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int, len(f.acked))
	for k, v := range f.acked {
		m[k] = v
	}
	return m
}

// expectedTransitions counts, per alarm device, the firings and
// resolutions a threshold rule (> 50, clear below 40) makes of the
// acknowledged temperatures in order.
func (f *clusterFleet) expectedTransitions() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]int{}
	for dev, ts := range f.temps {
		firing := false
		for _, v := range ts {
			switch {
			case !firing && v > 50:
				firing = true
				want[dev+" firing"]++
			case firing && v < 40:
				firing = false
				want[dev+" resolved"]++
			}
		}
	}
	return want
}

// alertWatch counts the alert transitions published on the cluster's
// MQTT listeners, through a persistent QoS 1 session that survives the
// loss of the server it is connected to.
type alertWatch struct {
	mu       sync.Mutex
	raw      int
	distinct map[string]bool   // subject state time: one transition
	count    map[string]int    // subject state: how many distinct transitions
	seen     map[string]string // transition: its payload, for the log
}

func watchAlerts(t *testing.T, brokers []string) *alertWatch {
	t.Helper()
	w := &alertWatch{distinct: map[string]bool{}, count: map[string]int{}, seen: map[string]string{}}
	o := mqtt.NewClientOptions().SetClientID("alert-watch").SetCleanSession(false).SetAutoReconnect(true).
		SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).SetMaxReconnectInterval(time.Second).SetConnectTimeout(2 * time.Second)
	for _, b := range brokers {
		o.AddBroker(b)
	}
	o.SetOnConnectHandler(func(c mqtt.Client) { c.Subscribe("kessel/alerts/#", 1, w.take) })
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("alert watcher connect: %v", tok.Error())
	}
	// A cluster that just started may refuse the subscription (SUBACK
	// 0x80) until its MQTT streams are ready.
	testenv.Eventually(t, 30*time.Second, func() bool {
		tok := c.Subscribe("kessel/alerts/#", 1, w.take)
		st, ok := tok.(*mqtt.SubscribeToken)
		return tok.WaitTimeout(5*time.Second) && tok.Error() == nil && ok && st.Result()["kessel/alerts/#"] == 1
	}, "the alert watcher's subscription was not granted")
	t.Cleanup(func() { c.Disconnect(100) })
	return w
}

func (w *alertWatch) take(_ mqtt.Client, m mqtt.Message) {
	var a struct {
		Subject    string    `json:"subject"`
		State      string    `json:"state"`
		FiredAt    time.Time `json:"fired_at"`
		ResolvedAt time.Time `json:"resolved_at"`
	}
	_ = json.Unmarshal(m.Payload(), &a)
	key := fmt.Sprintf("%s %s %s %s", a.Subject, a.State, a.FiredAt.Format(time.RFC3339Nano), a.ResolvedAt.Format(time.RFC3339Nano))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.raw++
	if !w.distinct[key] {
		w.distinct[key] = true
		w.count[a.Subject+" "+a.State]++
		w.seen[key] = string(m.Payload())
	}
}

// snapshot returns the distinct transitions per subject and state, and
// how many messages arrived in all (MQTT may deliver one twice).
func (w *alertWatch) snapshot() (map[string]int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[string]int, len(w.count))
	for k, v := range w.count {
		m[k] = v
	}
	return m, w.raw
}

// String lists the distinct transitions seen (subject, state, fired
// and resolved at), one a line, in order.
func (w *alertWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(slices.Sorted(maps.Keys(w.distinct)), "\n")
}
