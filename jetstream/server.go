// Package jetstream runs Kessel's default embedded broker: a NATS server
// with JetStream (a file store under the data directory) and its MQTT
// 3.1.1 listener. A device's QoS 1 PUBLISH is acknowledged (PUBACK) only
// after JetStream stored it in the stream $MQTT_msgs; Kessel reads the
// device topics from there through a durable consumer that exists before
// any device may connect, and acknowledges each message to JetStream only
// once it has been stored (see Consume). A QoS 0 PUBLISH is stored
// nowhere: Kessel takes it as it passes (see ConsumeQoS0), at most once.
// It is the only importer of nats-server and nats.go.
package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kessel-city/kessel/internal/loglimit"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// The stream the MQTT listener stores QoS 1 messages in, and its subjects.
const (
	mqttMsgsStream = "$MQTT_msgs"
	mqttMsgsPrefix = "$MQTT.msgs."
	// mqttPubHeader carries an MQTT message's QoS on its NATS copy.
	mqttPubHeader = "Nmqtt-Pub"
)

// ConsumerName is the durable JetStream consumer Kessel ingests from.
const ConsumerName = "kessel-ingest"

// Options configures the embedded broker.
type Options struct {
	// Addr is the MQTT listen address; default 127.0.0.1:1883. Port 0
	// picks a free port (read it back with Addr).
	Addr string
	// DataDir holds JetStream's file store (DataDir/jetstream): the
	// stored messages, the consumer's position, retained messages and
	// persistent sessions. Empty uses a temporary directory removed on
	// Close: nothing survives a restart then.
	DataDir string
	// MaxPayload is the largest message payload accepted, in bytes;
	// default 1 MiB. A larger PUBLISH closes the client's connection.
	MaxPayload int32
	// Match selects the topics Consume hands over (required). The durable
	// consumer reads every QoS 1 message of the stream and acknowledges
	// the others at once: a consumer with several subject filters costs
	// the server a walk of every stored subject per message (measured:
	// 87 % of the CPU of a drain of 1,000 devices' readings, 1.6k msgs/s).
	Match func(topic string) bool
	// AckWait is how long a message handed to Kessel may stay
	// unacknowledged before JetStream delivers it again; default 30 s.
	// Consume keeps the messages it holds from timing out.
	AckWait time.Duration
	// MaxAckPending bounds the messages delivered to Kessel and not yet
	// acknowledged; default 20000.
	MaxAckPending int
	// Users are the MQTT logins; Anonymous lets clients without a
	// username in (development: with no users, anonymous clients on
	// loopback read everything; elsewhere public alerts only, and with
	// Users also SensorThings Datastreams, see PublishSTA).
	Users     []User
	Anonymous bool
	Logger    *slog.Logger
	// Registerer receives the broker's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

func (o *Options) ensureDefaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:1883"
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = 1 << 20
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = 20000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Broker is the embedded NATS server with its MQTT listener.
type Broker struct {
	srv      *server.Server
	srvLog   *serverLog
	nc       *nats.Conn
	js       njs.JetStream
	consumer njs.Consumer
	held     tracker
	sta      *staGate
	opts     Options
	m        *metrics
	log      *slog.Logger
	tmpDir   string
	addr     string
	// cluster is set when Kessel joined an external cluster (ConnectCluster).
	cluster *clusterState
	// qos0 takes the QoS 0 device messages (qos0.go): from Start on in the
	// embedded broker, while ConsumeCluster runs in a cluster.
	qos0 atomic.Pointer[qos0Intake]
	// staListened caches STAListened.
	staListened atomic.Pointer[staListened]

	closeOnce sync.Once
	closeErr  error
}

// Start runs the server, makes sure the stream $MQTT_msgs and Kessel's
// durable consumer exist, and only then lets devices connect. It returns
// an EINVALID error for a bad user list or topic filter.
func Start(opts Options) (*Broker, error) {
	opts.ensureDefaults()
	if opts.Match == nil {
		return nil, errors.New("jetstream: Match is required")
	}
	log := opts.Logger.With("component", "broker")
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	auth, err := newAuthenticator(opts.Users, opts.Anonymous, m, log, loglimit.New(logEvery, opts.Now))
	if err != nil {
		return nil, err
	}
	sta, err := newSTAGate(opts.Anonymous && len(opts.Users) > 0, opts.Registerer)
	if err != nil {
		return nil, err
	}
	b := &Broker{opts: opts, m: m, log: log, sta: sta, held: newFloor()}
	dir := opts.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kessel-jetstream-"); err != nil {
			return nil, fmt.Errorf("jetstream: data dir: %w", err)
		}
		b.tmpDir = dir
		log.Warn("embedded broker keeps its messages in a temporary directory; set --mqtt-data to keep them across restarts", "dir", dir)
	}
	if err := b.startServer(dir, auth); err != nil {
		b.Close()
		return nil, err
	}
	if err := b.connect(auth); err != nil {
		b.Close()
		return nil, err
	}
	auth.ready.Store(true)
	return b, nil
}

