#!/usr/bin/env bash
# make bench-ingest, second part: the same drain workload on the default
# embedded broker (NATS JetStream, durable).
#  1. Kessel runs without the ingest role (its durable consumer exists,
#     nobody consumes); kessel-sim publishes 200,000 QoS 1 readings from
#     1,000 devices: the publish rate devices see (PUBACKs per second,
#     each after the message was stored) with no consumer running.
#  2. Kessel restarts with every role and drains the stream into InfluxDB:
#     msgs/s, CPU µs per message, peak RSS, lost.
#  3. kessel-sim publishes the same number again while Kessel consumes:
#     the publish rate with a consumer running behind.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
N="${BENCH_MESSAGES:-200000}"
DEVICES="${BENCH_DEVICES:-1000}"
. "$root/deploy/scripts/lib.sh"
bench_work
IPORT=$(free_port); MPORT=$(free_port); HPORT=$(free_port)
start_influxd "$IPORT" "$work"

kessel_args=(serve --device-metrics=false ${BENCH_KESSEL_ARGS:-} --mqtt-listen "127.0.0.1:$MPORT" --mqtt-data "$work/mqtt"
  --influx-url "http://127.0.0.1:$IPORT" --http "127.0.0.1:$HPORT" --log-level error)
start_kessel() { # [--no-wait] extra args...
  local wait=1
  [ "${1:-}" = --no-wait ] && { wait=0; shift; }
  "$root/bin/kessel" "${kessel_args[@]}" "$@" >"$work/kessel.out" 2>>"$work/kessel.log" &
  KPID=$!; pids+=($KPID)
  [ "$wait" = 1 ] || return 0
  # Ready when an MQTT CONNECT is accepted (devices are let in once the
  # durable consumer exists).
  for _ in $(seq 1 600); do mqtt_accepts "$MPORT" && return; sleep 0.05; done
  echo "bench: kessel's MQTT listener did not accept a client" >&2; cat "$work/kessel.log" >&2; exit 1
}
mqtt_accepts() {
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(bytes([0x10, 14, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 2]) + b"rb")
ack = s.recv(4)
sys.exit(0 if len(ack) == 4 and ack[0] == 0x20 and ack[3] == 0 else 1)
PY
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
written() { curl -fs "http://127.0.0.1:$HPORT/metrics" | awk '$1 ~ /^kessel_ingest_written_total($|[{])/ {s+=$NF} END {print s+0}'; }
count_stored() {
  curl -fs -XPOST "http://127.0.0.1:$IPORT/api/v2/query" -H 'Content-Type: application/vnd.flux' -H 'Accept: application/csv' \
    -d "from(bucket: \"kessel/autogen\") |> range(start: -1d, stop: 1d) |> filter(fn: (r) => r._measurement == \"air_quality\" and r._field == \"pm10\") |> group() |> count()" \
    | awk -F, 'NR>1 && $NF ~ /^[0-9]+\r?$/ {gsub("\r","",$NF); s+=$NF} END {print s+0}'
}
rate_of() { python3 -c 'import json,sys; print(format(json.load(open(sys.argv[1]))["rate_per_s"], ",.0f"))' "$1"; }
sim() { # seed out
  "$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices "$DEVICES" --kinds air_quality --interval 0 --count "$N" --seed "$1" --quiet >"$2"
}
HZ=$(getconf CLK_TCK)

# 1. No consumer running: the stream keeps everything for Kessel's consumer.
start_kessel --roles alerts
sim 1 "$work/sim1.json"
echo "bench-ingest embedded: publish with no consumer running: $N msgs at $(rate_of "$work/sim1.json") PUBACKs/s (each after JetStream stored the message)"
kill -TERM "$KPID"; wait "$KPID" 2>/dev/null || true

# 2. Drain, watched as the drain through mosquitto is (watch_written):
# the clock runs from Kessel's start to the last reading stored.
watch_written "$HPORT" "$N" "$work/watch.out"
sleep 0.5 # the watcher's interpreter is up before the clock starts
start=$(date +%s.%N)
start_kessel --no-wait
c0=$(cpu_ticks "$KPID")
wait "$WATCH"
read -r first end <"$work/watch.out"
c1=$(cpu_ticks "$KPID")
rss=$(awk '/VmHWM/{print $2}' "/proc/$KPID/status")
stored=$(count_stored)
python3 - "$N" "$start" "$end" "$c0" "$c1" "$HZ" "$rss" "$stored" "$first" <<'PY'
import os, sys
label = os.environ.get("BENCH_LABEL", "with QC")
a = sys.argv
n, start, end, c0, c1, hz, rss, stored, first = int(a[1]), float(a[2]), float(a[3]), int(a[4]), int(a[5]), int(a[6]), int(a[7]), int(a[8]), float(a[9])
cpu = (c1 - c0) / hz
print(f"bench-ingest embedded drain [{label}]: {n} stored msgs drained in {end-start:.2f} s from kessel start = {n/(end-start):,.0f} msgs/s; {n/(end-first):,.0f} msgs/s from the first write")
print(f"bench-ingest embedded drain [{label}]: kessel CPU {cpu:.2f} s = {cpu/n*1e6:.1f} us/msg (broker included); peak RSS {rss/1024:.0f} MiB; stored in InfluxDB {stored}; lost {n - stored}")
if os.environ.get("BENCH_RESULTS"):
    with open(os.environ["BENCH_RESULTS"], "a") as f:
        f.write(f"kessel-embedded-{label.replace(' ', '-')} {n/(end-start):.0f}\n")
PY
# BENCH_DRAIN_ONLY=1 (the run without quality control) stops here.
[ "${BENCH_DRAIN_ONLY:-0}" = 1 ] && exit 0

# 3. Publishing while Kessel consumes.
w0=$(written)
sim 2 "$work/sim2.json"
echo "bench-ingest embedded: publish with the consumer running: $N msgs at $(rate_of "$work/sim2.json") PUBACKs/s"
for _ in $(seq 1 12000); do [ "$(written)" -ge $((w0 + N)) ] && break; sleep 0.05; done
echo "bench-ingest embedded: stored in InfluxDB $(count_stored) of $((2 * N))"
