package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kessel-city/kessel/internal/loglimit"
)

// logEvery is how often at most the broker logs a refusal of one sort (a
// packet over the limit, a client id that is not the login's); the
// counters count every one.
const logEvery = time.Minute

type metrics struct {
	refused    *prometheus.CounterVec
	tooLarge   prometheus.Counter
	subRefused prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kessel_broker_connections_refused_total",
			Help: "Connections the embedded broker refused, by reason: credentials (wrong or unknown login), client_id (a client id that is another login's)."}, []string{"reason"}),
		tooLarge: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_broker_packets_too_large_total",
			Help: "Packets over the embedded broker's packet limit; the broker closes the client's connection without reading them."}),
		subRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "kessel_broker_subscriptions_refused_total",
			Help: "Topic filters the embedded broker refused to subscribe a client to (SUBACK 0x80): topics the login may not read."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.refused, m.tooLarge, m.subRefused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("broker: metrics: %w", err)
		}
	}
	return m, nil
}

// watchHook counts what the broker refuses and logs packets it drops for
// their size. mochi-mqtt refuses an oversized packet from its fixed header,
// before reading its topic or payload, and closes the connection: there
// is nothing to keep as a dead letter, only who sent it.
type watchHook struct {
	mqtt.HookBase
	m       *metrics
	log     *slog.Logger
	limit   uint32
	limiter *loglimit.Limiter
}

func (h *watchHook) ID() string { return "kessel-watch" }

func (h *watchHook) Provides(b byte) bool { return b == mqtt.OnDisconnect || b == mqtt.OnSubscribed }

func (h *watchHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	for _, c := range codes {
		if c >= packets.ErrUnspecifiedError.Code {
			h.m.subRefused.Inc()
		}
	}
}

func (h *watchHook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	if !errors.Is(err, packets.ErrPacketTooLarge) {
		return
	}
	h.m.tooLarge.Inc()
	ok, suppressed := h.limiter.Allow()
	if !ok {
		return
	}
	h.log.Warn("disconnected a client that sent a packet over the broker's limit; its topic and payload were not read",
		"client", cl.ID, "username", string(cl.Properties.Username), "remote", cl.Net.Remote, "limit_bytes", h.limit,
		"not_logged_since_last", suppressed)
}
