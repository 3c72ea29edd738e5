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
// stopped asking for PinnedTTL). QoS 0 device messages take the same way
// from this replica's share of them on (see routeQoS0).
func (b *Broker) ConsumeCluster(ctx context.Context, handle func(context.Context, Message) error, acquired func(ctx context.Context, partition int)) error {
	if b.cluster == nil {
		return errors.New("jetstream: ConsumeCluster needs ConnectCluster")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { b.keepHeld(b.held, ctx.Done()) })
	wg.Go(func() { b.route(ctx) })
	wg.Go(func() { b.routeQoS0(ctx) })
	for k := range b.cluster.parts {
		wg.Go(func() {
			// Replicas that start together ask for each partition after
			// a delay of their own (0 to 3.5 s), so the first to ask, which
			// the server pins, differs from partition to partition.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(DevicePartition(fmt.Sprintf("%s/%d", b.cluster.opts.Name, k), 8)) * 500 * time.Millisecond):
			}
			b.consumePartition(ctx, k, handle, acquired)
		})
	}
	<-ctx.Done()
	return nil
}

// iterate calls fn for each message of the consumer that get returns,
// until ctx ends; when the consumer cannot be read (a server or the
// consumer went away) it gets it again after a second.
func (b *Broker) iterate(ctx context.Context, get func(context.Context) (njs.Consumer, error), fn func(njs.Msg), opts ...njs.PullMessagesOpt) {
	for ctx.Err() == nil {
		c, err := get(ctx)
		if err == nil {
			err = b.iterateOnce(ctx, c, fn, opts...)
		}
		if err != nil {
			b.log.Warn("cannot read from the stream; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (b *Broker) iterateOnce(ctx context.Context, c njs.Consumer, fn func(njs.Msg), opts ...njs.PullMessagesOpt) error {
	it, err := c.Messages(append(opts, njs.PullMaxMessages(fetchBatch), njs.PullExpiry(pullExpiry))...)
	if err != nil {
		return err
	}
	defer it.Stop()
	defer context.AfterFunc(ctx, it.Stop)()
	for {
		msg, err := next(it)
		switch {
		case err == nil:
			fn(msg)
		case ctx.Err() != nil || errors.Is(err, njs.ErrMsgIteratorClosed):
			return nil
		case errors.Is(err, njs.ErrConsumerDeleted) || errors.Is(err, njs.ErrConsumerNotFound):
			return err
		default:
			b.log.Debug("reading from the stream failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// fixed returns a get for iterate that always returns c.
func fixed(c njs.Consumer) func(context.Context) (njs.Consumer, error) {
	return func(context.Context) (njs.Consumer, error) { return c, nil }
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
	b.iterate(ctx, fixed(b.consumer), func(msg njs.Msg) {
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
		out := nats.NewMsg(fmt.Sprintf("%s%d.%s", b.cluster.names.prefix, TopicPartition(topic, n), subj))
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
// replica holds its pin. The pull goes on while acquired or handle take
// their time (up to the partition's MaxAckPending messages wait, held in
// progress): a replica that stops asking for PinnedTTL loses the pin, and
// the partition would then be processed by two replicas at once.
func (b *Broker) consumePartition(ctx context.Context, k int, handle func(context.Context, Message) error, acquired func(context.Context, int)) {
	work := make(chan njs.Msg, partitionMaxAckPending(b.cluster.opts))
	var wg sync.WaitGroup
	wg.Go(func() { b.processPartition(ctx, k, work, handle, acquired) })
	defer wg.Wait()
	defer close(work)
	b.iterate(ctx, fixed(b.cluster.parts[k]), func(msg njs.Msg) {
		md, err := msg.Metadata()
		if err != nil {
			return
		}
		b.held.add(md.Sequence.Stream, msg, time.Now())
		select {
		case work <- msg:
		case <-ctx.Done():
		}
	}, njs.PullPriorityGroup(partitionGroup))
}

// processPartition hands the messages of partition k over in order,
// first calling acquired whenever the partition came to this replica (a
// new pin).
func (b *Broker) processPartition(ctx context.Context, k int, work <-chan njs.Msg, handle func(context.Context, Message) error, acquired func(context.Context, int)) {
	prefix := b.cluster.names.prefix + strconv.Itoa(k) + "."
	var pin string
	for msg := range work {
		md, err := msg.Metadata()
		if err != nil || ctx.Err() != nil {
			continue // held: given back at Close
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
	}
}

// Follow calls fn with each device message stored in $MQTT_msgs from now
// on, in order, and with each QoS 0 device message (which no stream
// holds) as it comes, one call at a time, until ctx ends (an API-only
// replica's live state). It reads the stream through a consumer of its
// own named after name, without acks, which the server removes a minute
// after the replica stopped asking (an interest stream's consumers must
// be replicated like the stream, so an ordered consumer, kept on one
// server, cannot be used).
func (b *Broker) Follow(ctx context.Context, name string, fn func(topic string, payload []byte)) error {
	var mu sync.Mutex
	subs, err := b.subscribeQoS0("", func(topic string, msg *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() == nil {
			fn(topic, msg.Data)
		}
	})
	if err != nil {
		return fmt.Errorf("jetstream: follow QoS 0 messages: %w", err)
	}
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
		mu.Lock() // a call under way ends before Follow returns
		mu.Unlock()
	}()
	get := func(ctx context.Context) (njs.Consumer, error) {
		return b.js.CreateOrUpdateConsumer(ctx, mqttMsgsStream, njs.ConsumerConfig{
			Durable: "kessel-follow-" + name, Description: "Kessel API-only replica: live state",
			DeliverPolicy: njs.DeliverNewPolicy, AckPolicy: njs.AckNonePolicy, InactiveThreshold: time.Minute,
		})
	}
	b.iterate(ctx, get, func(msg njs.Msg) {
		if topic := Topic(strings.TrimPrefix(msg.Subject(), mqttMsgsPrefix)); b.opts.Match(topic) {
			mu.Lock()
			fn(topic, msg.Data())
			mu.Unlock()
		}
	})
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
