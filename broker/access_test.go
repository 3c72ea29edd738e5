package broker_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/broker"
	"github.com/kessel-city/kessel/internal/testenv"
)

// login is who a test client connects as; the zero value is anonymous.
type login struct{ user, pw string }

var (
	anonymous = login{}
	deviceA   = login{"frost-a", "secret-a"} // an internal road-surface sensor
	deviceB   = login{"air-b", "secret-b"}   // a public air-quality sensor
	service   = login{"gateway", "secret-gw"}
)

// startUsers starts a broker with the three logins, anonymous clients
// allowed too, a registry stand-in that knows air-c as internal and air-b
// as public, and the
// broker's metrics in reg.
func startUsers(t *testing.T, opts broker.Options) (*broker.Broker, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Addr, opts.Registerer = "127.0.0.1:0", reg
	opts.Auth = broker.Auth{Anonymous: true, Users: []broker.User{
		{Username: deviceA.user, PasswordHash: hash(t, deviceA.pw), Role: broker.RoleDevice},
		{Username: deviceB.user, PasswordHash: hash(t, deviceB.pw), Role: broker.RoleDevice},
		{Username: service.user, PasswordHash: hash(t, service.pw), Role: broker.RoleService},
	}}
	opts.Visibility = func(dev string) (kessel.Visibility, bool) {
		switch dev {
		case "air-c":
			return kessel.Internal, true
		case "air-b":
			return kessel.Public, true
		}
		return "", false
	}
	b, err := broker.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, reg
}

type received struct{ topic, payload string }

// dial connects to url as l with clientID; messages go to the returned
// channel, a lost connection to lost. It does not reconnect.
func dial(url string, l login, clientID string) (mqtt.Client, <-chan received, <-chan error, *mqtt.ConnectToken) {
	msgs, lost := make(chan received, 64), make(chan error, 1)
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).SetUsername(l.user).SetPassword(l.pw).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetProtocolVersion(4). // no fallback to 3.1: one attempt each
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { msgs <- received{m.Topic(), string(m.Payload())} }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err })
	c := mqtt.NewClient(o)
	tok := c.Connect().(*mqtt.ConnectToken)
	tok.WaitTimeout(30 * time.Second)
	return c, msgs, lost, tok
}

