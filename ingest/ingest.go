// Package ingest receives sensor messages over MQTT (and HTTP push), decodes
// and validates them, enriches them from the device registry and stores them,
// at least once: an MQTT message is acknowledged only after the store has
// confirmed the write of its readings, or of its dead letter when it was bad.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/internal/mqttconn"
)

// Store is where readings and dead letters go. Errors with code EINVALID are
// permanent (the data will never be accepted); any other error is retried.
type Store interface {
	WriteReadings(ctx context.Context, rs []kessel.Reading) error
	WriteDeadLetters(ctx context.Context, dls []kessel.DeadLetter) error
}

// Devices is what ingest needs of the device registry.
type Devices interface {
	// Describe applies a device's self-description from its meta topic.
	Describe(d kessel.Device) error
	// Enrich fills a reading's kind, district and department from the
	// registry, registering an unknown device if the policy allows; it
	// returns an error when the device must be rejected.
	Enrich(r *kessel.Reading) error
	// Observe records stored readings as their devices' latest.
	Observe(rs []kessel.Reading)
}

// Options configures an Ingester. Zero values take the defaults noted.
type Options struct {
	// Broker is the MQTT URL of an external broker, e.g. tcp://127.0.0.1:1883.
	// Empty means no MQTT client: messages arrive through Enqueue (from the
	// embedded broker) and Submit (HTTP push).
	Broker   string
	ClientID string // required: the persistent session's stable id
	Username string
	Password string
	// SharedGroup, when set, subscribes to readings through $share/<group>/
	// so that several ingesters split one stream.
	SharedGroup string
	// MaxInflight bounds messages received but not yet acknowledged; default 20000.
	MaxInflight int
	// BatchSize is the most messages written in one store call; default 5000.
	BatchSize int
	// Watch, when set, sees every accepted reading as soon as it is
	// decoded and enriched, before the batch is written (the alert engine:
	// an alert should not wait for the batching). It must not block.
	Watch func([]kessel.Reading)
	// Follow makes a read-only follower for an API-only instance: it
	// subscribes on a clean session, decodes and hands readings to Devices
	// to keep the live state current, and writes nothing; the ingesting
	// instances store and acknowledge.
	Follow bool
	// FlushInterval is how long the loop waits for a batch to fill once it
	// holds a message; default 100ms. Larger batches cost less per message;
	// the wait adds to the time before a message is acknowledged.
	FlushInterval time.Duration
	// TTS, when TTS.Broker is set, is a second MQTT connection, to a The
	// Things Stack server, whose uplinks are stored like those that reach
	// Kessel's own broker.
	TTS    TTSSource
	Limits Limits
	Logger *slog.Logger
	// Registerer receives the ingest metrics; nil means none are exported.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Topics Kessel subscribes to.
const (
	TopicReadings = kessel.DeviceTopicPrefix + "+/readings"
	TopicMeta     = kessel.DeviceTopicPrefix + "+/meta"
	TopicTTS      = "v3/+/devices/+/up"
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

type message struct {
	topic    string
	payload  []byte
	received time.Time
	ack      func()
	result   chan error // for synchronous submissions
}

// Ingester consumes MQTT messages and stores them. Create it with New and
// run it with Run.
type Ingester struct {
	store   Store
	devices Devices
	opts    Options
	log     *slog.Logger
	m       *metrics

	in        chan message
	client    mqtt.Client
	closing   atomic.Bool
	storeOK   atomic.Bool
	connected atomic.Bool
	// ttsConnected is the connection to The Things Stack (Options.TTS).
	ttsConnected atomic.Bool
	seq          atomic.Uint64

	logLimit logLimiter

	fcntMu sync.Mutex
	fcnt   map[string]uint32 // last LoRaWAN frame counter per device
}

// New checks opts and returns an Ingester; it does not connect yet.
func New(store Store, devices Devices, opts Options) (*Ingester, error) {
	if store == nil || devices == nil {
		return nil, errors.New("ingest: store and devices are required")
	}
	if opts.Broker != "" && opts.ClientID == "" {
		return nil, kessel.Errorf(kessel.EINVALID, "ingest: an MQTT client id is required for the persistent session")
	}
	if strings.ContainsAny(opts.SharedGroup, "/+#") {
		return nil, kessel.Errorf(kessel.EINVALID, "ingest: shared group %q must not contain '/', '+' or '#'", opts.SharedGroup)
	}
	if opts.TTS.Broker != "" {
		if opts.TTS.ClientID == "" {
			return nil, kessel.Errorf(kessel.EINVALID, "ingest: a client id is required for the TTS connection")
		}
		if strings.ContainsAny(opts.TTS.Username, "/+#") {
			return nil, kessel.Errorf(kessel.EINVALID, "ingest: TTS username %q must not contain '/', '+' or '#'", opts.TTS.Username)
		}
		if opts.Follow {
			return nil, kessel.Errorf(kessel.EINVALID, "ingest: a follower does not read from TTS")
		}
	}
	if opts.MaxInflight <= 0 {
		opts.MaxInflight = 20000
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 5000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Limits.ensureDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("ingest: metrics: %w", err)
	}
	in := &Ingester{
		store:   store,
		devices: devices,
		opts:    opts,
		log:     opts.Logger.With("component", "ingest"),
		m:       m,
		in:      make(chan message, opts.MaxInflight),
		fcnt:    map[string]uint32{},
	}
	in.storeOK.Store(true)
	return in, nil
}

// Ready reports an EUNAVAILABLE error while the ingester is not connected to
// its broker or cannot write to the store. The TTS connection is not part of
// readiness (a third party's outage must not take Kessel out of a load
// balancer); see TTSReady and the kessel_ingest_connected metric.
func (in *Ingester) Ready(context.Context) error {
	if !in.connected.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to the MQTT broker"}
	}
	if !in.storeOK.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "store writes are failing; messages are held unacknowledged"}
	}
	return nil
}

