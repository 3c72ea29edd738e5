# Process helpers for run.sh (sourced, not run): which process holds a
# port, and stopping what an earlier `make run` left running.

# exe_of PID prints the program PID runs (resolved; " (deleted)" dropped
# when the binary was rebuilt since), empty if PID is gone (or a zombie).
exe_of() {
  local exe
  exe="$(readlink "/proc/$1/exe" 2>/dev/null)" || return 0
  printf '%s' "${exe% (deleted)}"
}

# busy ADDR reports whether something accepts TCP connections on ADDR.
busy() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# describe PID prints "NAME (pid PID: COMMAND LINE)".
describe() {
  local name cmd
  name="$(cat "/proc/$1/comm" 2>/dev/null || echo '?')"
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-120)"
  printf '%s (pid %s: %s)' "$name" "$1" "${cmd% }"
}

# listener_pid PORT prints the pid of the process listening on TCP PORT:
# from ss, or else by finding the socket's inode in /proc/net/tcp* and
# the process that holds it. Empty if it cannot tell (another user's
# process, without root).
listener_pid() {
  local port="$1" line inode fd
  line="$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n1)" || true
  if [[ "$line" =~ pid=([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]}"
    return
  fi
  inode="$(awk -v p="$(printf '%04X' "$port")" '$4 == "0A" { split($2, a, ":"); if (a[2] == p) { print $10; exit } }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)"
  [ -n "$inode" ] || return 0
  for fd in /proc/[0-9]*/fd/*; do
    if [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ]; then
      fd="${fd#/proc/}"
      echo "${fd%%/*}"
      return
    fi
  done
}

# holder ADDR names the process listening on ADDR.
holder() {
  local pid
  pid="$(listener_pid "${1##*:}")"
  if [ -n "$pid" ]; then describe "$pid"; else echo "a process this user cannot see (try: sudo ss -ltnp 'sport = :${1##*:}')"; fi
}

# stop_leftovers PIDFILE stops the processes an earlier `make run` listed
# in PIDFILE and left running (killed hard, its children live on in their
# own sessions). A process counts only if it still runs the program
# recorded for it, so a reused pid is never touched. If the earlier
# `make run` itself still runs, it refuses (returns 1) and says how to
# stop that one.
stop_leftovers() {
  local pidfile="$1" name pid exe dir left=()
  [ -f "$pidfile" ] || return 0
  while read -r name pid exe dir; do
    [ -n "$pid" ] && [ -n "$exe" ] && [ "$(exe_of "$pid")" = "$exe" ] || continue
    if [ "$name" = run.sh ]; then
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'run\.sh' || continue
      echo "run: \`make run\` is already running (pid $pid); stop it with Ctrl-C in its terminal, or: kill $pid" >&2
      return 1
    fi
    left+=("$name $pid $dir")
  done <"$pidfile"
  rm -f "$pidfile"
  [ ${#left[@]} -gt 0 ] || return 0
  echo "run: an earlier \`make run\` was killed and left these running; stopping them:" >&2
  local i
  for ((i=${#left[@]}-1; i>=0; i--)); do
    read -r name pid dir <<<"${left[$i]}"
    echo "run:   $name (pid $pid$([ "$dir" != - ] && echo ", data in $dir"))" >&2
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do [ -n "$(exe_of "$pid")" ] || break; sleep 0.1; done
    if [ -n "$(exe_of "$pid")" ]; then
      echo "run:   $name (pid $pid) did not stop within 10 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