func mustDial(t *testing.T, url string, l login, clientID string) (mqtt.Client, <-chan received, <-chan error) {
	t.Helper()
	c, msgs, lost, tok := dial(url, l, clientID)
	if tok.Error() != nil {
		t.Fatalf("connect %s as %q: %v", clientID, l.user, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, msgs, lost
}

// counter sums the samples of a counter whose labels include labels
// (name=value pairs).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetName()+"="+l.GetValue())
			}
			if !slices.ContainsFunc(labels, func(l string) bool { return !slices.Contains(got, l) }) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// The topics of the scope matrix, with the payloads the broker keeps.
var (
	publicAlert    = kessel.AlertTopic(kessel.Alert{RuleID: "pm10", Subject: "air-b", Visibility: kessel.Public})
	internalAlert  = kessel.AlertTopic(kessel.Alert{RuleID: "frost", Subject: "frost-a", Visibility: kessel.Internal})
	internalMeta   = kessel.MetaTopic("frost-a")
	publicMeta     = kessel.MetaTopic("air-b")
	overruledMeta  = kessel.MetaTopic("air-c") // declares public; the operator made it internal
	matrixPayloads = map[string]string{
		publicAlert:   `{"state":"firing"}`,
		internalAlert: `{"state":"firing"}`,
		internalMeta:  `{"kind":"road_surface","department":"winterdienst","visibility":"internal"}`,
		publicMeta:    `{"kind":"air_quality"}`,
		overruledMeta: `{"kind":"air_quality","visibility":"public"}`,
	}
	matrixTopics = []string{publicAlert, internalAlert, internalMeta, publicMeta, overruledMeta}
)

// TestReadScopes is the scope matrix: who may subscribe to and receive
// public and internal alerts and public and internal devices'
// self-descriptions, retained and live. Only service logins, and in
// development mode (no users) anonymous clients on the same host, read
// internal ones.
func TestReadScopes(t *testing.T) {
	users, _ := startUsers(t, broker.Options{})
	dev, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Auth: broker.Auth{Anonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	for _, b := range []*broker.Broker{users, dev} {
		for _, topic := range matrixTopics {
			if err := b.Publish(topic, []byte(matrixPayloads[topic]), true, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	public := []string{publicAlert, publicMeta}
	for _, tc := range []struct {
		name   string
		b      *broker.Broker
		who    login
		client string
		want   []string
	}{
		{"anonymous", users, anonymous, "anon", public},
		{"device A", users, deviceA, "frost-a", public},
		{"device B", users, deviceB, "air-b@dashboard", public},
		{"service", users, service, "gateway-1", matrixTopics},
		{"anonymous on loopback, no users", dev, anonymous, "tool", matrixTopics},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkSubacks(t, tc.b, tc.who, tc.client+"@sub", tc.want)
			checkDeliveries(t, tc.b, tc.who, tc.client, tc.want)
		})
	}
}

// checkSubacks subscribes to each matrix topic by name: granted (QoS 1)
// for the topics in want, refused (0x80) for the others.
func checkSubacks(t *testing.T, b *broker.Broker, who login, client string, want []string) {
	t.Helper()
	c, _, _ := mustDial(t, b.URL(), who, client)
	defer c.Disconnect(50)
	filters := map[string]byte{}
	for _, topic := range matrixTopics {
		filters[topic] = 1
	}
	tok := c.SubscribeMultiple(filters, nil).(*mqtt.SubscribeToken)
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("no SUBACK")
	}
	for _, topic := range matrixTopics {
		wantCode := byte(0x80)
		if slices.Contains(want, topic) {
			wantCode = 1
		}
		if got := tok.Result()[topic]; got != wantCode {
			t.Errorf("SUBACK for %s: %#x, want %#x", topic, got, wantCode)
		}
	}
}

// checkDeliveries subscribes to kessel/# (granted to everyone: each
// message is checked on delivery) and compares what arrives with want,
// first the retained messages, then live ones.
func checkDeliveries(t *testing.T, b *broker.Broker, who login, client string, want []string) {
	t.Helper()
	c, msgs, _ := mustDial(t, b.URL(), who, client)
	// At QoS 0: mochi-mqtt v2.7.9 refuses a SUBSCRIBE whose packet id
	// equals that of a QoS 1 message it has sent the client and not yet
	// seen acknowledged (one id space for both directions).
	subscribe := func(filter string) {
		t.Helper()
		tok := c.Subscribe(filter, 0, nil).(*mqtt.SubscribeToken)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil || tok.Result()[filter] != 0 {
			t.Fatalf("subscribe %s: %v %v", filter, tok.Error(), tok.Result())
		}
	}
	subscribe("kessel/#")
	// The broker sends a subscription's retained messages in order, so
	// the public alert's second copy, retained for a second subscription,
	// comes after all of the first's.
	subscribe(publicAlert)
	if got := collect(t, msgs, func(seen []string, m received) bool {
		return m.topic == publicAlert && slices.Contains(seen, publicAlert)
	}); !sameSet(got, want) {
		t.Errorf("retained messages received: %v; want %v", got, want)
	}
	for _, topic := range matrixTopics {
		if err := b.Publish(topic, []byte(matrixPayloads[topic]), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(publicAlert, []byte("end"), false, 1); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, msgs, func(_ []string, m received) bool { return m.payload == "end" }); !sameSet(got, want) {
		t.Errorf("live messages received: %v; want %v", got, want)
	}
}

// collect returns the topics received until last says a message is the
// last (which is not returned).
func collect(t *testing.T, msgs <-chan received, last func(seen []string, m received) bool) []string {
	t.Helper()
	var seen []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-msgs:
			if last(seen, m) {
				return seen
			}
			seen = append(seen, m.topic)
		case <-timeout:
			t.Fatalf("the last message did not arrive; received %v", seen)
		}
	}
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// TestClientIDTakeover: a client id that names a device login is that
// device's alone. Nobody else connecting with it knocks the device
// offline: they are refused with "identifier rejected" (0x02), counted;
// a client with wrong credentials learns nothing about client ids (0x05,
// not authorised, as for any wrong login).
func TestClientIDTakeover(t *testing.T) {
	var logs testenv.Buffer
	b, reg := startUsers(t, broker.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	victim, _, lost := mustDial(t, b.URL(), deviceA, "frost-a")
	refusedByID := 0
	for _, tc := range []struct {
		name     string
		who      login
		clientID string
		code     byte // CONNACK return code
	}{
		{"other device with the device's id", deviceB, "frost-a", 0x02},
		{"other device with the device's prefix form", deviceB, "frost-a@ota", 0x02},
		{"anonymous with the device's id", anonymous, "frost-a", 0x02},
		{"service login with the device's id", service, "frost-a", 0x02},
		{"device with another device's id", deviceA, "air-b", 0x02},
		{"device with an id not its own", deviceA, "sensor-7", 0x02},
		{"wrong password with the device's id", login{deviceB.user, "wrong"}, "frost-a", 0x05},
		{"device with its prefix form", deviceA, "frost-a@ota", 0x00},
		{"device with an id the broker assigns", deviceB, "", 0x00},
		{"service with its own id", service, "gateway-1", 0x00},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _, tok := dial(b.URL(), tc.who, tc.clientID)
			defer c.Disconnect(50)
			if got := tok.ReturnCode(); got != tc.code {
				t.Errorf("CONNACK %#x (%v), want %#x", got, tok.Error(), tc.code)
			}
			if tc.code == 0x02 {
				refusedByID++
			}
			// The device is still online: a QoS 1 round trip succeeds.
			if ptok := victim.Publish(kessel.ReadingsTopic("frost-a"), 1, false, `{"values":{"t":1}}`); !ptok.WaitTimeout(5*time.Second) || ptok.Error() != nil {
				t.Fatalf("the device's publish failed: %v", ptok.Error())
			}
			select {
			case err := <-lost:
				t.Fatalf("the device lost its connection: %v", err)
			default:
			}
		})
	}
	if got := counter(t, reg, "kessel_broker_connections_refused_total", "reason=client_id"); got != float64(refusedByID) {
		t.Errorf("refused for their client id: counted %g, want %d", got, refusedByID)
	}
	if got := counter(t, reg, "kessel_broker_connections_refused_total", "reason=credentials"); got != 1 {
		t.Errorf("refused for their credentials: counted %g, want 1", got)
	}
	// Logged once a minute at most, naming the first.
	if n := strings.Count(logs.String(), "client id is another login's"); n != 1 || !strings.Contains(logs.String(), "client=frost-a username=air-b") {
		t.Errorf("%d log lines about client ids, want 1 naming air-b's attempt:\n%s", n, logs.String())
	}
}

// TestOversizePacket: a publish over the packet limit disconnects its
// client, as MQTT requires, and is counted; the client id is logged, at
// most once a minute (mochi-mqtt refuses the packet from its header and
// never reads its topic or payload, so there is nothing to dead-letter).
func TestOversizePacket(t *testing.T) {
	var logs testenv.Buffer
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 5, 7, 0, 0, 0, time.UTC).UnixNano())
	b, reg := startUsers(t, broker.Options{MaxPacket: 1024, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now: func() time.Time { return time.Unix(0, now.Load()) }})
	for i, tc := range []struct {
		name      string
		payload   int
		advance   time.Duration
		dropped   float64 // counted so far
		logged    int     // log lines so far
		stillOpen bool
	}{
		{"under the limit", 900, 0, 0, 0, true},
		{"over the limit", 4096, 0, 1, 1, false},
		{"again within the minute", 64 << 10, 30 * time.Second, 2, 1, false},
		{"a minute later", 2048, time.Minute, 3, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now.Add(int64(tc.advance))
			client := fmt.Sprintf("air-b@big-%d", i)
			c, _, lost := mustDial(t, b.URL(), deviceB, client)
			c.Publish(kessel.ReadingsTopic("air-b"), 0, false, strings.Repeat("x", tc.payload))
			if tc.stillOpen {
				if tok := c.Publish(kessel.ReadingsTopic("air-b"), 1, false, "{}"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
					t.Fatalf("a packet under the limit: %v", tok.Error())
				}
			} else {
				select {
				case <-lost:
				case <-time.After(5 * time.Second):
					t.Fatal("still connected after an oversized packet")
				}
			}
			testenv.Eventually(t, 5*time.Second, func() bool {
				return counter(t, reg, "kessel_broker_packets_too_large_total") == tc.dropped
			}, "packets too large: want %g", tc.dropped)
			if got := strings.Count(logs.String(), "over the broker's limit"); got != tc.logged {
				t.Errorf("%d log lines, want %d:\n%s", got, tc.logged, logs.String())
			}
			if tc.logged > 0 && !strings.Contains(logs.String(), "client=air-b@big-1") {
				t.Errorf("the log does not name the client:\n%s", logs.String())
			}
		})
	}
}

