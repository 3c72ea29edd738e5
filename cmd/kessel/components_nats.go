package main

// All of the hub's wiring of an external NATS cluster (--nats) is in this
// file.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kessel-city/kessel"
	"github.com/kessel-city/kessel/api"
	"github.com/kessel-city/kessel/ingest"
	"github.com/kessel-city/kessel/internal/envflag"
	"github.com/kessel-city/kessel/jetstream"
)

// brokerNATS is the config's broker when --nats names a cluster: devices
// publish to the cluster's MQTT listeners, Kessel reads its streams.
const brokerNATS = "nats"

// natsFlags are the flags of an external NATS cluster.
type natsFlags struct {
	NATS           string
	NATSUser       string
	NATSPassword   string
	NATSToken      string
	NATSCreds      string
	NATSReplicas   int
	NATSPartitions int
	NATSGroup      string
}

func (n *natsFlags) register(e *envflag.Set) {
	e.String(&n.NATS, "nats", "", "join this external NATS cluster (nats://host:4222[,nats://…]) instead of embedding a broker; devices publish to its MQTT listeners")
	e.String(&n.NATSUser, "nats-user", "", "NATS user (with --nats-password)")
	e.String(&n.NATSPassword, "nats-password", "", "NATS password (prefer the environment)")
	e.String(&n.NATSToken, "nats-token", "", "NATS token, instead of a user (prefer the environment)")
	e.String(&n.NATSCreds, "nats-creds", "", "NATS credentials file (JWT and NKey seed), instead of a user")
	e.Int(&n.NATSReplicas, "nats-replicas", 3, "servers keeping each stream Kessel creates in the cluster (1 for a single server)")
	e.Int(&n.NATSPartitions, "nats-partitions", 8, "partitions the devices are split into; the same on every replica, changed only with the streams drained")
	e.String(&n.NATSGroup, "nats-group", jetstream.DefaultGroup, "replicas of one group share the work; each group receives every reading (one group per InfluxDB server)")
}

// checkNATS makes --nats the broker; --mqtt-broker must then stay at its default.
func (c *config) checkNATS() error {
	if c.NATS == "" {
		return nil
	}
	if c.Broker != brokerEmbedded {
		return fmt.Errorf("--nats and --mqtt-broker %s: give one of them", c.Broker)
	}
	if c.NATSReplicas < 1 || c.NATSPartitions < 1 {
		return errors.New("--nats-replicas and --nats-partitions must be at least 1")
	}
	c.Broker = brokerNATS
	return nil
}

// startNATS joins the cluster (--nats) and makes sure the streams and the
// consumers exist before ingest runs.
func (a *app) startNATS(ctx context.Context) (func(context.Context), error) {
	c := a.cfg
	if c.Broker != brokerNATS {
		return nil, nil
	}
	b, err := jetstream.ConnectCluster(ctx, jetstream.ClusterOptions{
		URLs: strings.Split(c.NATS, ","), User: c.NATSUser, Password: c.NATSPassword, Token: c.NATSToken, CredsFile: c.NATSCreds,
		Name: c.ClientID, Replicas: c.NATSReplicas, Partitions: c.NATSPartitions, Group: c.NATSGroup, Match: ingest.Match,
		Logger: a.log, Registerer: a.prom,
	})
	if err != nil {
		return nil, err
	}
	a.js = b
	a.brokerURL = c.NATS
	a.ready = append(a.ready, api.Check{Name: "nats", Check: b.Connected})
	a.log.Info("joined the NATS cluster", "servers", c.NATS, "replicas", c.NATSReplicas, "partitions", c.NATSPartitions, "group", c.NATSGroup)
	a.setPublisher(func(ctx context.Context, topic string, payload []byte) error {
		return b.PublishOnce(ctx, topic, payload, transitionID(payload))
	})
	// Each reading is stored by one replica, which publishes its
	// Observations: public Datastreams only.
	a.setSTAPublisher(func(ctx context.Context, m api.STAMessage) error {
		return b.PublishSTA(ctx, m.Topic, m.Payload, m.Public)
	})
	return func(context.Context) {
		if err := b.Close(); err != nil {
			a.log.Warn("NATS connection close", "err", err)
		}
	}, nil
}

