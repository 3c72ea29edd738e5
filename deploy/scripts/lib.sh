# Shared by the bench scripts (sourced, not run).

# bench_work makes a scratch folder $work and a list of child pids $pids;
# when the script exits, each child is stopped (and waited for) and the
# folder removed. It first writes out what earlier runs left unwritten (the
# archive run leaves hundreds of megabytes), so that no run's disk is busy
# with another's data.
bench_work() {
  sync
  work="$(mktemp -d)"
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

# free_port prints a loopback TCP port that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_influxd PORT DIR starts bin/influxd (Flux on, reporting off) on
# 127.0.0.1:PORT with its data in DIR, sets INFLUXD_PID, adds it to the
# caller's pids array (stopped by the caller's cleanup) and waits for /ping.
start_influxd() {
  local port="$1" dir="$2"
  INFLUXDB_HTTP_BIND_ADDRESS="127.0.0.1:$port" INFLUXDB_BIND_ADDRESS="127.0.0.1:$(free_port)" \
  INFLUXDB_META_DIR="$dir/meta" INFLUXDB_DATA_DIR="$dir/data" INFLUXDB_DATA_WAL_DIR="$dir/wal" \
  INFLUXDB_HTTP_FLUX_ENABLED=true INFLUXDB_REPORTING_DISABLED=true INFLUXDB_HTTP_LOG_ENABLED=false \
  INFLUXDB_MONITOR_STORE_ENABLED=false INFLUXDB_LOGGING_LEVEL=warn \
    "$root/bin/influxd" run >"$dir/influxd.log" 2>&1 &
  INFLUXD_PID=$!
  pids+=("$INFLUXD_PID")
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "influxd did not start; see $dir/influxd.log" >&2
  return 1
}

# watch_written PORT N OUT watches kessel_ingest_written_total of the hub
# on PORT from one process over one keep-alive connection every 50 ms,
# started before the hub so that it sees the first write, and writes
# "FIRST END" (the times of the first write and of N written) to OUT; its
# pid is $WATCH. A curl started every 20 ms would itself take a tenth of
# this 2-core machine away from the processes being measured, and each
# scrape costs Kessel CPU too. The end is seen up to 50 ms late (about 1 %
# of a run).
watch_written() {
python3 - "$1" "$2" >"$3" <<'PY' &
import http.client, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
conn, first = None, None
while True:
    try:
        conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/metrics")
        body = conn.getresponse().read().decode()
    except OSError:
        conn = None  # not listening yet
        time.sleep(0.05)
        continue
    w = 0
    for line in body.splitlines():
        if line.startswith("kessel_ingest_written_total"):
            w += float(line.split()[-1])
    now = time.time()
    if first is None and w > 0:
        first = now
    if w >= n:
        print(f"{first:.6f} {now:.6f}")
        break
    time.sleep(0.05)
PY
  WATCH=$!; pids+=($WATCH)
}