// TTSReady reports an EUNAVAILABLE error while a configured connection to
// The Things Stack is down; nil without one.
func (in *Ingester) TTSReady(context.Context) error {
	if in.opts.TTS.Broker != "" && !in.ttsConnected.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to The Things Stack at " + in.opts.TTS.Broker}
	}
	return nil
}

func (in *Ingester) subscriptions() map[string]byte {
	readings, tts := TopicReadings, TopicTTS
	if g := in.opts.SharedGroup; g != "" && !in.opts.Follow {
		readings = "$share/" + g + "/" + readings
		tts = "$share/" + g + "/" + tts
	}
	// Every ingester needs every device description, so meta is never shared.
	return map[string]byte{readings: 1, tts: 1, TopicMeta: 1}
}

// Run stores messages until ctx ends. With a Broker it connects,
// subscribes (again on every reconnect) and consumes; without one it stores
// what Enqueue hands it. With a TTS server it also reads uplinks from
// there. When ctx ends it stops taking messages, stores and acknowledges
// those it already holds (within drainTimeout) and disconnects; MQTT
// messages it did not store stay unacknowledged, so the broker redelivers
// them.
func (in *Ingester) Run(ctx context.Context) error {
	var clients []mqtt.Client
	var srcs []source
	if in.opts.Broker == "" {
		in.connected.Store(true)
	} else {
		srcs = append(srcs, source{
			name: "broker", url: in.opts.Broker, clientID: in.opts.ClientID,
			username: in.opts.Username, password: in.opts.Password,
			clean: in.opts.Follow, subscriptions: in.subscriptions(), connected: &in.connected,
		})
	}
	if t := in.opts.TTS; t.Broker != "" {
		srcs = append(srcs, source{
			name: "tts", url: t.Broker, clientID: t.ClientID, username: t.Username, password: t.Password,
			// The Things Stack's MQTT server serves QoS 0 only, so there is no
			// session to resume: a clean one, and nothing to acknowledge.
			clean: true, subscriptions: map[string]byte{t.topic(): 0}, connected: &in.ttsConnected,
		})
	}
	for _, src := range srcs {
		c := in.newClient(src)
		if src.name == "broker" {
			in.client = c
		}
		clients = append(clients, c)
	}
	for i, c := range clients {
		go in.connect(ctx, c, srcs[i])
	}

	var wg sync.WaitGroup
	wg.Add(1)
	processCtx, stopProcessing := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer wg.Done()
		in.loop(ctx, processCtx)
	}()
	<-ctx.Done()
	in.closing.Store(true)
	// Give the loop time to store and acknowledge what it holds, then stop retrying.
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		in.log.Warn("drain timed out; unstored messages stay unacknowledged for redelivery")
		stopProcessing()
		<-drained
	}
	stopProcessing()
	for _, c := range clients {
		c.Disconnect(250)
	}
	in.connected.Store(false)
	in.ttsConnected.Store(false)
	return nil
}

