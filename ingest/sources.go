package ingest

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel/internal/mqttconn"

	"github.com/kessel-city/kessel/internal/loglimit"
)

// TTSSource is a connection to The Things Stack's MQTT server. It serves
// MQTT 3.1.1 at QoS 0 only: uplinks sent while Kessel is disconnected are
// not redelivered (TTS's Storage Integration keeps them for a backfill).
type TTSSource struct {
	// Broker is the server's URL, e.g. ssl://eu1.cloud.thethings.network:8883
	// (TLS with the system's roots) or tcp://localhost:1883.
	Broker string
	// Username is the application id, with its tenant on TTS Cloud and
	// The Things Network ("app1@ttn"); Password an API key of the
	// application with the right to read its traffic.
	Username, Password string
	// ClientID is this connection's client id (required).
	ClientID string
}

// topic is the uplink topic of the application the credentials are for:
// TTS lets an application's key read only its own topics, so the
// subscription names it; without a username, every application's.
func (t TTSSource) topic() string {
	app := t.Username
	if app == "" {
		app = "+"
	}
	return "v3/" + app + "/devices/+/up"
}

// sourceConfig is one MQTT connection to read from.
type sourceConfig struct {
	name, url, clientID, username, password string
	clean                                   bool // no persistent session
	subscriptions                           map[string]byte
}

// resubscribeEvery is how often a refused subscription is tried again.
const resubscribeEvery = 10 * time.Second

// source is one MQTT connection: it connects (retrying until it
// succeeds), subscribes on every (re)connection and hands messages to its
// handler with manual acknowledgement. Start it with start and stop it
// with close, which waits for every goroutine it started.
type source struct {
	cfg       sourceConfig
	log       *slog.Logger
	logLimit  *loglimit.Limiter
	now       func() time.Time
	up        prometheus.Gauge
	client    mqtt.Client
	connected atomic.Bool
	retry     time.Duration // resubscribeEvery; shorter in tests

	mu     sync.Mutex
	closed bool
	resub  *time.Timer    // the pending resubscription, if any
	wg     sync.WaitGroup // the connect loop and running resubscriptions
}

func newSource(cfg sourceConfig, handler mqtt.MessageHandler, log *slog.Logger, limit *loglimit.Limiter, now func() time.Time, up prometheus.Gauge) *source {
	s := &source{cfg: cfg, log: log.With("source", cfg.name), logLimit: limit, now: now, up: up, retry: resubscribeEvery}
	up.Set(0)
	o := mqtt.NewClientOptions().
		AddBroker(cfg.url).
		SetClientID(cfg.clientID).
		SetUsername(cfg.username).
		SetPassword(cfg.password).
		SetCleanSession(cfg.clean).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(true). // once connected; the first connection is connect's loop
		SetMaxReconnectInterval(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetStore(noStore{}).
		SetDefaultPublishHandler(handler).
		SetOnConnectHandler(s.subscribe).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			s.set(false)
			s.log.Warn("connection to broker lost; reconnecting", "broker", cfg.url, "err", err)
		}).
		SetReconnectingHandler(func(_ mqtt.Client, _ *mqtt.ClientOptions) {
			if ok, n := s.logLimit.AllowAt("reconnect:"+cfg.name, s.now()); ok {
				s.log.Warn("reconnecting to broker", "broker", cfg.url, "attempts_since_last_log", n)
			}
		})
	if mqttconn.Supports(cfg.url) {
		o.SetCustomOpenConnectionFn(mqttconn.Open)
	}
	s.client = mqtt.NewClient(o)
	return s
}

func (s *source) set(ok bool) {
	s.connected.Store(ok)
	if ok {
		s.up.Set(1)
	} else {
		s.up.Set(0)
	}
}

// start makes the first connection in the background, until ctx ends.
func (s *source) start(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.connect(ctx)
	}()
}

// close stops a pending resubscription, disconnects and waits for the
// connect loop (which ends with start's ctx) and any running
// resubscription.
func (s *source) close() {
	s.mu.Lock()
	s.closed = true
	if s.resub != nil {
		s.resub.Stop()
		s.resub = nil
	}
	s.mu.Unlock()
	s.client.Disconnect(250)
	s.wg.Wait()
	s.set(false)
}

// connect makes the first connection, retrying with backoff until it
// succeeds or ctx ends and logging why an attempt failed (a wrong password
// must not go unnoticed); paho reconnects by itself after that.
func (s *source) connect(ctx context.Context) {
	for delay := time.Second; ; delay = min(2*delay, 10*time.Second) {
		t := s.client.Connect()
		select {
		case <-t.Done():
		case <-ctx.Done():
			return
		}
		if t.Error() == nil {
			return
		}
		if ok, n := s.logLimit.AllowAt("connect:"+s.cfg.name, s.now()); ok {
			s.log.Error("cannot connect to broker; retrying", "broker", s.cfg.url, "client_id", s.cfg.clientID, "err", t.Error(), "failures_since_last_log", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// subscribe subscribes to the source's topics. A broker may refuse a
// subscription it does not allow (SUBACK 0x80: The Things Stack for
// another application's topics, mosquitto's ACL) while the connection
// stands; that is logged with the refused topics, reported not connected,
// and tried again every s.retry while the connection lasts.
func (s *source) subscribe(c mqtt.Client) {
	// No per-subscription callback: paho would match every message
	// against each route by splitting both topics (8 % of ingest's CPU in
	// the drain profile); the default handler takes them all.
	t := c.SubscribeMultiple(s.cfg.subscriptions, nil)
	ok := t.WaitTimeout(30*time.Second) && t.Error() == nil
	var refused []string
	if st, isSub := t.(*mqtt.SubscribeToken); ok && isSub {
		for topic, code := range st.Result() {
			if code >= 0x80 {
				refused = append(refused, topic)
			}
		}
	}
	if ok && len(refused) == 0 {
		s.set(true)
		s.log.Info("connected and subscribed", "broker", s.cfg.url, "client_id", s.cfg.clientID, "topics", s.cfg.subscriptions)
		return
	}
	s.set(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed { // the source's own Disconnect cut the subscription short
		s.log.Debug("subscription ended by closing", "broker", s.cfg.url, "err", t.Error())
		return
	}
	s.log.Error("subscription failed; retrying", "broker", s.cfg.url, "refused", refused, "err", t.Error(), "in", s.retry)
	s.resub = time.AfterFunc(s.retry, s.resubscribe)
}

// resubscribe runs on the resubscription timer, as a goroutine close waits for.
func (s *source) resubscribe() {
	s.mu.Lock()
	s.resub = nil
	if s.closed || !s.client.IsConnectionOpen() {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.subscribe(s.client)
}

// pendingResubscription reports whether a resubscription is scheduled.
func (s *source) pendingResubscription() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resub != nil
}
