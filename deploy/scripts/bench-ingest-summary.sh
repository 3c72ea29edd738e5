#!/usr/bin/env bash
# make bench-ingest, the last line: each Kessel drain of the run as a
# multiple of Telegraf's drain of the same workload on the same machine
# in the same run (issue target: the embedded durable default, with
# quality control, at least 1.8x). Reads the "name msgs/s" lines the
# bench scripts appended to $BENCH_RESULTS, and removes the file.
set -euo pipefail
f="${BENCH_RESULTS:?}"
awk '$1 == "telegraf" {t = $2} $1 != "telegraf" {name[++n] = $1; rate[n] = $2}
END {
  if (!t) { print "bench-ingest: no telegraf figure in this run"; exit 1 }
  for (i = 1; i <= n; i++)
    printf "bench-ingest ratio: %s %d msgs/s = %.2fx telegraf (%d msgs/s)%s\n", name[i], rate[i], rate[i] / t, t,
      (name[i] == "kessel-embedded-with-QC" ? (rate[i] / t >= 1.8 ? "; target 1.8x met" : "; target 1.8x MISSED") : "")
}' "$f"
rm -f "$f"
