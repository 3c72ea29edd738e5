#!/usr/bin/env bash
# make bench-ingest, the baseline: the same drain workload as
# bench-ingest.sh part 1 (200,000 native JSON readings from 1,000 devices,
# QoS 1, queued in mosquitto for a persistent session while the consumer
# is stopped), drained by Telegraf (bin/telegraf, built by install-deps.sh
# --telegraf with only the plugins used here) into InfluxDB on the same
# machine. Tuned as its documentation suggests for throughput with
# at-least-once delivery: a message is acknowledged once its metric was
# written (max_undelivered_messages 20,000, Kessel's MaxInflight), batches
# of 5,000 (Kessel's --batch-size), flushed every 100 ms, no gzip on
# loopback. Prints msgs/s, Telegraf's CPU µs per message, peak RSS and
# lost, and appends "telegraf <msgs/s>" to $BENCH_RESULTS when set.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
N="${BENCH_MESSAGES:-200000}"
DEVICES="${BENCH_DEVICES:-1000}"
. "$root/deploy/scripts/lib.sh"
bench_work
IPORT=$(free_port); MPORT=$(free_port)

mosq="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
{
  echo "user root"; echo "listener $MPORT 127.0.0.1"; echo "allow_anonymous true"
  echo "persistence_location $work/"; echo "log_dest stderr"; echo "log_type error"
  grep -vE '^\s*(#|$|listener|allow_anonymous|password_file|acl_file|persistence_location|log_dest|log_type|user)' "$root/deploy/mosquitto/mosquitto.conf"
} > "$work/mosquitto.conf"
"$mosq" -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" & MQPID=$!; pids+=($MQPID)
start_influxd "$IPORT" "$work"; IXPID=$INFLUXD_PID

cat >"$work/telegraf.conf" <<EOF
[agent]
  interval = "10s"
  metric_batch_size = 5000
  metric_buffer_limit = 100000
  flush_interval = "100ms"
  flush_jitter = "0s"
  omit_hostname = true
  debug = true
  quiet = false

[[inputs.mqtt_consumer]]
  servers = ["tcp://127.0.0.1:$MPORT"]
  topics = ["kessel/devices/+/readings"]
  qos = 1
  persistent_session = true
  client_id = "bench-telegraf"
  max_undelivered_messages = 20000
  name_override = "air_quality"
  data_format = "json"
  json_time_key = "ts"
  json_time_format = "2006-01-02T15:04:05Z07:00"

[[outputs.influxdb]]
  urls = ["http://127.0.0.1:$IPORT"]
  database = "telegraf"
  content_encoding = "identity"
  timeout = "30s"
EOF
start_telegraf() {
  : >"$work/telegraf.log"
  "$root/bin/telegraf" --config "$work/telegraf.conf" >"$work/telegraf.log" 2>&1 &
  TPID=$!; pids+=($TPID)
}
# written sums the metrics Telegraf's output logged as written.
written() { awk '/Wrote batch of/ {for (i = 1; i <= NF; i++) if ($i == "of") s += $(i+1)} END {print s+0}' "$work/telegraf.log"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
count_stored() {
  curl -fs -XPOST "http://127.0.0.1:$IPORT/api/v2/query" -H 'Content-Type: application/vnd.flux' -H 'Accept: application/csv' \
    -d "from(bucket: \"telegraf/autogen\") |> range(start: -1d, stop: 1d) |> filter(fn: (r) => r._measurement == \"air_quality\" and r._field == \"values_pm10\") |> group() |> count()" \
    | awk -F, 'NR>1 && $NF ~ /^[0-9]+\r?$/ {gsub("\r","",$NF); s+=$NF} END {print s+0}'
}
HZ=$(getconf CLK_TCK)

# 1. Register the persistent session, stop Telegraf, queue the burst.
start_telegraf
for _ in $(seq 1 600); do grep -q "Connected \[" "$work/telegraf.log" && break; sleep 0.05; done
grep -q "Connected \[" "$work/telegraf.log" || { echo "bench: telegraf did not connect" >&2; cat "$work/telegraf.log" >&2; exit 1; }
kill -TERM "$TPID"; wait "$TPID" 2>/dev/null || true
"$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices "$DEVICES" --kinds air_quality --interval 0 --count "$N" --seed 1 --quiet >"$work/sim1.json"

# 2. Drain.
start=$(date +%s.%N)
start_telegraf
c0=$(cpu_ticks "$TPID")
first=""
for _ in $(seq 1 12000); do
  w=$(written)
  [ -z "$first" ] && [ "$w" -gt 0 ] && first=$(date +%s.%N)
  [ "$w" -ge "$N" ] && break
  sleep 0.05
done
end=$(date +%s.%N)
c1=$(cpu_ticks "$TPID")
rss=$(awk '/VmHWM/{print $2}' "/proc/$TPID/status")
stored=$(count_stored)
python3 - "$N" "$start" "$end" "$c0" "$c1" "$HZ" "$rss" "$stored" "$first" <<'PY'
import os, sys
a = sys.argv
n, start, end, c0, c1, hz, rss, stored, first = int(a[1]), float(a[2]), float(a[3]), int(a[4]), int(a[5]), int(a[6]), int(a[7]), int(a[8]), float(a[9])
cpu = (c1 - c0) / hz
print(f"bench-ingest telegraf drain: {n} queued msgs stored in {end-start:.2f} s from telegraf start = {n/(end-start):,.0f} msgs/s; {n/(end-first):,.0f} msgs/s from the first write")
print(f"bench-ingest telegraf drain: telegraf CPU {cpu:.2f} s = {cpu/n*1e6:.1f} us/msg; peak RSS {rss/1024:.0f} MiB; stored in InfluxDB {stored}; lost {n - stored}")
if os.environ.get("BENCH_RESULTS"):
    with open(os.environ["BENCH_RESULTS"], "a") as f:
        f.write(f"telegraf {n/(end-start):.0f}\n")
PY
