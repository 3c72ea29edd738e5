package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel"
)

// Names in an external NATS cluster (see Connect).
const (
	// DefaultGroup is the group of Kessel replicas unless
	// ClusterOptions.Group names another (see groupNames).
	DefaultGroup = "kessel"
	// partitionGroup is the priority group of the partition consumers:
	// the server pins each consumer to one client at a time.
	partitionGroup = "kessel"
	// storedHeader carries when $MQTT_msgs stored a message (RFC 3339),
	// so that a reading without its own time gets that time however often
	// and through whichever replica it is delivered.
	storedHeader = "Kessel-Stored"
)

// ClusterOptions configures Kessel's connection to an external NATS
// cluster (ConnectCluster).
type ClusterOptions struct {
	// URLs are the cluster's servers (nats://host:4222); required.
	URLs []string
	// Credentials: a user and password, a token, or a credentials file
	// (JWT and NKey seed); at most one kind.
	User, Password, Token, CredsFile string
	// Name names this replica's connection in the server's monitoring.
	Name string
	// Replicas is how many servers keep each stream; default 3. The
	// streams are created with it when they do not exist yet.
	Replicas int
	// Partitions is how many partition consumers split the devices;
	// default 8. All replicas of a group must use the same number.
	Partitions int
	// Group names the replicas that share one set of consumers (and store
	// into one InfluxDB); default DefaultGroup. Two groups each receive
	// every message: the stream keeps it until both acknowledged it.
	Group string
	// Match selects the topics Kessel ingests (required); see Options.
	Match func(topic string) bool
	// AckWait: see Options; default 10 s. PinnedTTL, how long a replica
	// keeps its partitions without asking for messages, is AckWait + 5 s.
	AckWait       time.Duration
	MaxAckPending int
	Logger        *slog.Logger
	Registerer    prometheus.Registerer
}

