#!/usr/bin/env bash
# make bench-sim: kessel-sim's own cost. (1) 10,000 devices at one reading
# every 10 s each for 30 s: CPU share of one process. (2) --rate 0: how many
# messages per second it publishes to a local mosquitto (shipped limits).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/deploy/scripts/lib.sh"
bench_work
MPORT=$(free_port)
mosq="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
{ echo "user root"; echo "listener $MPORT 127.0.0.1"; echo "allow_anonymous true"; echo "persistence false"; echo "log_dest stderr"; echo "log_type error"
  grep -vE '^\s*(#|$|listener|allow_anonymous|password_file|acl_file|persistence|log_dest|log_type|user|autosave)' "$root/deploy/mosquitto/mosquitto.conf"; } > "$work/m.conf"
"$mosq" -c "$work/m.conf" 2>"$work/m.log" & pids+=($!)
sleep 0.5
HZ=$(getconf CLK_TCK)
"$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices 10000 --interval 10s --quiet > "$work/s1.json" &
SIM=$!
sleep 30
c=$(awk '{print $14+$15}' "/proc/$SIM/stat"); kill -INT $SIM; wait $SIM || true
python3 - "$c" "$HZ" "$work/s1.json" <<'PY'
import sys, json
c, hz = int(sys.argv[1]), int(sys.argv[2])
s = json.load(open(sys.argv[3]))
print(f"bench-sim fleet: 10,000 devices every 10 s for 30 s: {s['sent']} readings ({s['sent']/30:,.0f}/s), {c/hz:.2f} CPU s = {c/hz/30*100:.0f}% of one core")
PY
"$root/bin/kessel-sim" --broker "tcp://127.0.0.1:$MPORT" --devices 1000 --interval 0 --rate 0 --count 200000 --connections 4 --quiet > "$work/s2.json"
python3 - "$work/s2.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"bench-sim burst: {s['sent']} readings at {s['rate_per_s']:,.0f} msgs/s (QoS 1, confirmed by the broker), errors {s['errors']}")
PY
