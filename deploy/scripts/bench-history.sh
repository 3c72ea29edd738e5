#!/usr/bin/env bash
# make bench-history: a year of 1-minute air-quality readings of 100
# devices (52.6 million readings, 263 million values) written with the
# simulator's backfill straight into InfluxDB, the hourly and daily
# rollups built by the hub, then p50/p90 of one device's year at every=1h
# and of a district's year at every=1d, from the rollups and from raw
# readings (resolution=raw), and disk use per device-year, raw vs rollups.
# On a shared 2-core machine the full size took 21 to 32 minutes (1 December 2026): BENCH_DEVICES,
# BENCH_DAYS and BENCH_INTERVAL scale it down (e.g. 5 devices, 30 days).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
DEVICES="${BENCH_DEVICES:-100}"
DAYS="${BENCH_DAYS:-365}"
INTERVAL="${BENCH_INTERVAL:-1m}"
REQUESTS="${BENCH_REQUESTS:-20}"         # per rollup-served request
RAW_REQUESTS="${BENCH_RAW_REQUESTS:-3}"  # per raw-served request (slow)
. "$root/deploy/scripts/lib.sh"
bench_work
IPORT=$(free_port); MPORT=$(free_port); HPORT=$(free_port)
# Flush InfluxDB's cache to TSM files and compact them soon after writes
# stop, so that the disk figures are those of data at rest.
export INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION=10s INFLUXDB_DATA_COMPACT_FULL_WRITE_COLD_DURATION=30s
start_influxd "$IPORT" "$work"
districts=()
geo="$root/../shared/data/geo/stuttgart-stadtbezirke-approx.geojson"
[ -f "$geo" ] && districts=(--districts "$geo")
keep="$(( (DAYS + 2) * 24 ))h"
serve() { # serve ROLLUPS: the hub, with raw kept longer than the backfill
  "$root/bin/kessel" serve --mqtt-listen "127.0.0.1:$MPORT" --influx-url "http://127.0.0.1:$IPORT" --http "127.0.0.1:$HPORT" \
    --raw-retention "$keep" --rollups="$1" --rollup-grace 1ms --rate-limit-read 0 --log-level info "${districts[@]}" \
    >"$work/kessel.out" 2>>"$work/kessel.log" & KESSEL=$!; pids+=($KESSEL)
  for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$HPORT/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench-history: kessel did not become ready; see $work/kessel.log" >&2; exit 1
}
serve false # makes the database and retention policies; no rollups while loading
t0=$(date +%s.%N)
"$root/bin/kessel-sim" --influx-url "http://127.0.0.1:$IPORT" --devices "$DEVICES" --kinds air_quality --interval "$INTERVAL" \
  --start "-$((DAYS * 24))h" --speedup 1e12 --quiet "${districts[@]}" >"$work/load.json"
t1=$(date +%s.%N)
python3 - "$work/load.json" "$t0" "$t1" <<'PY'
import json, sys
s, secs = json.load(open(sys.argv[1])), float(sys.argv[3]) - float(sys.argv[2])
print(f"bench-history: loaded {s['sent']:,} readings ({s['sent']*5:,} values) in {secs:.0f} s, {s['sent']/secs:,.0f} readings/s, errors {s['errors']}")
PY
# The hub learns the devices (meta and one reading each) over MQTT.
"$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices "$DEVICES" --kinds air_quality --count "$DEVICES" --interval 0 --quiet "${districts[@]}" >/dev/null
kill -TERM "$KESSEL"; wait "$KESSEL" || true
t0=$(date +%s.%N)
serve true
lag() { curl -fs "http://127.0.0.1:$HPORT/metrics" | awk '/^kessel_rollup_final_lag_seconds /{print int($2)}'; }
for _ in $(seq 1 36000); do l=$(lag); [ -n "$l" ] && [ "$l" -lt 7200 ] && break; sleep 1; done
t1=$(date +%s.%N)
echo "bench-history: rollups built in $(python3 -c "print(f'{$t1 - $t0:.0f}')") s ($(curl -fs "http://127.0.0.1:$HPORT/metrics" | awk '/^kessel_rollup_windows_total/{s+=$2} END{printf "%d", s}') windows)"
# Queries meet data at rest, as a year-old city's are: InfluxDB compacts
# the bulk load for a while after writes stop (the disk figures below
# need that too).
sleep 60
base="http://127.0.0.1:$HPORT/api/v1"
district="$(curl -fs "$base/devices/air-0001" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("district",""))')"
timeit() { # timeit NAME N URL: p50 and p90 of N sequential requests
  local name="$1" n="$2" url="$3"
  : >"$work/t.txt"
  for _ in $(seq 1 "$n"); do
    curl -s -o "$work/body" -D "$work/head" -w '%{http_code} %{time_total}\n' "$url" >>"$work/t.txt"
  done
  python3 - "$name" "$work/t.txt" "$work/head" "$work/body" <<'PY'
import json, re, sys
name, rows = sys.argv[1], [l.split() for l in open(sys.argv[2])]
ok = sorted(float(t) for c, t in rows if c == "200")
served = re.search(r"(?im)^kessel-resolution: (\S+)", open(sys.argv[3]).read())
try: count = json.load(open(sys.argv[4])).get("count")
except Exception: count = None
if not ok:
    print(f"bench-history {name}: every request failed (status {rows[0][0]}): {open(sys.argv[4]).read()[:200]}")
else:
    p = lambda q: ok[min(len(ok) - 1, int(q * len(ok)))] * 1000
    print(f"bench-history {name}: p50 {p(0.5):.0f} ms, p90 {p(0.9):.0f} ms over {len(ok)} requests ({len(rows)-len(ok)} failed), {count} windows, served by {served.group(1) if served else '?'}")
PY
}
dev="$base/devices/air-0001/readings?from=-${DAYS}d&every=1h"
timeit "one device's ${DAYS} days at every=1h, rollups" "$REQUESTS" "$dev"
timeit "one device's ${DAYS} days at every=1h, raw" "$RAW_REQUESTS" "$dev&resolution=raw"
if [ -n "$district" ]; then
  dis="$base/districts/$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$district")/readings?kind=air_quality&field=pm10&from=-${DAYS}d&every=1d"
  n=$(curl -fs "$base/devices?district=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$district")&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  timeit "district $district ($n devices) ${DAYS} days at every=1d, rollups" "$REQUESTS" "$dis"
  timeit "district $district ($n devices) ${DAYS} days at every=1d, raw" "$RAW_REQUESTS" "$dis&resolution=raw"
else
  echo "bench-history: no districts file ($geo): district series skipped"
fi
du_rp() { du -sb "$work/data/kessel/$1" "$work/wal/kessel/$1" 2>/dev/null | awk '{s+=$1} END{print s+0}'; }
raw=$(du_rp autogen); hour=$(du_rp rollup_1h); day=$(du_rp rollup_1d)
python3 - "$raw" "$hour" "$day" "$DEVICES" "$DAYS" <<'PY'
import sys
raw, hour, day, devices, days = (float(x) for x in sys.argv[1:])
per = lambda b: b / devices / (days / 365)
print(f"bench-history disk per device-year: raw {per(raw)/1e6:.1f} MB, hourly rollups {per(hour)/1e6:.2f} MB, daily rollups {per(day)/1e6:.3f} MB (raw/rollups {raw/max(1, hour+day):.0f}x; {devices:.0f} devices, {days:.0f} days)")
PY
