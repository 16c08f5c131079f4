#!/usr/bin/env bash
# Runs two shm-bench builds interleaved, round by round, and prints the
# medians of each row side by side: how a change moves the time, measured in
# one run on one machine (whose noise moves from minute to minute).
#
#   scripts/bench-compare.sh OLD_SHM_BENCH NEW_SHM_BENCH [ROUNDS] [ROW ...]
#
# ROUNDS defaults to 3; the rows default to the floor and our channel's rows.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_SHM_BENCH NEW_SHM_BENCH [ROUNDS] [ROW ...]" >&2; exit 64; }
old=$1 new=$2 rounds=${3:-3}
shift $(( $# >= 3 ? 3 : 2 ))
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(c-ring/spin swift-shm/spin swift-shm/adaptive swift-shm/sleep swift-shm/loan)
case $rounds in ''|*[!0-9]*) echo "ROUNDS must be a number" >&2; exit 64 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "$rounds"); do
    for side in old new; do
        binary=$old; [ $side = new ] && binary=$new
        echo "round $round/$rounds: $side" >&2
        "$binary" run --rounds 1 --format json --only "${rows[@]}" > "$work/$side-$round.json"
    done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
keys = [("p50_ns", "RTT p50 ns", "%.0f"), ("p99_ns", "p99 ns", "%.0f"), ("p999_ns", "p99.9 ns", "%.0f"),
        ("msgs_per_s", "64 B M msgs/s", "%.2f"), ("gb_per_s", "1 MiB GB/s", "%.1f")]
data = {}
for side in ("old", "new"):
    for r in range(1, rounds + 1):
        for row in json.load(open(f"{work}/{side}-{r}.json")):
            data.setdefault((row["mechanism"], side), []).append(row)
print("| row | build | " + " | ".join(k[1] for k in keys) + " |")
print("|---|---|" + "---:|" * len(keys))
for mechanism in dict.fromkeys(m for m, _ in data):
    for side in ("old", "new"):
        cells = []
        for key, _, fmt in keys:
            values = [row[key] for row in data.get((mechanism, side), []) if row[key] is not None]
            value = statistics.median(values) if values else None
            if value is not None and key == "msgs_per_s": value /= 1e6
            cells.append("-" if value is None else fmt % value)
        print(f"| {mechanism} | {side} | " + " | ".join(cells) + " |")
print(f"medians of {rounds} interleaved rounds")
PY