// source is one MQTT connection the ingester reads from.
type source struct {
	name, url, clientID, username, password string
	clean                                   bool // no persistent session
	subscriptions                           map[string]byte
	connected                               *atomic.Bool
}

// newClient makes a paho client for src that subscribes on every
// (re)connection and hands messages to onMessage with manual
// acknowledgement.
func (in *Ingester) newClient(src source) mqtt.Client {
	log := in.log.With("source", src.name)
	up := in.m.connected.WithLabelValues(src.name)
	up.Set(0)
	set := func(ok bool) {
		src.connected.Store(ok)
		up.Set(map[bool]float64{false: 0, true: 1}[ok])
	}
	o := mqtt.NewClientOptions().
		AddBroker(src.url).
		SetClientID(src.clientID).
		SetUsername(src.username).
		SetPassword(src.password).
		SetCleanSession(src.clean).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(true). // once connected; the first connection is connect's loop
		SetMaxReconnectInterval(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetStore(noStore{}).
		SetDefaultPublishHandler(in.onMessage).
		SetOnConnectHandler(func(c mqtt.Client) { in.subscribe(c, src, log, set) }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			set(false)
			log.Warn("connection to broker lost; reconnecting", "broker", src.url, "err", err)
		}).
		SetReconnectingHandler(func(_ mqtt.Client, _ *mqtt.ClientOptions) {
			if n, ok := in.logLimit.allow("reconnect:"+src.name, in.opts.Now()); ok {
				log.Warn("reconnecting to broker", "broker", src.url, "attempts_since_last_log", n)
			}
		})
	if mqttconn.Supports(src.url) {
		o.SetCustomOpenConnectionFn(mqttconn.Open)
	}
	return mqtt.NewClient(o)
}

// subscribe subscribes c to src's topics. A broker may refuse a
// subscription it does not allow (SUBACK 0x80: The Things Stack for
// another application's topics, mosquitto's ACL) while the connection
// stands; that is logged with the refused topics, reported not connected,
// and tried again every 10 s while the connection lasts.
func (in *Ingester) subscribe(c mqtt.Client, src source, log *slog.Logger, set func(bool)) {
	// No per-subscription callback: paho would match every message
	// against each route by splitting both topics (8 % of ingest's CPU in
	// the drain profile); the default handler takes them all.
	t := c.SubscribeMultiple(src.subscriptions, nil)
	ok := t.WaitTimeout(30*time.Second) && t.Error() == nil
	var refused []string
	if st, isSub := t.(*mqtt.SubscribeToken); ok && isSub {
		for topic, code := range st.Result() {
			if code >= 0x80 {
				refused = append(refused, topic)
			}
		}
	}
	if !ok || len(refused) > 0 {
		set(false)
		log.Error("subscription failed; retrying in 10 s", "broker", src.url, "refused", refused, "err", t.Error())
		time.AfterFunc(10*time.Second, func() {
			if c.IsConnectionOpen() {
				in.subscribe(c, src, log, set)
			}
		})
		return
	}
	set(true)
	log.Info("connected and subscribed", "broker", src.url, "client_id", src.clientID, "topics", src.subscriptions)
}