// TestRestartKeepsMetaVisibility: after a restart with a data directory,
// the broker knows again which kept self-descriptions are public.
func TestRestartKeepsMetaVisibility(t *testing.T) {
	dir := t.TempDir()
	b, _ := startUsers(t, broker.Options{DataDir: dir})
	for _, topic := range []string{publicMeta, internalMeta} {
		if err := b.Publish(topic, []byte(matrixPayloads[topic]), true, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ = startUsers(t, broker.Options{DataDir: dir})
	c, _, _ := mustDial(t, b.URL(), deviceB, "air-b")
	tok := c.SubscribeMultiple(map[string]byte{publicMeta: 1, internalMeta: 1}, nil).(*mqtt.SubscribeToken)
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("no SUBACK")
	}
	if got := tok.Result(); got[publicMeta] != 1 || got[internalMeta] != 0x80 {
		t.Errorf("SUBACK %v; want %s granted, %s refused", got, publicMeta, internalMeta)
	}
}

// TestAnonymousCannotSpoofAlerts: an anonymous client may publish readings
// but not on Kessel's own topics (alerts, SensorThings): a service login
// subscribed to everything receives a reading published after the
// spoofed alerts, and none of the alerts.
func TestAnonymousCannotSpoofAlerts(t *testing.T) {
	b, _ := startUsers(t, broker.Options{})
	gw, msgs, _ := mustDial(t, b.URL(), service, "gw")
	if tok := gw.Subscribe("#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	spoofs := []string{publicAlert, internalAlert, "kessel/alerts", kessel.STAObservationsTopic("air-b", "pm10")}
	for i, topic := range spoofs { // mochi closes a 3.1.1 client's connection on a refused publish
		spoofer, _, _ := mustDial(t, b.URL(), anonymous, fmt.Sprint("spoofer-", i))
		spoofer.Publish(topic, 1, false, `{"state":"firing"}`).WaitTimeout(5 * time.Second)
	}
	anon, _, _ := mustDial(t, b.URL(), anonymous, "anon")
	if tok := anon.Publish(kessel.ReadingsTopic("air-x"), 1, false, `{"pm10":1}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("an anonymous reading: %v", tok.Error())
	}
	for {
		select {
		case m := <-msgs:
			if slices.Contains(spoofs, m.topic) {
				t.Fatalf("the service login received the spoofed %s", m.topic)
			}
			if m.topic == kessel.ReadingsTopic("air-x") {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the anonymous reading never arrived")
		}
	}
}
