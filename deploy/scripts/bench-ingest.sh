#!/usr/bin/env bash
# make bench-ingest: the reference ingest workload on this machine.
#  1. 200,000 native JSON readings from 1,000 devices, QoS 1, queued in
#     mosquitto for Kessel's persistent session while Kessel is stopped;
#     then Kessel starts and drains them into InfluxDB.
#     Prints msgs/s until all are stored, Kessel's CPU µs per message,
#     peak RSS, and lost (counted in InfluxDB).
#  2. Kessel live while kessel-sim publishes at a fixed 10,000 msgs/s:
#     Kessel's CPU µs per message and share of a core.
# With BENCH_ARCHIVE_DEVICES=N, yesterday's readings of N noise sensors
# (one a minute) are stored first and the drain starts Kessel with an
# empty --archive, so that it writes that day's archive while draining,
# as after a restart at night, and on during the steady run; how far it
# got is printed after each.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
N="${BENCH_MESSAGES:-200000}"
DEVICES="${BENCH_DEVICES:-1000}"
RATE="${BENCH_RATE:-10000}"
RATE_SECONDS="${BENCH_RATE_SECONDS:-20}"
ARCHIVE_DEVICES="${BENCH_ARCHIVE_DEVICES:-0}"
. "$root/deploy/scripts/lib.sh"
bench_work
IPORT=$(free_port); MPORT=$(free_port); HPORT=$(free_port)

mosq="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
{
  echo "user root"; echo "listener $MPORT 127.0.0.1"; echo "allow_anonymous true"
  echo "persistence_location $work/"; echo "log_dest stderr"; echo "log_type error"
  grep -vE '^\s*(#|$|listener|allow_anonymous|password_file|acl_file|persistence_location|log_dest|log_type|user)' "$root/deploy/mosquitto/mosquitto.conf"
} > "$work/mosquitto.conf"
"$mosq" -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" & MQPID=$!; pids+=($MQPID)

# The archive's day is at rest, as a day written over a day is: InfluxDB
# flushes its cache and compacts soon after the bulk load stops.
[ "$ARCHIVE_DEVICES" -gt 0 ] && export INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION=10s INFLUXDB_DATA_COMPACT_FULL_WRITE_COLD_DURATION=30s
start_influxd "$IPORT" "$work"; IXPID=$INFLUXD_PID