// connect makes c's first connection, retrying with backoff until it
// succeeds or ctx ends and logging why an attempt failed (a wrong password
// must not go unnoticed); paho reconnects by itself after that.
func (in *Ingester) connect(ctx context.Context, c mqtt.Client, src source) {
	for delay := time.Second; ; delay = min(2*delay, 10*time.Second) {
		t := c.Connect()
		select {
		case <-t.Done():
		case <-ctx.Done():
			return
		}
		if t.Error() == nil {
			return
		}
		if n, ok := in.logLimit.allow("connect:"+src.name, in.opts.Now()); ok {
			in.log.Error("cannot connect to broker; retrying", "source", src.name, "broker", src.url, "client_id", src.clientID, "err", t.Error(), "failures_since_last_log", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

const drainTimeout = 10 * time.Second

// onMessage runs on paho's router goroutine; it hands the message to the
// loop, blocking while MaxInflight messages are unacknowledged.
func (in *Ingester) onMessage(_ mqtt.Client, m mqtt.Message) {
	if in.closing.Load() {
		return // not acknowledged: the broker redelivers it to the next session
	}
	in.m.inflight.Inc()
	msg := message{topic: m.Topic(), payload: m.Payload(), received: in.opts.Now()}
	if m.Qos() > 0 {
		msg.ack = m.Ack // a QoS 0 message (from The Things Stack) has nothing to acknowledge
	}
	in.in <- msg
}

// Publish sends a message at QoS 1 over the ingester's own connection to
// the external broker (alerts use it). EUNAVAILABLE when not connected.
func (in *Ingester) Publish(ctx context.Context, topic string, payload []byte, retain bool) error {
	if in.client == nil || !in.connected.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to the MQTT broker"}
	}
	t := in.client.Publish(topic, 1, retain, payload)
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Enqueue hands a message to the store loop, waiting while MaxInflight
// messages are queued (back-pressure) or until ctx ends. It returns once the
// message is queued, not stored; an EUNAVAILABLE error when the ingester is
// shutting down. It is how the embedded broker delivers.
func (in *Ingester) Enqueue(ctx context.Context, topic string, payload []byte) error {
	if in.closing.Load() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "ingest is shutting down"}
	}
	in.m.inflight.Inc()
	select {
	case in.in <- message{topic: topic, payload: payload, received: in.opts.Now()}:
		return nil
	case <-ctx.Done():
		in.m.inflight.Dec()
		return fmt.Errorf("ingest: enqueue: %w", ctx.Err())
	}
}

// Match reports whether topic is one the ingester reads, for a broker
// that delivers through Enqueue.
func Match(topic string) bool {
	if _, _, ok := parseTTSTopic(topic); ok {
		return true
	}
	_, _, ok := parseTopic(topic)
	return ok
}

// Submit stores one message synchronously, as HTTP push does. It returns
// nil when the readings were stored; an EINVALID error whose message starts
// with the rejection reason when the message was bad (it is then kept as a
// dead letter); EUNAVAILABLE when the store did not accept it before ctx ended.
func (in *Ingester) Submit(ctx context.Context, topic string, payload []byte) error {
	msg := message{topic: topic, payload: payload, received: in.opts.Now(), result: make(chan error, 1)}
	in.m.inflight.Inc()
	if !in.process(ctx, []message{msg}) {
		in.m.inflight.Dec()
		return fmt.Errorf("ingest: submit: %w", &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "the store is not accepting writes; retry later"})
	}
	err := <-msg.result
	var rej *Rejection
	if errors.As(err, &rej) {
		return &kessel.Error{Code: kessel.EINVALID, Message: rej.Reason + ": " + rej.Detail}
	}
	return err
}

// loop batches whatever messages are waiting (up to BatchSize, waiting up
// to FlushInterval to fill), decodes them, and hands them to a writer
// goroutine, so that the next batch is decoded while the last is written.
// It returns once ctx is done, the queue is empty and the writer finished.
func (in *Ingester) loop(ctx, processCtx context.Context) {
	writes := make(chan *prepared, 1)
	writerDone := make(chan struct{})
	// Batches are reused once written: at BatchSize capacity from the
	// start, they never regrow (growing them was 7 % of ingest's CPU).
	free := make(chan *prepared, 3)
	go func() {
		defer close(writerDone)
		for p := range writes {
			if !in.commit(processCtx, p) {
				for range writes { // drain; those messages stay unacknowledged
				}
				return
			}
			p.reset()
			select {
			case free <- p:
			default:
			}
		}
	}()
	defer func() {
		close(writes)
		<-writerDone
	}()
	for {
		var p *prepared
		select {
		case p = <-free:
		default:
			p = newPrepared(in.opts.BatchSize)
		}
		select {
		case msg := <-in.in:
			in.prepareOne(p, msg)
		case <-ctx.Done():
			select {
			case msg := <-in.in:
				in.prepareOne(p, msg)
			default:
				return
			}
		case <-writerDone:
			return
		}
		// Take what is waiting; then wait up to FlushInterval for more,
		// unless shutting down. Each message is decoded as it comes, so
		// alerts (Watch) see it without waiting for the batch.
		deadline := time.NewTimer(in.opts.FlushInterval)
	fill:
		for len(p.batch) < in.opts.BatchSize {
			select {
			case msg := <-in.in:
				in.prepareOne(p, msg)
				continue
			default:
			}
			if ctx.Err() != nil {
				break
			}
			select {
			case msg := <-in.in:
				in.prepareOne(p, msg)
			case <-deadline.C:
				break fill
			case <-ctx.Done():
				break fill
			}
		}
		deadline.Stop()
		in.finish(p)
		select {
		case writes <- p:
		case <-writerDone:
			return
		}
	}
}

// process decodes, stores and acknowledges a batch. It returns false when
// ctx ended before the store accepted the batch; nothing was acknowledged then.
func (in *Ingester) process(ctx context.Context, batch []message) bool {
	return in.commit(ctx, in.prepare(batch))
}

// prepared is a decoded batch waiting to be written and acknowledged.
type prepared struct {
	batch             []message
	readings          []kessel.Reading
	dead              []kessel.DeadLetter
	owner             []int    // index into batch of each reading
	format            []string // wire format of each message in batch
	deadFormat        []string // wire format of each dead letter
	rejects           []error
	received, decoded map[string]int // by wire format
}

// prepare decodes, validates and enriches a batch; bad messages become
// dead letters.
func (in *Ingester) prepare(batch []message) *prepared {
	p := newPrepared(len(batch))
	for _, msg := range batch {
		in.prepareOne(p, msg)
	}
	in.finish(p)
	return p
}

func newPrepared(n int) *prepared {
	return &prepared{batch: make([]message, 0, n), rejects: make([]error, 0, n), format: make([]string, 0, n),
		readings: make([]kessel.Reading, 0, n), owner: make([]int, 0, n), received: map[string]int{}, decoded: map[string]int{}}
}

// reset empties p for reuse, dropping what it referenced.
func (p *prepared) reset() {
	clear(p.batch)
	clear(p.readings)
	clear(p.dead)
	clear(p.rejects)
	p.batch, p.readings, p.dead, p.rejects = p.batch[:0], p.readings[:0], p.dead[:0], p.rejects[:0]
	p.owner, p.format, p.deadFormat = p.owner[:0], p.format[:0], p.deadFormat[:0]
	clear(p.received)
	clear(p.decoded)
}

// prepareOne decodes, validates and enriches one message into p (a bad
// one becomes a dead letter) and shows its readings to Watch at once.
func (in *Ingester) prepareOne(p *prepared, msg message) {
	i := len(p.batch)
	p.batch = append(p.batch, msg)
	p.rejects = append(p.rejects, nil)
	dec, err := Decode(msg.topic, msg.payload, msg.received, in.opts.Limits)
	p.received[dec.Format]++
	p.format = append(p.format, dec.Format)
	if err == nil && dec.FCnt != nil && len(dec.Readings) == 1 {
		in.trackFCnt(&dec.Readings[0], *dec.FCnt)
	}
	if err == nil && dec.Meta != nil {
		err = in.devices.Describe(*dec.Meta)
	}
	for j := range dec.Readings {
		if err != nil {
			break
		}
		err = in.devices.Enrich(&dec.Readings[j])
	}
	if err != nil {
		p.rejects[i] = err
		p.dead = append(p.dead, in.deadLetter(msg, err))
		p.deadFormat = append(p.deadFormat, dec.Format)
		return
	}
	p.decoded[dec.Format]++
	for range dec.Readings {
		p.owner = append(p.owner, i)
	}
	p.readings = append(p.readings, dec.Readings...)
	if in.opts.Watch != nil && len(dec.Readings) > 0 {
		in.opts.Watch(dec.Readings)
	}
}

// finish counts a prepared batch in the metrics (per batch: label lookups
// are not free).
func (in *Ingester) finish(p *prepared) {
	for f, n := range p.received {
		in.m.received.WithLabelValues(f).Add(float64(n))
	}
	for f, n := range p.decoded {
		in.m.decoded.WithLabelValues(f).Add(float64(n))
	}
}

// commit writes a prepared batch (retrying while the store is down) and
// then acknowledges its messages. It returns false when ctx ended first;
// nothing was acknowledged then.
func (in *Ingester) commit(ctx context.Context, p *prepared) bool {
	batch, readings, dead, owner, rejects := p.batch, p.readings, p.dead, p.owner, p.rejects
	deadFormat := p.deadFormat
	if in.opts.Follow {
		in.devices.Observe(readings)
		for _, msg := range batch {
			if msg.ack != nil {
				msg.ack()
			}
			in.m.inflight.Dec()
		}
		return true
	}
	if len(readings) > 0 {
		start := time.Now()
		err := in.retry(ctx, func(ctx context.Context) error { return in.store.WriteReadings(ctx, readings) })
		if kessel.ErrorCode(err) == kessel.EINVALID {
			// The store refused the batch: find the readings it refuses one by one.
			var kept []kessel.Reading
			var keptOwner []int
			for j, r := range readings {
				err := in.retry(ctx, func(ctx context.Context) error { return in.store.WriteReadings(ctx, []kessel.Reading{r}) })
				if kessel.ErrorCode(err) == kessel.EINVALID {
					rej := reject(ReasonStoreRejected, r.Device, "%s", kessel.ErrorMessage(err))
					rejects[owner[j]] = rej
					dead = append(dead, in.deadLetter(batch[owner[j]], rej))
					deadFormat = append(deadFormat, p.format[owner[j]])
					continue
				} else if err != nil {
					return false
				}
				kept = append(kept, r)
				keptOwner = append(keptOwner, owner[j])
			}
			readings, owner = kept, keptOwner
		} else if err != nil {
			return false
		}
		in.m.writeSeconds.Observe(time.Since(start).Seconds())
		in.m.batchSize.Observe(float64(len(readings)))
		in.countBy(in.m.written, len(owner), func(j int) string { return p.format[owner[j]] })
		in.devices.Observe(readings)
	}
	if len(dead) > 0 {
		if err := in.retry(ctx, func(ctx context.Context) error { return in.store.WriteDeadLetters(ctx, dead) }); err != nil {
			if kessel.ErrorCode(err) != kessel.EINVALID {
				return false
			}
			in.log.Error("store refused dead letters; acknowledging anyway", "count", len(dead), "err", err)
		}
		in.countBy(in.m.deadLettered, len(dead), func(j int) string { return deadFormat[j] })
	}
	acked := 0
	for i, msg := range batch {
		if msg.ack != nil {
			msg.ack()
			acked++
		}
		if msg.result != nil {
			msg.result <- rejects[i]
		}
	}
	if acked > 0 {
		in.countBy(in.m.acked, len(batch), func(i int) string {
			if batch[i].ack == nil {
				return ""
			}
			return p.format[i]
		})
	}
	in.m.inflight.Sub(float64(len(batch)))
	return true
}

// countBy adds n items to c, labelled by format(i) for i in [0, n); an
// empty format is not counted. Runs of one format (the common case) cost
// one label lookup.
func (in *Ingester) countBy(c *prometheus.CounterVec, n int, format func(i int) string) {
	run, count := "", 0
	for i := 0; i < n; i++ {
		f := format(i)
		if f != run {
			if count > 0 && run != "" {
				c.WithLabelValues(run).Add(float64(count))
			}
			run, count = f, 0
		}
		count++
	}
	if count > 0 && run != "" {
		c.WithLabelValues(run).Add(float64(count))
	}
}

// trackFCnt records a LoRaWAN frame counter: a jump of more than one counts
// the frames in between as lost (metric and the reading's f_cnt_gap field);
// a lower counter is a device reset, not a loss.
func (in *Ingester) trackFCnt(r *kessel.Reading, fcnt uint32) {
	r.Values["f_cnt"] = float64(fcnt)
	in.fcntMu.Lock()
	last, seen := in.fcnt[r.Device]
	in.fcnt[r.Device] = fcnt
	in.fcntMu.Unlock()
	if seen && fcnt > last+1 {
		gap := fcnt - last - 1
		r.Values["f_cnt_gap"] = float64(gap)
		in.m.fcntGaps.Add(float64(gap))
	}
}

func (in *Ingester) deadLetter(msg message, err error) kessel.DeadLetter {
	if in.opts.Follow {
		return kessel.DeadLetter{} // the ingesting instance counts and keeps it
	}
	var rej *Rejection
	if !errors.As(err, &rej) {
		code := ReasonUnknownDevice
		if kessel.ErrorCode(err) != kessel.EFORBIDDEN && kessel.ErrorCode(err) != kessel.ENOTFOUND {
			code = ReasonBadMeta
		}
		rej = &Rejection{Reason: code, Detail: kessel.ErrorMessage(err)}
	}
	if rej.Device == "" {
		rej.Device, _, _ = parseTopic(msg.topic)
	}
	if rej.Device == "" {
		_, rej.Device, _ = parseTTSTopic(msg.topic)
	}
	in.m.rejected.WithLabelValues(rej.Reason).Inc()
	if n, ok := in.logLimit.allow(rej.Reason, msg.received); ok {
		in.log.Warn("message rejected", "reason", rej.Reason, "topic", msg.topic, "device", rej.Device, "detail", rej.Detail, "suppressed_since_last", n)
	}
	p := msg.payload
	if len(p) > kessel.DeadLetterPayloadLimit {
		p = p[:kessel.DeadLetterPayloadLimit]
	}
	// A distinct nanosecond per dead letter, so two never overwrite each other.
	t := msg.received.Truncate(time.Millisecond).Add(time.Duration(in.seq.Add(1) % 1_000_000))
	return kessel.DeadLetter{Time: t, Reason: rej.Reason, Topic: msg.topic, Device: rej.Device, Detail: rej.Detail, Payload: string(p)}
}

// retry calls write until it succeeds, fails permanently (EINVALID) or ctx
// ends, backing off from 100ms to 5s; readiness is false while it fails.
func (in *Ingester) retry(ctx context.Context, write func(context.Context) error) error {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := write(ctx)
		if err == nil {
			if !in.storeOK.Swap(true) {
				in.log.Info("store writes recovered")
			}
			return nil
		}
		if kessel.ErrorCode(err) == kessel.EINVALID {
			return err
		}
		in.m.writeErrors.Inc()
		if in.storeOK.Swap(false) {
			in.log.Error("store write failed; holding messages unacknowledged and retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// formatOf names a message's wire format for metrics.
func formatOf(topic string, payload []byte) string {
	if strings.HasSuffix(topic, "/meta") {
		return "meta"
	}
	for _, c := range payload {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return "senml"
		}
		break
	}
	return "native"
}

// logLimiter lets one log line per key through per interval, counting
// those it held back, so a flood of bad messages cannot flood the log.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

const logInterval = 10 * time.Second

func (l *logLimiter) allow(key string, now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.held = map[string]time.Time{}, map[string]int{}
	}
	if t, seen := l.last[key]; seen && now.Sub(t) < logInterval {
		l.held[key]++
		return 0, false
	}
	l.last[key] = now
	n := l.held[key]
	l.held[key] = 0
	return n, true
}
