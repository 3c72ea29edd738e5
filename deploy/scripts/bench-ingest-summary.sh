#!/usr/bin/env bash
# make bench-ingest, the last lines: each Kessel drain of the run as a
# multiple of Telegraf's drain of the same workload on the same machine
# in the same run. Reads the "name msgs/s" lines the bench scripts
# appended to $BENCH_RESULTS, and removes the file.
#
# The issue's target (the embedded durable default, with quality control,
# at least 1.8x Telegraf) is judged on pairs: Telegraf's drain and the
# embedded one run back to back, three times, and the verdict is on the
# median of the three ratios. The machine's speed drifts from minute to
# minute by up to a fifth; one pair is one draw of that drift. The other
# drains are given against the median of Telegraf's drains.
set -euo pipefail
f="${BENCH_RESULTS:?}"
python3 - "$f" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
tel = [float(r) for n, r in rows if n == "telegraf"]
if not tel:
    sys.exit("bench-ingest: no telegraf figure in this run")
emb = [float(r) for n, r in rows if n == "kessel-embedded-with-QC"]
base = statistics.median(tel)
seen = set()
for n, r in rows:
    if n in ("telegraf", "kessel-embedded-with-QC") or n in seen:
        continue
    seen.add(n)
    print(f"bench-ingest ratio: {n} {float(r):,.0f} msgs/s = {float(r)/base:.2f}x telegraf (median of its drains, {base:,.0f} msgs/s)")
pairs = list(zip(tel, emb))
for i, (t, e) in enumerate(pairs, 1):
    print(f"bench-ingest ratio: kessel-embedded-with-QC, pair {i}: {e:,.0f} msgs/s = {e/t:.2f}x telegraf ({t:,.0f} msgs/s just before)")
if not pairs:
    sys.exit("bench-ingest: no embedded drain in this run")
m = statistics.median(e / t for t, e in pairs)
print(f"bench-ingest ratio: kessel-embedded-with-QC, median of {len(pairs)} pairs: {m:.2f}x telegraf; target 1.8x {'met' if m >= 1.8 else 'MISSED'}")
PY
rm -f "$f"
