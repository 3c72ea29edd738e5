#!/usr/bin/env bash
# `make run`: InfluxDB, the Kessel hub (embedded broker) and a simulated
# fleet on this machine, with data under ./var. Ctrl-C stops all of them.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
var="$root/var"
mkdir -p "$var/influxdb" "$var/log"

HTTP="${KESSEL_HTTP:-127.0.0.1:8080}"
MQTT="${KESSEL_MQTT_LISTEN:-127.0.0.1:1883}"
INFLUX="${KESSEL_INFLUX_LISTEN:-127.0.0.1:8086}"
DEVICES="${SIM_DEVICES:-200}"
INTERVAL="${SIM_INTERVAL:-5s}"

# Each child runs in a session of its own (setsid), so Ctrl-C reaches only
# this script, which then stops them in order: were the database stopped
# together with the hub, the hub's last writes would fail. Killed hard
# (SIGKILL), the script cannot stop them; so it lists them in $pidfile,
# and the next `make run` finds and stops what an earlier one left.
pidfile="$var/run.pids"
# shellcheck source=deploy/scripts/procs.sh
. "$root/deploy/scripts/procs.sh"

pids=()
stopping=""
stop() {
  stopping=1
  trap - INT TERM EXIT
  echo
  echo "stopping…"
  # Reverse order: simulator, hub, database.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -f "$pidfile"
  echo "stopped; data is kept in $var"
}

# started NAME PID DATADIR records a child (running bin/NAME) in $pidfile.
started() {
  pids+=("$2")
  printf '%s %s %s %s\n' "$1" "$2" "$(readlink -f "$root/bin/$1")" "$3" >>"$pidfile"
}

stop_leftovers "$pidfile" || exit 1
for addr in "$HTTP" "$MQTT" "$INFLUX"; do
  if busy "$addr"; then
    echo "run: $addr is already in use by $(holder "$addr"); stop it (or set KESSEL_HTTP / KESSEL_MQTT_LISTEN / KESSEL_INFLUX_LISTEN)" >&2
    exit 1
  fi
done
printf 'run.sh %s %s -\n' "$$" "$(exe_of $$)" >"$pidfile"
trap stop INT TERM EXIT

INFLUXDB_HTTP_BIND_ADDRESS="$INFLUX" \
INFLUXDB_BIND_ADDRESS="127.0.0.1:0" \
INFLUXDB_META_DIR="$var/influxdb/meta" \
INFLUXDB_DATA_DIR="$var/influxdb/data" \
INFLUXDB_DATA_WAL_DIR="$var/influxdb/wal" \
INFLUXDB_HTTP_FLUX_ENABLED=true \
INFLUXDB_REPORTING_DISABLED=true \
INFLUXDB_HTTP_LOG_ENABLED=false \
INFLUXDB_MONITOR_STORE_ENABLED=false \
INFLUXDB_LOGGING_LEVEL=warn \
  setsid "$root/bin/influxd" run >"$var/log/influxd.log" 2>&1 &
started influxd $! "$var/influxdb"
for _ in $(seq 1 100); do
  curl -fs "http://$INFLUX/ping" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://$INFLUX/ping" >/dev/null || { echo "run: influxd did not start; see $var/log/influxd.log" >&2; exit 1; }

districts=()
if [ -f "$root/../shared/data/geo/stuttgart-stadtbezirke-approx.geojson" ]; then
  districts=(--districts "$root/../shared/data/geo/stuttgart-stadtbezirke-approx.geojson")
fi
config=()
if [ -f "$root/deploy/config/kessel.example.yaml" ]; then
  config=(--config "$root/deploy/config/kessel.example.yaml")
fi

# kessel serve makes the database and its retention policies: raw
# readings for --raw-retention (KESSEL_RAW_RETENTION, 90 days), hourly and
# daily rollups for --rollup-retention (forever), and computes the rollups.
setsid "$root/bin/kessel" serve --http "$HTTP" --mqtt-listen "$MQTT" --mqtt-data "$var/mqtt" --archive "$var/archive" --raw-retention "${KESSEL_RAW_RETENTION:-2160h}" --influx-url "http://$INFLUX" "${districts[@]}" "${config[@]}" \
  2>"$var/log/kessel.log" &
started kessel $! "$var/mqtt"
for _ in $(seq 1 150); do
  curl -fs "http://$HTTP/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://$HTTP/readyz" >/dev/null || { echo "run: kessel did not become ready; see $var/log/kessel.log" >&2; exit 1; }

setsid "$root/bin/kessel-sim" --broker "tcp://$MQTT" --push "http://$HTTP" --formats native,senml,tts,airrohr --mobile 0.2 --devices "$DEVICES" --interval "$INTERVAL" --quiet "${districts[@]}" \
  >"$var/log/kessel-sim.out" 2>"$var/log/kessel-sim.log" &
started kessel-sim $! -

cat <<MSG

Kessel is running (InfluxDB, hub with embedded MQTT broker, $DEVICES simulated devices every $INTERVAL).

  Citizens' page   http://$HTTP/
  Devices          http://$HTTP/api/v1/devices
  Latest values    http://$HTTP/api/v1/latest?format=geojson
  One device       http://$HTTP/api/v1/devices/air-0001
  Its history      http://$HTTP/api/v1/devices/air-0001/readings?from=-1h&every=1m&fn=mean
  Hourly rollups   http://$HTTP/api/v1/devices/air-0001/readings?from=-7d&every=1h  (raw kept ${KESSEL_RAW_RETENTION:-2160h}, rollups ${KESSEL_ROLLUP_RETENTION:-forever})
  Nearest sensors  http://$HTTP/api/v1/nearest?lon=9.18&lat=48.7784&k=5
  Districts        http://$HTTP/api/v1/districts
  Health           http://$HTTP/readyz     Metrics http://$HTTP/metrics
  MQTT             tcp://$MQTT  (try: mosquitto_sub -h ${MQTT%:*} -p ${MQTT##*:} -t 'kessel/#' -v)
  Logs             $var/log/

Press Ctrl-C to stop everything.
MSG

# Wait until a child dies or Ctrl-C; then the trap stops the rest.
wait -n "${pids[@]}" || true
for pid in "${pids[@]}"; do
  if [ -z "$stopping" ] && ! kill -0 "$pid" 2>/dev/null; then
    echo "run: process $pid exited; see $var/log/ for why" >&2
    break
  fi
done
