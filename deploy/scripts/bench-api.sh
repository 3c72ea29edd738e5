#!/usr/bin/env bash
# make bench-api: 10,000 devices in the live state, then wrk on loopback:
# the whole city's /latest as GeoJSON, a district's /latest (a bbox), one
# device, and nearest-10. Prints requests/s and latency percentiles.
# The whole city's GeoJSON with gzip is measured at 4 and 64 connections
# from the snapshot (api/snapshot.go) and, for A/B in the same run, from
# the normal path: the same URL with one more query parameter (ab=normal),
# which /latest ignores and which takes a request off the snapshot; the
# normal path does not compress. Then the snapshot again while readings
# flow (BENCH_FLOW_RATE msgs/s), so that it is rebuilt once a second.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
DEVICES="${BENCH_DEVICES:-10000}"
DURATION="${BENCH_DURATION:-10s}"
FLOW_RATE="${BENCH_FLOW_RATE:-1000}"
. "$root/deploy/scripts/lib.sh"
bench_work
IPORT=$(free_port); MPORT=$(free_port); HPORT=$(free_port)
start_influxd "$IPORT" "$work"
"$root/bin/kessel" serve --mqtt-listen "127.0.0.1:$MPORT" --influx-url "http://127.0.0.1:$IPORT" --http "127.0.0.1:$HPORT" \
  --rate-limit-read 0 --log-level error >"$work/kessel.out" 2>"$work/kessel.log" & pids+=($!)
for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$HPORT/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
"$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices "$DEVICES" --count "$DEVICES" --interval 0 --quiet >/dev/null
for _ in $(seq 1 200); do
  n=$(curl -fs "http://127.0.0.1:$HPORT/api/v1/latest?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  [ "$n" -ge "$DEVICES" ] && break; sleep 0.1
done
echo "bench-api: $n devices with a latest reading in the live state"
base="http://127.0.0.1:$HPORT/api/v1"
run() {
  local name="$1" url="$2" conns="$3"; shift 3
  wrk -t"$(( conns < 2 ? 1 : 2 ))" -c"$conns" -d"$DURATION" --latency "$@" "$url" >"$work/wrk.txt" 2>&1
  python3 - "$name" "$work/wrk.txt" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", text, re.M))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: (.*)", text)
print(f"bench-api {name}: {float(rps):,.0f} req/s, latency p50 {lat.get('50')} p90 {lat.get('90')} p99 {lat.get('99')}" + (f", {errs.group(1)} errors" if errs else "") + (f", socket errors: {sock.group(1)}" if sock else ""))
PY
}
run "GET /devices/{id}" "$base/devices/air-0001" 32
run "GET /nearest k=10" "$base/nearest?lon=9.18&lat=48.7784&k=10" 32
run "GET /latest district bbox geojson (1 connection)" "$base/latest?bbox=9.16,48.765,9.195,48.785&format=geojson" 1
run "GET /latest district bbox geojson (4 connections)" "$base/latest?bbox=9.16,48.765,9.195,48.785&format=geojson" 4
run "GET /latest whole city geojson, identity (snapshot)" "$base/latest?limit=10000&format=geojson" 4
city="$base/latest?limit=10000&format=geojson"
gz=(-H "Accept-Encoding: gzip")
bytes_of() { curl -fs "${gz[@]}" -o /dev/null -w '%{size_download}' "$1"; }
echo "bench-api: whole city geojson: $(bytes_of "$city") bytes gzipped from the snapshot, $(bytes_of "$city&ab=normal") bytes from the normal path"
for c in 4 64; do
  run "GET /latest whole city geojson gzip, snapshot ($c connections)" "$city" "$c" "${gz[@]}"
  run "GET /latest whole city geojson gzip asked, normal path ($c connections)" "$city&ab=normal" "$c" "${gz[@]}"
done
written() { curl -fs "http://127.0.0.1:$HPORT/metrics" | awk '/^kessel_ingest_written_total/ {s += $NF} END {printf "%d\n", s}'; }
before=$(written)
"$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices "$DEVICES" --interval 0 --rate "$FLOW_RATE" --quiet >/dev/null 2>&1 & sim=$!
pids+=($sim)
# Measure the flow, not the fleet's start (its devices connecting and
# announcing themselves): wait until two seconds' worth of readings are
# stored, at most 60 s.
started=$(date +%s.%N)
for _ in $(seq 1 600); do [ "$(written)" -ge $(( before + 2 * FLOW_RATE )) ] && break; sleep 0.1; done
echo "bench-api: the flow of $FLOW_RATE readings/s reached the store $(python3 -c "import time; print(f'{time.time() - $started:.1f}')") s after the simulator started"
for c in 4 64; do
  run "GET /latest whole city geojson gzip, snapshot, $FLOW_RATE readings/s flowing ($c connections)" "$city" "$c" "${gz[@]}"
done
kill -TERM "$sim" 2>/dev/null || true
echo "bench-api: $(curl -fs "http://127.0.0.1:$HPORT/metrics" | grep '^kessel_http_latest_snapshot_builds_total') (snapshot builds over the run)"
echo "bench-api: district bbox holds $(curl -fs "$base/latest?bbox=9.16,48.765,9.195,48.785&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])') devices"
