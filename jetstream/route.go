package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
)

// pullExpiry bounds each pull request; a pinned replica asks again before
// its pin's PinnedTTL (AckWait + 5 s) runs out, even with nothing to read.
const pullExpiry = 4 * time.Second

// ConsumeCluster runs this replica's share of the work in an external
// cluster until ctx ends. It routes messages from $MQTT_msgs (the consumer
// all replicas share) into the partition stream, each under its device's
// partition, and acknowledges each once the partition stream stored it
// (a message id makes a routed-again message a duplicate the stream
// drops). And it hands handle the messages of the partitions the server
// has pinned to this replica, each partition in stream order, so one
// device's messages are processed by one replica at a time. acquired,
// when set, is called before the first message of a partition that came
// to this replica (a new pin: at start, or when the replica holding it
// stopped asking for PinnedTTL).
func (b *Broker) ConsumeCluster(ctx context.Context, handle func(context.Context, Message) error, acquired func(ctx context.Context, partition int)) error {
	if b.cluster == nil {
		return errors.New("jetstream: ConsumeCluster needs ConnectCluster")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { b.keepHeld(ctx) })
	wg.Go(func() { b.route(ctx) })
	for k := range b.cluster.parts {
		wg.Go(func() { b.consumePartition(ctx, k, handle, acquired) })
	}
	<-ctx.Done()
	return nil
}

// keepHeld tells JetStream, every AckWait/3, that the messages held for
// longer are still being worked on (the store is down).
func (b *Broker) keepHeld(ctx context.Context) {
	tick := time.NewTicker(b.opts.AckWait / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			b.held.inProgress(now.Add(-b.opts.AckWait / 3))
		}
	}
}

// iterate calls fn for each message of the consumer c until ctx ends.
func (b *Broker) iterate(ctx context.Context, c njs.Consumer, fn func(njs.Msg), opts ...njs.PullMessagesOpt) {
	for ctx.Err() == nil {
		it, err := c.Messages(append(opts, njs.PullMaxMessages(fetchBatch), njs.PullExpiry(pullExpiry))...)
		if err != nil {
			b.log.Warn("cannot read from the stream; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		stop := context.AfterFunc(ctx, it.Stop)
		for {
			msg, err := it.Next()
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, njs.ErrMsgIteratorClosed) {
					break
				}
				b.log.Debug("reading from the stream failed; retrying", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			fn(msg)
		}
		stop()
		it.Stop()
	}
}

type routed struct {
	f   njs.PubAckFuture
	msg njs.Msg
}

// route copies each device message of $MQTT_msgs into its partition and
// acknowledges it once stored there; what could not be copied comes
// again after a second.
func (b *Broker) route(ctx context.Context) {
	pending := make(chan routed, fetchBatch)
	var wg sync.WaitGroup
	wg.Go(func() {
		for r := range pending {
			select {
			case <-r.f.Ok():
				_ = r.msg.Ack()
			case err := <-r.f.Err():
				b.log.Debug("routing a message failed; it comes again", "err", err)
				_ = r.msg.NakWithDelay(time.Second)
			}
		}
	})
	defer wg.Wait()
	defer close(pending)
	n := len(b.cluster.parts)
	b.iterate(ctx, b.consumer, func(msg njs.Msg) {
		md, err := msg.Metadata()
		if err != nil {
			return
		}
		subj := strings.TrimPrefix(msg.Subject(), mqttMsgsPrefix)
		topic := Topic(subj)
		if !b.opts.Match(topic) {
			_ = msg.Ack() // not Kessel's to read (an alert, another application's topic)
			return
		}
		out := nats.NewMsg(fmt.Sprintf("%s%d.%s", partitionPrefix, TopicPartition(topic, n), subj))
		out.Data = msg.Data()
		out.Header.Set(nats.MsgIdHdr, fmt.Sprintf("%x-%d", b.cluster.created, md.Sequence.Stream))
		out.Header.Set(storedHeader, md.Timestamp.UTC().Format(time.RFC3339Nano))
		f, err := b.js.PublishMsgAsync(out)
		if err != nil {
			_ = msg.NakWithDelay(time.Second)
			return
		}
		pending <- routed{f, msg}
	})
}

// consumePartition hands handle the messages of partition k while this
// replica holds its pin.
func (b *Broker) consumePartition(ctx context.Context, k int, handle func(context.Context, Message) error, acquired func(context.Context, int)) {
	prefix := partitionPrefix + strconv.Itoa(k) + "."
	var pin string
	b.iterate(ctx, b.cluster.parts[k], func(msg njs.Msg) {
		md, err := msg.Metadata()
		if err != nil {
			return
		}
		if p := msg.Headers().Get("Nats-Pin-Id"); p != pin {
			pin = p
			b.log.Info("partition came to this replica", "partition", k)
			if acquired != nil {
				acquired(ctx, k)
			}
		}
		stored, err := time.Parse(time.RFC3339Nano, msg.Headers().Get(storedHeader))
		if err != nil {
			stored = md.Timestamp
		}
		if md.NumDelivered > 1 {
			b.m.redeliver.Inc()
		}
		m := Message{Topic: Topic(strings.TrimPrefix(msg.Subject(), prefix)), Payload: msg.Data(), Stored: stored}
		_ = b.handOver(ctx, b.held, msg, md.Sequence.Stream, m, handle)
	}, njs.PullPriorityGroup(partitionGroup))
}

// Follow calls fn with each device message stored in $MQTT_msgs from now
// on, in order, until ctx ends (an API-only replica's live state). It
// reads through an ordered consumer, which the client re-creates after a
// server or connection failure.
func (b *Broker) Follow(ctx context.Context, fn func(topic string, payload []byte)) error {
	for ctx.Err() == nil {
		c, err := b.js.OrderedConsumer(ctx, mqttMsgsStream, njs.OrderedConsumerConfig{DeliverPolicy: njs.DeliverNewPolicy})
		if err != nil {
			b.log.Warn("cannot follow the stream; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		b.iterate(ctx, c, func(msg njs.Msg) {
			if topic := Topic(strings.TrimPrefix(msg.Subject(), mqttMsgsPrefix)); b.opts.Match(topic) {
				fn(topic, msg.Data())
			}
		})
	}
	return nil
}

// PublishOnce publishes an alert transition as Publish does at QoS 1,
// once: id names the transition (the same on every replica that computes
// it), and the stream drops a second message with the same id within its
// duplicate window (2 minutes); online QoS 0 subscribers get it only if
// the stream took it as new.
func (b *Broker) PublishOnce(ctx context.Context, topic string, payload []byte, id string) error {
	subj := Subject(topic)
	h := nats.Header{mqttPubHeader: []string{"1"}, nats.MsgIdHdr: []string{id}}
	ack, err := b.js.PublishMsg(ctx, &nats.Msg{Subject: mqttMsgsPrefix + subj, Data: payload, Header: h})
	if err != nil {
		return fmt.Errorf("jetstream: publish %s: %w", topic, err)
	}
	if ack.Duplicate {
		return nil
	}
	if err := b.nc.PublishMsg(&nats.Msg{Subject: subj, Data: payload, Header: nats.Header{mqttPubHeader: []string{"1"}}}); err != nil {
		return fmt.Errorf("jetstream: publish %s: %w", topic, err)
	}
	return nil
}
