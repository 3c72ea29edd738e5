package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/kessel-city/kessel"
)

// ackLog records what a test message was told, as "ack 3", "nak 2", ….
type ackLog []string

type fakeAckMsg struct {
	njs.Msg
	seq uint64
	log *ackLog
}

func (m fakeAckMsg) Ack() error { *m.log = append(*m.log, fmt.Sprint("ack ", m.seq)); return nil }
func (m fakeAckMsg) Nak() error { *m.log = append(*m.log, fmt.Sprint("nak ", m.seq)); return nil }
func (m fakeAckMsg) InProgress() error {
	*m.log = append(*m.log, fmt.Sprint("wip ", m.seq))
	return nil
}

// TestFloor: one acknowledgement covers the messages below it, and never
// one that is not stored (given back, or not yet stored).
func TestFloor(t *testing.T) {
	tests := []struct {
		name  string
		steps string // add N, ack N, give N, flush, nakall
		want  []string
	}{
		{"in order", "add 1, add 2, add 3, ack 1, ack 2, flush, ack 3, flush", []string{"ack 2", "ack 3"}},
		{"nothing new: no acknowledgement", "add 1, ack 1, flush, flush", []string{"ack 1"}},
		{"stored out of order", "add 1, add 2, add 3, ack 3, ack 2, flush, ack 1, flush", []string{"ack 3"}},
		{"given back: not covered until delivered again and stored", "add 1, add 2, add 3, give 1, ack 2, ack 3, flush, add 1, flush, ack 1, flush", []string{"ack 3"}},
		{"delivered again below the floor (a lost acknowledgement)", "add 5, add 6, ack 5, ack 6, flush, add 3, ack 3, flush", []string{"ack 6", "ack 3"}},
		{"delivered again between held ones", "add 2, add 9, add 4, ack 2, ack 9, flush, ack 4, flush", []string{"ack 2", "ack 9"}},
		{"at close: the floor acknowledged, the unstored given back", "add 1, add 2, add 3, ack 1, ack 3, nakall", []string{"ack 1", "nak 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log ackLog
			f := newFloor()
			for _, step := range strings.Split(tt.steps, ", ") {
				var op string
				var seq uint64
				fmt.Sscan(step, &op, &seq)
				switch op {
				case "add":
					f.add(seq, fakeAckMsg{seq: seq, log: &log}, time.Now())
				case "ack":
					if !f.ack(seq) {
						t.Fatalf("%s: not held", step)
					}
				case "give":
					if _, ok := f.giveBack(seq); !ok {
						t.Fatalf("%s: not held", step)
					}
				case "flush":
					f.flush()
				case "nakall":
					f.nakAll()
				}
			}
			if !slices.Equal(log, tt.want) {
				t.Fatalf("told %q, want %q", log, tt.want)
			}
		})
	}
}

func TestFloorAckOnce(t *testing.T) {
	var log ackLog
	f := newFloor()
	f.add(1, fakeAckMsg{seq: 1, log: &log}, time.Now())
	f.add(2, fakeAckMsg{seq: 2, log: &log}, time.Now())
	if !f.ack(2) || f.ack(2) || f.ack(7) {
		t.Fatal("a message acknowledged twice, or one never held")
	}
	if _, ok := f.giveBack(2); ok {
		t.Fatal("a stored message given back")
	}
	f.inProgress(time.Now().Add(time.Hour))
	if !slices.Equal(log, ackLog{"wip 1", "wip 2"}) && !slices.Equal(log, ackLog{"wip 2", "wip 1"}) {
		t.Fatalf("in progress: %q, want both (the stored one waits for the floor)", log)
	}
}

// TestConsumerReplaced: a consumer an earlier Kessel made (one
// acknowledgement per message) is replaced by one that acknowledges by
// floor, and every message stored meanwhile is still delivered.
func TestConsumerReplaced(t *testing.T) {
	dir := t.TempDir()
	isReading := func(topic string) bool { return strings.HasSuffix(topic, "/readings") }
	b, err := Start(Options{Addr: "127.0.0.1:0", DataDir: dir, Match: isReading})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.js.DeleteConsumer(ctx, mqttMsgsStream, ConsumerName); err != nil {
		t.Fatal(err)
	}
	if _, err := b.js.CreateOrUpdateConsumer(ctx, mqttMsgsStream, njs.ConsumerConfig{Durable: ConsumerName,
		AckPolicy: njs.AckExplicitPolicy, DeliverPolicy: njs.DeliverAllPolicy}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.Publish(ctx, kessel.ReadingsTopic(fmt.Sprint("dev-", i)), []byte(fmt.Sprint(i)), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Start(Options{Addr: "127.0.0.1:0", DataDir: dir, Match: isReading})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if p := b.consumer.CachedInfo().Config.AckPolicy; p != njs.AckAllPolicy {
		t.Fatalf("ack policy %v after the restart", p)
	}
	if _, err := b.js.Consumer(ctx, mqttMsgsStream, ConsumerName+"-hold"); !errors.Is(err, njs.ErrConsumerNotFound) {
		t.Fatalf("the holding consumer is left: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var got []string
	_ = b.Consume(cctx, func(_ context.Context, m Message) error {
		got = append(got, string(m.Payload))
		m.Ack()
		if len(got) == 3 {
			cancel()
		}
		return nil
	})
	if !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("delivered %q after the consumer was replaced, want 0, 1, 2", got)
	}
}
