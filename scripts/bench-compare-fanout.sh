#!/usr/bin/env bash
# Runs the publish/subscribe fan-out row of two shm-bench builds interleaved,
# round by round, and prints, per subscriber count, the medians of the total
# deliveries per second (messages published times subscribers) and of the CPU
# time all the row's processes used per million deliveries (user + system,
# from the rusage of the whole process tree). On a machine shared with other
# work the CPU time moves less than the rate: both are shown.
#
#   scripts/bench-compare-fanout.sh OLD_SHM_BENCH NEW_SHM_BENCH [ROUNDS] [MESSAGES]
#
# ROUNDS defaults to 5, MESSAGES (published per row) to 500000.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_SHM_BENCH NEW_SHM_BENCH [ROUNDS] [MESSAGES]" >&2; exit 64; }
old=$1 new=$2 rounds=${3:-5} messages=${4:-500000}
case $rounds$messages in ''|*[!0-9]*) echo "ROUNDS and MESSAGES must be numbers" >&2; exit 64 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "$rounds"); do
    for side in old new; do
        binary=$old; [ $side = new ] && binary=$new
        for count in 1 2 4 8; do
            echo "round $round/$rounds: $side, $count subscribers" >&2
            python3 - "$binary" "$count" "$messages" > "$work/$side-$round-$count.json" <<'PY'
import json, resource, subprocess, sys
binary, count, messages = sys.argv[1], sys.argv[2], sys.argv[3]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
out = subprocess.run([binary, "fanout", "--format", "json", "--subscribers", count, "--messages", messages],
                     check=True, capture_output=True, text=True).stdout
after = resource.getrusage(resource.RUSAGE_CHILDREN)
row = json.loads(out)[0]
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(json.dumps({"deliveries": row["msgs_per_s"] * int(count), "cpu": cpu, "total": int(messages) * int(count)}))
PY
        done
    done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
print("| subscribers | build | deliveries/s (median) | min | max | CPU s per M deliveries (median) |")
print("|---:|---|---:|---:|---:|---:|")
for count in (1, 2, 4, 8):
    for side in ("old", "new"):
        rows = [json.load(open(f"{work}/{side}-{r}-{count}.json")) for r in range(1, rounds + 1)]
        rates = [row["deliveries"] / 1e6 for row in rows]
        cpu = [row["cpu"] / row["total"] * 1e6 for row in rows]
        print(f"| {count} | {side} | {statistics.median(rates):.2f} M | {min(rates):.2f} M | {max(rates):.2f} M | {statistics.median(cpu):.3f} |")
print(f"medians of {rounds} interleaved rounds")
PY