func (o *ClusterOptions) ensureDefaults() error {
	if len(o.URLs) == 0 {
		return kessel.Errorf(kessel.EINVALID, "jetstream: --nats needs at least one server URL")
	}
	if o.Match == nil {
		return errors.New("jetstream: Match is required")
	}
	kinds := 0
	for _, s := range []string{o.User, o.Token, o.CredsFile} {
		if s != "" {
			kinds++
		}
	}
	if kinds > 1 {
		return kessel.Errorf(kessel.EINVALID, "jetstream: give a NATS user, a token or a credentials file, not more than one")
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if !groupPattern.MatchString(o.Group) {
		return kessel.Errorf(kessel.EINVALID, "jetstream: group %q: use 1 to 32 of a-z, 0-9 and -, starting with a letter or digit", o.Group)
	}
	if o.Replicas <= 0 {
		o.Replicas = 3
	}
	if o.Partitions <= 0 {
		o.Partitions = 8
	}
	if o.AckWait <= 0 {
		o.AckWait = 10 * time.Second
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = 20000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// ConnectCluster joins an external NATS cluster whose servers run
// JetStream and the MQTT listener the devices publish to. It makes sure
// that the stream $MQTT_msgs, Kessel's durable consumer on it (shared by
// all replicas: it routes each message into its device's partition), the
// partition stream and one durable consumer per partition exist, so no
// device's QoS 1 message is acknowledged and then dropped for want of
// interest. Start the replicas before the devices publish.
func ConnectCluster(ctx context.Context, opts ClusterOptions) (*Broker, error) {
	if err := opts.ensureDefaults(); err != nil {
		return nil, err
	}
	log := opts.Logger.With("component", "nats")
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	b := &Broker{log: log, m: m, held: &held{msgs: map[uint64]heldMsg{}},
		opts:    Options{Match: opts.Match, AckWait: opts.AckWait, MaxAckPending: opts.MaxAckPending, Logger: opts.Logger, Now: time.Now},
		cluster: &clusterState{opts: opts, names: namesOf(opts.Group)}}
	if err := b.dial(opts); err != nil {
		return nil, err
	}
	if err := b.setUpStreams(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// clusterState is what a Broker joined to an external cluster has.
type clusterState struct {
	opts  ClusterOptions
	names groupNames
	// created distinguishes $MQTT_msgs incarnations in message ids.
	created int64
	parts   []njs.Consumer
	ps      njs.Stream
}

func (b *Broker) dial(o ClusterOptions) error {
	nopts := []nats.Option{nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true), nats.ErrorHandler(b.asyncError),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { b.log.Warn("disconnected from NATS; reconnecting", "err", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { b.log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted()) }),
	}
	switch {
	case o.User != "":
		nopts = append(nopts, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		nopts = append(nopts, nats.Token(o.Token))
	case o.CredsFile != "":
		nopts = append(nopts, nats.UserCredentials(o.CredsFile))
	}
	nc, err := nats.Connect(strings.Join(o.URLs, ","), nopts...)
	if err != nil {
		return fmt.Errorf("jetstream: connect to %s: %w", strings.Join(o.URLs, ","), err)
	}
	b.nc = nc
	// A routed message whose store was lost with a server must not wait
	// for its acknowledgement for ever.
	if b.js, err = njs.New(nc, njs.WithPublishAsyncTimeout(5*time.Second)); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}

// setUpAttempt bounds one attempt of setUpStreams: a JetStream API
// request sent while the cluster has no meta leader (a server just came
// back and an election runs) is never answered, and must not use up the
// whole 60 s.
const setUpAttempt = 10 * time.Second

// setUpStreams creates what does not exist yet; it retries until ctx
// ends (or 60 s), since a cluster that just started may have no JetStream
// leader yet.
func (b *Broker) setUpStreams(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		actx, cancelAttempt := context.WithTimeout(ctx, setUpAttempt)
		err := b.trySetUp(actx)
		cancelAttempt()
		if err == nil {
			return nil
		}
		b.log.Warn("setting up the streams in NATS failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

func (b *Broker) trySetUp(ctx context.Context) error {
	o := &b.cluster.opts
	s, err := b.js.CreateStream(ctx, njs.StreamConfig{
		Name: mqttMsgsStream, Subjects: []string{mqttMsgsPrefix + ">"},
		Storage: njs.FileStorage, Retention: njs.InterestPolicy, Replicas: o.Replicas,
	})
	if errors.Is(err, njs.ErrStreamNameAlreadyInUse) {
		s, err = b.js.Stream(ctx, mqttMsgsStream)
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", mqttMsgsStream, err)
	}
	b.cluster.created = s.CachedInfo().Created.UnixNano()
	if b.consumer, err = b.js.CreateOrUpdateConsumer(ctx, mqttMsgsStream, njs.ConsumerConfig{
		Durable: b.cluster.names.route, Description: "Kessel: routes device messages into their partitions (all replicas of a group share it)",
		AckPolicy: njs.AckExplicitPolicy, AckWait: o.AckWait, MaxAckPending: o.MaxAckPending,
		DeliverPolicy: njs.DeliverAllPolicy, MaxDeliver: -1,
	}); err != nil {
		return fmt.Errorf("consumer %s: %w", b.cluster.names.route, err)
	}
	if b.cluster.ps, err = b.js.CreateOrUpdateStream(ctx, njs.StreamConfig{
		Name: b.cluster.names.stream, Subjects: []string{b.cluster.names.prefix + ">"}, Storage: njs.FileStorage,
		Retention: njs.InterestPolicy, Replicas: o.Replicas, Duplicates: 2 * time.Minute,
		Description: "Kessel: device messages by partition of their device",
	}); err != nil {
		return fmt.Errorf("stream %s: %w", b.cluster.names.stream, err)
	}
	b.cluster.parts = make([]njs.Consumer, o.Partitions)
	for k := range o.Partitions {
		if b.cluster.parts[k], err = b.js.CreateOrUpdateConsumer(ctx, b.cluster.names.stream, njs.ConsumerConfig{
			Durable: b.cluster.names.part + strconv.Itoa(k), Description: "Kessel: one partition's device messages, pinned to one replica at a time",
			FilterSubject: fmt.Sprintf("%s%d.>", b.cluster.names.prefix, k), AckPolicy: njs.AckExplicitPolicy,
			// A replica's partitions together hold at most MaxAckPending
			// messages (what ingest takes in), so none waits unseen in a
			// pull's buffer until its acknowledgement wait runs out.
			AckWait: o.AckWait, MaxAckPending: partitionMaxAckPending(*o), DeliverPolicy: njs.DeliverAllPolicy, MaxDeliver: -1,
			PriorityGroups: []string{partitionGroup}, PriorityPolicy: njs.PriorityPolicyPinned,
			PinnedTTL: o.AckWait + 5*time.Second,
		}); err != nil {
			return fmt.Errorf("consumer %s%d: %w", b.cluster.names.part, k, err)
		}
	}
	return nil
}

// partitionMaxAckPending is how many messages a partition consumer hands
// out unacknowledged.
func partitionMaxAckPending(o ClusterOptions) int {
	return max(fetchBatch, o.MaxAckPending/o.Partitions)
}

var groupPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// groupNames are the names a group's replicas share: the consumer on
// $MQTT_msgs that routes, the partition stream (each message under
// {prefix}{k}.{original subject}) and its consumers ({part}{k}).
type groupNames struct{ route, stream, prefix, part string }

func namesOf(group string) groupNames {
	if group == DefaultGroup {
		return groupNames{route: ConsumerName, stream: "KESSEL_PARTITIONS", prefix: "$KESSEL.part.", part: "kessel-part-"}
	}
	return groupNames{route: group + "-ingest", stream: "KESSEL_PARTITIONS_" + group, prefix: "$KESSEL_" + group + ".part.", part: group + "-part-"}
}

// Connected reports an EUNAVAILABLE error while the connection to the
// cluster is down.
func (b *Broker) Connected(context.Context) error {
	if b.nc == nil || !b.nc.IsConnected() {
		return &kessel.Error{Code: kessel.EUNAVAILABLE, Message: "not connected to NATS"}
	}
	return nil
}

// Partitions returns how many partitions the cluster's devices are split
// into (0 for the embedded broker).
func (b *Broker) Partitions() int {
	if b.cluster == nil {
		return 0
	}
	return b.cluster.opts.Partitions
}
