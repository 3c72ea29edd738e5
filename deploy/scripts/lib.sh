# Shared by the bench scripts (sourced, not run).

# bench_work makes a scratch folder $work and a list of child pids $pids;
# when the script exits, each child is stopped (and waited for) and the
# folder removed.
bench_work() {
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
