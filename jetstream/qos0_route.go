package jetstream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
)

// routeQoS0 takes this replica's share of the cluster's QoS 0 device
// messages and stores each in its device's partition, where it is
// processed as a QoS 1 message is: by the one replica holding the
// partition, acknowledged once stored. The replicas of a group subscribe
// in one queue group (named after the group's routing consumer), so the
// servers give each message to one replica of each group. The
// subscription never waits: a message the routing queue cannot take is
// dropped and counted. Runs until ctx ends.
func (b *Broker) routeQoS0(ctx context.Context) {
	q := newQoS0Intake(b.m, b.log, time.Now)
	b.qos0.Store(q)
	queue := make(chan *nats.Msg, fetchBatch)
	n := len(b.cluster.parts)
	q.set(func(topic string, msg *nats.Msg) {
		out := nats.NewMsg(fmt.Sprintf("%s%d.%s", b.cluster.names.prefix, TopicPartition(topic, n), msg.Subject))
		out.Data = msg.Data
		// The time it arrived stands for the time a stream stored it:
		// a reading without its own time keeps it on every delivery.
		out.Header.Set(storedHeader, time.Now().UTC().Format(time.RFC3339Nano))
		select {
		case queue <- out:
		default:
			q.drop(q.full, topic, "the queue into the partitions is full")
		}
	})
	if err := q.subscribe(b, b.cluster.names.route); err != nil {
		b.log.Error("cannot subscribe to QoS 0 device messages; they are not ingested", "err", err)
		return
	}
	pending := make(chan njs.PubAckFuture, fetchBatch)
	var wg sync.WaitGroup
	wg.Go(func() {
		for f := range pending {
			select {
			case <-f.Ok():
				q.ingested.Inc()
			case err := <-f.Err():
				q.drop(q.routeFailed, f.Msg().Subject, "its partition did not store it: "+err.Error())
			}
		}
	})
	defer func() {
		q.unsubscribe()
		for range len(queue) {
			q.drop(q.notConsuming, (<-queue).Subject, "the replica is stopping")
		}
		close(pending)
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case out := <-queue:
			f, err := b.js.PublishMsgAsync(out)
			if err != nil {
				q.drop(q.routeFailed, out.Subject, "its partition did not take it: "+err.Error())
				continue
			}
			pending <- f
		}
	}
}