// startServer runs the NATS server with JetStream and the MQTT listener
// and no NATS client listener (Kessel connects in process).
func (b *Broker) startServer(dir string, auth *authenticator) error {
	host, portStr, err := net.SplitHostPort(b.opts.Addr)
	if err != nil {
		return fmt.Errorf("jetstream: listen address %q: %w", b.opts.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("jetstream: listen address %q: bad port", b.opts.Addr)
	}
	if port == 0 {
		port = -1 // the server's "random port"
	}
	so := &server.Options{
		ServerName: "kessel", DontListen: true, NoSigs: true,
		JetStream: true, StoreDir: filepath.Join(dir, "jetstream"),
		MaxPayload:                 b.opts.MaxPayload,
		CustomClientAuthentication: auth,
		MQTT:                       server.MQTTOpts{Host: host, Port: port},
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return fmt.Errorf("jetstream: server: %w", err)
	}
	b.srv = srv
	auth.clientID = b.mqttClientID
	sl := &serverLog{log: b.log, m: b.m, mqtt5: loglimit.New(logEvery, b.opts.Now), denied: loglimit.New(logEvery, b.opts.Now)}
	b.srvLog = sl
	srv.SetLoggerV2(sl, false, false, false)
	srv.Start()
	for deadline := time.Now().Add(30 * time.Second); !srv.ReadyForConnections(100 * time.Millisecond); {
		if msg := sl.fatal.Load(); msg != nil || time.Now().After(deadline) {
			why := "timed out"
			if msg != nil {
				why = *msg
			}
			return fmt.Errorf("jetstream: MQTT listener on %s: %s", b.opts.Addr, why)
		}
	}
	// The server writes the port it took into the options it was given.
	b.addr = net.JoinHostPort(host, strconv.Itoa(so.MQTT.Port))
	return nil
}

// mqttClientID returns the MQTT client id of connection id ("" if unknown).
func (b *Broker) mqttClientID(id uint64) string {
	cz, err := b.srv.Connz(&server.ConnzOptions{CID: id})
	if err != nil || len(cz.Conns) != 1 {
		return ""
	}
	return cz.Conns[0].MQTTClient
}

// connect opens Kessel's in-process connection and makes sure the stream
// and the durable consumer exist, with the same stream configuration the
// MQTT listener would create.
func (b *Broker) connect(auth *authenticator) error {
	nc, err := nats.Connect("", nats.InProcessServer(b.srv), nats.UserInfo(auth.internal.user, auth.internal.password),
		nats.Name("kessel"), nats.MaxReconnects(-1), nats.ErrorHandler(b.asyncError))
	if err != nil {
		return fmt.Errorf("jetstream: connect: %w", err)
	}
	b.nc = nc
	if b.js, err = njs.New(nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = b.js.CreateStream(ctx, njs.StreamConfig{
		Name: mqttMsgsStream, Subjects: []string{mqttMsgsPrefix + ">"},
		Storage: njs.FileStorage, Retention: njs.InterestPolicy, Replicas: 1,
	})
	if err != nil && !errors.Is(err, njs.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("jetstream: stream %s: %w", mqttMsgsStream, err)
	}
	if err := b.ensureConsumer(ctx); err != nil {
		return err
	}
	// Listening for QoS 0 messages before devices may connect, so that
	// those that come before ingest runs are counted.
	q := newQoS0Intake(b.m, b.log, b.opts.Now)
	b.qos0.Store(q)
	if err := q.subscribe(b, ""); err != nil {
		return fmt.Errorf("jetstream: QoS 0 subscription: %w", err)
	}
	return b.redeliverPending(ctx)
}

// ensureConsumer creates Kessel's durable consumer, or updates it. It
// acknowledges by floor (AckAll, see floor). JetStream cannot change a
// consumer's ack policy, and a stream with interest retention drops what
// no consumer wants: one made by an earlier Kessel (AckExplicit) is
// replaced while a second consumer holds the stream's messages, so the new
// one gets every message still stored (those the old one had acknowledged
// and others still wanted come again, and are stored once).
func (b *Broker) ensureConsumer(ctx context.Context) error {
	hold := ConsumerName + "-hold"
	old, err := b.js.Consumer(ctx, mqttMsgsStream, ConsumerName)
	if err == nil && old.CachedInfo().Config.AckPolicy != njs.AckAllPolicy {
		if _, err := b.js.CreateOrUpdateConsumer(ctx, mqttMsgsStream, njs.ConsumerConfig{Durable: hold,
			Description: "Kessel: holds the stream while its ingest consumer is replaced", AckPolicy: njs.AckExplicitPolicy,
			DeliverPolicy: njs.DeliverAllPolicy}); err != nil {
			return fmt.Errorf("jetstream: consumer %s: %w", hold, err)
		}
		if err := b.js.DeleteConsumer(ctx, mqttMsgsStream, ConsumerName); err != nil {
			return fmt.Errorf("jetstream: replace consumer %s: %w", ConsumerName, err)
		}
		b.log.Info("ingest consumer replaced by one that acknowledges by floor", "consumer", ConsumerName)
	}
	b.consumer, err = b.js.CreateOrUpdateConsumer(ctx, mqttMsgsStream, njs.ConsumerConfig{
		Durable: ConsumerName, Description: "Kessel ingest: device messages, acknowledged once stored in InfluxDB",
		AckPolicy: njs.AckAllPolicy, AckWait: b.opts.AckWait,
		MaxAckPending: b.opts.MaxAckPending, DeliverPolicy: njs.DeliverAllPolicy, MaxDeliver: -1,
	})
	if err != nil {
		return fmt.Errorf("jetstream: consumer %s: %w", ConsumerName, err)
	}
	// A replacement cut short leaves the holder: the new consumer exists now.
	if err := b.js.DeleteConsumer(ctx, mqttMsgsStream, hold); err != nil && !errors.Is(err, njs.ErrConsumerNotFound) {
		return fmt.Errorf("jetstream: consumer %s: %w", hold, err)
	}
	return nil
}

// redeliverPending hands out again, at once, what the previous run had
// been given and not acknowledged (it crashed, or stopped before
// storing): no one else consumes, so those deliveries are dead, and
// JetStream would otherwise wait AckWait after the restart. The consumer
// goes back to its ack floor; with interest retention the messages
// acknowledged above it are gone from the stream, so only the
// unacknowledged ones come again.
func (b *Broker) redeliverPending(ctx context.Context) error {
	n := b.consumer.CachedInfo().NumAckPending
	if n == 0 {
		return nil
	}
	subj := fmt.Sprintf("$JS.API.CONSUMER.RESET.%s.%s", mqttMsgsStream, ConsumerName)
	resp, err := b.nc.RequestWithContext(ctx, subj, []byte("{}"))
	if err != nil {
		return fmt.Errorf("jetstream: redeliver what the last run held: %w", err)
	}
	var r struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil || r.Error != nil {
		return fmt.Errorf("jetstream: redeliver what the last run held: %s", resp.Data)
	}
	b.log.Info("messages the last run held unacknowledged are delivered again", "count", n)
	return nil
}

// Publish sends a message from inside the process (alert transitions) to
// the broker's MQTT subscribers as an MQTT client's PUBLISH would: at QoS
// 0 to online subscribers, and at QoS 1 stored for QoS 1 subscriptions
// (persistent sessions get it when they come back). Retained messages are
// not supported (EINVALID).
func (b *Broker) Publish(ctx context.Context, topic string, payload []byte, retain bool, qos byte) error {
	if retain {
		return errors.New("jetstream: publish: retained messages from inside Kessel are not supported")
	}
	subj := Subject(topic)
	msg := &nats.Msg{Subject: subj, Data: payload, Header: nats.Header{mqttPubHeader: []string{strconv.Itoa(int(min(qos, 1)))}}}
	if err := b.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("jetstream: publish %s: %w", topic, err)
	}
	if qos == 0 {
		return nil
	}
	msg = &nats.Msg{Subject: mqttMsgsPrefix + subj, Data: payload, Header: msg.Header}
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("jetstream: publish %s: %w", topic, err)
	}
	return nil
}

// Addr returns the address the MQTT listener listens on.
func (b *Broker) Addr() string { return b.addr }

// URL returns the MQTT listener's address as a URL for clients.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close gives back (NAK) the messages Consume handed over that were not
// acknowledged, stops the server (the file store is flushed) and removes a
// temporary data directory. Calls after the first return the first's error.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		if b.nc != nil {
			b.held.nakAll()
			if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
				b.log.Warn("acknowledgements may not have reached the stream; those messages will be delivered again", "err", err)
			}
			b.nc.Close()
		}
		if b.srv != nil {
			b.srvLog.closing.Store(true)
			b.srv.Shutdown()
			b.srv.WaitForShutdown()
		}
		if b.tmpDir != "" {
			b.closeErr = os.RemoveAll(b.tmpDir)
		}
	})
	return b.closeErr
}