# --device-metrics=false: the bench reads /metrics 50 times a second, where
# Prometheus scrapes every 15 s; a thousand per-device series rendered that
# often would be the harness's cost, not ingest's.
kessel_args=(serve --device-metrics=false ${BENCH_KESSEL_ARGS:-} --mqtt-broker "tcp://127.0.0.1:$MPORT" --influx-url "http://127.0.0.1:$IPORT" --http "127.0.0.1:$HPORT" --mqtt-client-id bench --log-level error)
start_kessel() {
  "$root/bin/kessel" "${kessel_args[@]}" >"$work/kessel.out" 2>>"$work/kessel.log" &
  KPID=$!; pids+=($KPID)
  KC0=$(cpu_ticks "$KPID") # from the start: /readyz may say ready only once a backlog is drained
  for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$HPORT/readyz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "bench: kessel did not become ready" >&2; cat "$work/kessel.log" >&2; exit 1
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
written() { curl -fs "http://127.0.0.1:$HPORT/metrics" | awk '$1 ~ /^kessel_ingest_written_total($|[{])/ {s+=$NF} END {print s+0}'; }
count_stored() {
  curl -fs -XPOST "http://127.0.0.1:$IPORT/api/v2/query" -H 'Content-Type: application/vnd.flux' -H 'Accept: application/csv' \
    -d "from(bucket: \"kessel/autogen\") |> range(start: -1d, stop: 1d) |> filter(fn: (r) => r._measurement == \"air_quality\" and r._field == \"pm10\") |> group() |> count()" \
    | awk -F, 'NR>1 && $NF ~ /^[0-9]+\r?$/ {gsub("\r","",$NF); s+=$NF} END {print s+0}'
}
HZ=$(getconf CLK_TCK)

# 1. Register the persistent session, stop Kessel, queue the burst in mosquitto.
start_kessel
if [ "$ARCHIVE_DEVICES" -gt 0 ]; then
  # A day for the archive: stored straight into InfluxDB, the devices
  # made known to the hub over MQTT (one reading each).
  t0=$(date +%s.%N)
  "$root/bin/kessel-sim" --influx-url "http://127.0.0.1:$IPORT" --devices "$ARCHIVE_DEVICES" --kinds noise --interval 1m \
    --start "$(date -u -d yesterday +%Y-%m-%dT00:00:00Z)" --count $((ARCHIVE_DEVICES * 1440)) --speedup 1e12 --seed 3 --quiet >"$work/archive-day.json"
  w0=$(written)
  "$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices "$ARCHIVE_DEVICES" --kinds noise --interval 0 --count "$ARCHIVE_DEVICES" --seed 3 --quiet >/dev/null
  for _ in $(seq 1 1200); do [ "$(written)" -ge $((w0 + ARCHIVE_DEVICES)) ] && break; sleep 0.1; done
  # Let InfluxDB flush and compact the bulk load (then under a tenth of
  # a core over 5 s) before the drain.
  sleep 40
  for _ in $(seq 1 60); do i0=$(cpu_ticks "$IXPID"); sleep 5; [ $(( $(cpu_ticks "$IXPID") - i0 )) -lt $((HZ / 2)) ] && break; done
  echo "bench-ingest archive: stored (and compacted) yesterday's $(python3 -c 'import json,sys; print(format(json.load(open(sys.argv[1]))["sent"], ","))' "$work/archive-day.json") readings of $ARCHIVE_DEVICES noise sensors in $(python3 -c "print(f'{$(date +%s.%N) - $t0:.0f}')") s"
  # Rollups off: that day's were computed as it happened; the drain
  # shares the machine with the archive alone.
  kessel_args+=(--archive "$work/archive" --rollups=false)
fi
kill -TERM "$KPID"; wait "$KPID" 2>/dev/null || true
"$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices "$DEVICES" --kinds air_quality --interval 0 --count "$N" --seed 1 --quiet >"$work/sim1.json"
m0=$(cpu_ticks "$MQPID"); i0=$(cpu_ticks "$IXPID")
watch_written "$HPORT" "$N" "$work/watch.out"
sleep 0.5 # the watcher's interpreter is up before the clock starts
start=$(date +%s.%N)
start_kessel
c0=$KC0
wait "$WATCH"
read -r first end <"$work/watch.out"
c1=$(cpu_ticks "$KPID"); m1=$(cpu_ticks "$MQPID"); i1=$(cpu_ticks "$IXPID")
rss=$(awk '/VmHWM/{print $2}' "/proc/$KPID/status")
stored=$(count_stored)
python3 - "$N" "$start" "$end" "$c0" "$c1" "$HZ" "$rss" "$stored" "$first" "$m0" "$m1" "$i0" "$i1" <<'PY'
import os, sys
label = os.environ.get("BENCH_LABEL", "with QC")
a = sys.argv
n, start, end, c0, c1, hz, rss, stored, first = int(a[1]), float(a[2]), float(a[3]), int(a[4]), int(a[5]), int(a[6]), int(a[7]), int(a[8]), float(a[9])
m0, m1, i0, i1 = map(int, a[10:14])
secs = end - start
cpu = (c1 - c0) / hz
print(f"bench-ingest drain [{label}]: {n} queued msgs stored in {secs:.2f} s from kessel start = {n/secs:,.0f} msgs/s; {n/(end-first):,.0f} msgs/s from the first write")
print(f"bench-ingest drain [{label}]: kessel CPU {cpu:.2f} s = {cpu/n*1e6:.1f} us/msg; peak RSS {rss/1024:.0f} MiB; stored in InfluxDB {stored}; lost {n - stored}")
print(f"bench-ingest drain [{label}]: meanwhile mosquitto {(m1-m0)/hz/n*1e6:.1f} us/msg, influxd {(i1-i0)/hz/n*1e6:.1f} us/msg")
if os.environ.get("BENCH_RESULTS"):
    with open(os.environ["BENCH_RESULTS"], "a") as f:
        f.write(f"kessel-mosquitto-{label.replace(' ', '-')} {n/secs:.0f}\n")
PY
# The SensorThings feed (on an external broker only with --sta-mqtt all).
sta() { curl -fs "http://127.0.0.1:$HPORT/metrics" | awk -F'[{}" ]+' '/^kessel_sta_mqtt_observations_total/ {s = s sep $3 " " $NF; sep = ", "} END {print (s == "" ? "none (the feed is off)" : s)}'; }
echo "bench-ingest drain [${BENCH_LABEL:-with QC}]: SensorThings MQTT observations: $(sta)"

metric() { curl -fs "http://127.0.0.1:$HPORT/metrics" | awk -v m="$1" '$1 == m {s += $2} END {printf "%.1f", s}'; }
archived() { # what the archive has written so far
  [ "$ARCHIVE_DEVICES" -gt 0 ] || return 0
  echo "bench-ingest archive, $1 ($(python3 -c "print(f'{$(date +%s.%N) - $start:.0f}')") s after Kessel started): $(metric kessel_archive_days_written_total) days written ($(metric kessel_archive_rows_written_total) readings); it waited $(metric kessel_archive_yield_seconds_total) s for ingest to catch up"
}
archived "when the drain was done"

# 2. Fixed rate, Kessel live.
c0=$(cpu_ticks "$KPID"); w0=$(written)
"$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices "$DEVICES" --kinds air_quality --interval 0 --rate "$RATE" --count $((RATE*RATE_SECONDS)) --seed 2 --quiet >"$work/sim2.json"
for _ in $(seq 1 200); do [ "$(written)" -ge $((w0 + RATE*RATE_SECONDS)) ] && break; sleep 0.05; done
c1=$(cpu_ticks "$KPID"); w1=$(written)
echo "bench-ingest steady [${BENCH_LABEL:-with QC}]: SensorThings MQTT observations, drain and steady: $(sta)"
archived "after the steady run"
python3 - "$c0" "$c1" "$HZ" "$w0" "$w1" "$RATE_SECONDS" "$RATE" "$(cat "$work/sim2.json")" <<'PY'
import os, sys, json
label = os.environ.get("BENCH_LABEL", "with QC")
c0, c1, hz, w0, w1, secs, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(float(sys.argv[4])), int(float(sys.argv[5])), int(sys.argv[6]), int(sys.argv[7])
sim = json.loads(sys.argv[8])
n = w1 - w0
cpu = (c1 - c0) / hz
print(f"bench-ingest steady [{label}]: {n} msgs at {sim['rate_per_s']:,.0f} msgs/s (target {rate}); kessel CPU {cpu:.2f} s = {cpu/max(n,1)*1e6:.1f} us/msg = {cpu/sim['duration_s']*100:.0f}% of a core")
PY