// transitionID names an alert transition by what every replica computes
// the same from the same readings: the alert, its state and the reading
// times it fired or resolved at.
func transitionID(payload []byte) string {
	var t struct {
		ID         string    `json:"id"`
		State      string    `json:"state"`
		FiredAt    time.Time `json:"fired_at"`
		ResolvedAt time.Time `json:"resolved_at"`
	}
	_ = json.Unmarshal(payload, &t)
	return fmt.Sprintf("alert/%s/%s/%d/%d", t.ID, t.State, t.FiredAt.UnixNano(), t.ResolvedAt.UnixNano())
}

// acquireGrace is how long a replica waits before it processes a
// partition that came to it: a few of ingest's flush intervals.
const acquireGrace = 2 * time.Second

// startClusterConsume runs this replica's share: routing, and the
// partitions pinned to it into ingest.
func (a *app) startClusterConsume(ctx context.Context) (func(context.Context), error) {
	runCtx, stop := detach(ctx)
	b, in := a.js, a.ingester
	wait := background(func() {
		err := b.ConsumeCluster(runCtx, func(ctx context.Context, m jetstream.Message) error {
			return in.EnqueueStored(ctx, ingest.StoredMessage{Topic: m.Topic, Payload: m.Payload, At: m.Stored, Ack: m.Ack, Behind: m.Behind})
		}, a.acquired)
		if err != nil {
			a.fail(fmt.Errorf("consume: %w", err))
		}
	})
	return func(context.Context) { stop(); wait() }, nil
}

// acquired reloads, when partition k came to this replica, the saved
// states of the alerts of its devices: the replica that had it may have
// fired or resolved them since this one started. Window rules keep what
// this replica has (see docs/cluster.md). It holds up that partition only,
// until the states could be read (see reloadAlerts).
func (a *app) acquired(ctx context.Context, k int) {
	if a.engine == nil {
		return
	}
	states, ok := reloadAlerts(ctx, acquireGrace, func(ctx context.Context) ([]kessel.Alert, error) {
		var states []kessel.Alert
		var err error
		timeout(ctx, 10*time.Second, func(ctx context.Context) {
			states, err = a.store.LoadAlerts(ctx, time.Now().Add(-7*24*time.Hour))
		})
		return states, err
	}, func(err error) {
		a.log.Warn("could not reload the alert states of a partition that came to this replica; it waits for InfluxDB", "partition", k, "err", err)
	})
	if !ok {
		return
	}
	window := map[string]bool{}
	for _, r := range a.engine.WindowRules() {
		window[r.ID] = true
	}
	n := a.js.Partitions()
	mine := states[:0]
	for _, s := range states {
		if !window[s.RuleID] && !strings.HasPrefix(s.Subject, "district:") && jetstream.DevicePartition(s.Subject, n) == k {
			mine = append(mine, s)
		}
	}
	a.engine.Restore(mine)
}

// reloadAlerts returns the alert states load reads once the replica
// that had a partition could save its last transitions; false if ctx
// ended first. That replica may still be storing what it was given (the
// pin moves when a server fails over, too): it gets grace to finish
// before the states are read. If they cannot be read (InfluxDB is down),
// load is tried again every grace until it answers, and then once more
// after grace, for that replica has been holding its transitions too: a
// replica going on with its own older states would fire or resolve again
// what the other one already published. warn is called at the first
// failure. The partition waits meanwhile, as its readings would for the
// store anyway.
func reloadAlerts(ctx context.Context, grace time.Duration, load func(context.Context) ([]kessel.Alert, error), warn func(error)) ([]kessel.Alert, bool) {
	failed := false
	for {
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(grace):
		}
		states, err := load(ctx)
		switch {
		case err == nil && !failed:
			return states, true
		case err == nil:
			failed = false // the store is back: one more grace, then the read that counts
		case !failed:
			failed = true
			warn(err)
		}
	}
}

// startNATSFollower keeps an API-only replica's live state from the
// cluster's stream of device messages.
func (a *app) startNATSFollower(ctx context.Context) (func(context.Context), error) {
	f, err := ingest.NewFollower(a.reg, ingest.FollowerOptions{Limits: ingest.Limits{MaxPayload: a.cfg.MaxPayload}, Logger: a.log})
	if err != nil {
		return nil, err
	}
	runCtx, stop := detach(ctx)
	b := a.js
	wait := background(func() { _ = b.Follow(runCtx, sanitizeID(a.cfg.ClientID), f.Take) })
	return func(context.Context) { stop(); wait() }, nil
}
