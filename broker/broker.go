// Package broker runs Kessel's embedded MQTT broker (mochi-mqtt), so that a
// small installation needs no separate broker. It is the only importer of
// mochi-mqtt.
package broker

import (
	"context"
	"errors"
	"fmt"
	"github.com/kessel-city/kessel/internal/loglimit"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"

	"github.com/kessel-city/kessel"
)

// Options configures the embedded broker.
type Options struct {
	// Addr is the TCP address to listen on; default 127.0.0.1:1883.
	// Use port 0 for a free port and read it back with Addr().
	Addr string
	// MaxPacket is the largest packet accepted, in bytes; default 1 MiB.
	// A client that sends a larger one is disconnected, counted in
	// kessel_broker_packets_too_large_total and logged (at most once a
	// minute) with its client id.
	MaxPacket uint32
	// MaxPending is how many outbound messages a client may have queued
	// before the broker drops them for that client; default 65536, so a
	// burst to a slow subscriber is held, not lost.
	MaxPending int32
	Logger     *slog.Logger
	// Registerer receives the broker's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Deliver, when set, receives every message published on a topic that
	// Match accepts, synchronously, before the broker acknowledges it to
	// the publisher: a slow Deliver slows that publisher down instead of
	// queueing without bound. A Deliver error is logged; the message is
	// still acknowledged (it is the receiver's job to keep bad messages).
	Deliver func(topic string, payload []byte) error
	// Match selects the topics for Deliver.
	Match func(topic string) bool
	// Auth decides who may connect, publish where and read what. The zero
	// value lets nobody in; use Auth{Anonymous: true} for development.
	Auth Auth
	// Visibility, when set, returns the operator's word on a device's
	// visibility (false if the device is unknown): a device made internal
	// keeps its self-description from clients that may read only public
	// data, whatever the description itself declares. It must be safe for
	// concurrent use and fast (it is asked on every delivery of a
	// self-description).
	Visibility func(device string) (kessel.Visibility, bool)
	// DataDir, when set, keeps the broker's state in DataDir/broker.db
	// (bbolt): retained messages (devices' self-descriptions, the latest
	// alert of each rule and device), persistent sessions with their
	// subscriptions and unacknowledged messages. Empty keeps them in memory,
	// lost on restart.
	DataDir string
}

func (o *Options) ensureDefaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:1883"
	}
	if o.MaxPacket == 0 {
		o.MaxPacket = 1 << 20
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 1 << 16
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Broker is an embedded MQTT 3.1.1/5 broker.
type Broker struct {
	srv       *mqtt.Server
	ln        net.Listener
	closeOnce sync.Once
	closeErr  error
}

// Start listens on opts.Addr and serves MQTT until Close, letting in the
// clients opts.Auth allows. It returns an EINVALID error for a bad user
// list.
func Start(opts Options) (*Broker, error) {
	opts.ensureDefaults()
	if opts.Deliver != nil && opts.Match == nil {
		return nil, errors.New("broker: Deliver needs Match")
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = opts.MaxPacket
	caps.MaximumClientWritesPending = opts.MaxPending
	caps.MaximumInflight = 65535
	log := slog.New(quietHandler{opts.Logger.Handler()}).With("component", "broker")
	srv := mqtt.New(&mqtt.Options{Capabilities: caps, Logger: log, InlineClient: true})
	read := newReadRules(opts.Auth.Anonymous && len(opts.Auth.Users) == 0, opts.Visibility)
	if err := addHooks(srv, opts, read); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", opts.Addr, err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: listener: %w", err)
	}
	if err := srv.Serve(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	// Self-descriptions kept from the last run: until they are read, a
	// device counts as internal.
	for _, pk := range srv.Topics.Messages(kessel.DeviceTopicPrefix + "+/meta") {
		if dev, ok := kessel.MetaTopicDevice(pk.TopicName); ok {
			read.observeMeta(dev, pk.Payload, true)
		}
	}
	return &Broker{srv: srv, ln: ln}, nil
}

// addHooks adds, in order, access control, metrics, storage and delivery.
func addHooks(srv *mqtt.Server, opts Options, read *readRules) error {
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return err
	}
	ah, err := newAuthHook(opts.Auth, read, m)
	if err != nil {
		return err
	}
	ah.log, ah.limiter = opts.Logger.With("component", "broker"), loglimit.New(logEvery, opts.Now)
	ah.connack = func(cl *mqtt.Client, code packets.Code) error { return srv.SendConnack(cl, code, false, nil) }
	if err := srv.AddHook(ah, nil); err != nil {
		return fmt.Errorf("broker: auth hook: %w", err)
	}
	wh := &watchHook{m: m, log: ah.log, limit: opts.MaxPacket, limiter: loglimit.New(logEvery, opts.Now)}
	if err := srv.AddHook(wh, nil); err != nil {
		return fmt.Errorf("broker: watch hook: %w", err)
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return fmt.Errorf("broker: data dir: %w", err)
		}
		h := new(bolt.Hook)
		if err := srv.AddHook(h, &bolt.Options{Path: filepath.Join(opts.DataDir, "broker.db"), Options: &bbolt.Options{Timeout: 2 * time.Second}}); err != nil {
			return fmt.Errorf("broker: storage in %s: %w", opts.DataDir, err)
		}
	}
	if opts.Deliver != nil {
		h := &deliverHook{deliver: opts.Deliver, match: opts.Match, log: opts.Logger}
		if err := srv.AddHook(h, nil); err != nil {
			return fmt.Errorf("broker: deliver hook: %w", err)
		}
	}
	return nil
}

// Publish sends a message from inside the process (alerts) to the
// broker's subscribers.
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	if err := b.srv.Publish(topic, payload, retain, qos); err != nil {
		return fmt.Errorf("broker: publish %s: %w", topic, err)
	}
	return nil
}

// Addr returns the address the broker listens on.
func (b *Broker) Addr() string { return b.ln.Addr().String() }

// URL returns the broker's address as an MQTT URL for clients.
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Close disconnects every client and stops listening. Calls after the
// first return the first's error.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.closeErr = b.srv.Close()
		if err := b.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) && b.closeErr == nil {
			b.closeErr = err
		}
	})
	return b.closeErr
}

// deliverHook hands matching publishes to Deliver inside the publisher's
// read loop, so back-pressure reaches the publisher.
type deliverHook struct {
	mqtt.HookBase
	deliver func(topic string, payload []byte) error
	match   func(topic string) bool
	log     *slog.Logger
}

func (h *deliverHook) ID() string { return "kessel-deliver" }

func (h *deliverHook) Provides(b byte) bool { return b == mqtt.OnPublish }

func (h *deliverHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if h.match(pk.TopicName) {
		if err := h.deliver(pk.TopicName, pk.Payload); err != nil {
			h.log.Warn("delivering a message to ingest failed", "topic", pk.TopicName, "client", cl.ID, "err", err)
		}
	}
	return pk, nil
}

// quietHandler passes the broker's log records on, but lowers to debug the
// storage hook's "key not found" for the system info a fresh data
// directory does not hold yet: an error line on every first start would
// only alarm.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && r.Message == "failed to get data" {
		notFound := false
		r.Attrs(func(a slog.Attr) bool {
			notFound = a.Key == "error" && strings.Contains(a.Value.String(), "key not found")
			return !notFound
		})
		if notFound {
			if !h.Handler.Enabled(ctx, slog.LevelDebug) {
				return nil
			}
			r.Level = slog.LevelDebug
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(as)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
