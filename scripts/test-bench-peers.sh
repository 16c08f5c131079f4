#!/usr/bin/env bash
# The plumbing of scripts/bench-peers.sh, never its figures: with tiny
# counts every row runs (ours and every peer's), the JSON has every key for
# every row, and the PNG plots are written and not empty. Skips (exit 0,
# with the reason) when a peer package or gnuplot is missing, or when it
# cannot make the private mount namespace RouDi needs (root, unshare).
# Uses the debug shm-bench that `swift build --build-tests` made.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

skip() { echo "SKIP bench-peers plumbing: $*"; exit 0; }
[ -f /usr/include/boost/interprocess/ipc/message_queue.hpp ] || skip "libboost-dev is not installed"
[ -d /usr/include/iceoryx/v2.0.3 ] && command -v iox-roudi >/dev/null || skip "iceoryx 2.0.3 is not installed (iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev)"
pkg-config --exists CycloneDDS 2>/dev/null && command -v idlc >/dev/null || skip "cyclonedds-dev / cyclonedds-tools are not installed"
command -v gnuplot >/dev/null || skip "gnuplot is not installed (gnuplot-nox)"
[ "$(id -u)" = 0 ] || skip "not root: RouDi needs a private mount namespace"
unshare --mount --propagation private true 2>/dev/null || skip "unshare --mount is not possible here"

bench=$(swift build --show-bin-path)/shm-bench
[ -x "$bench" ] || { echo "no $bench: run swift build --build-tests first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
SHM_BENCH=$bench scripts/bench-peers.sh --tiny --format json --plots "$work/plots" > "$work/out.json" 2> "$work/err.txt" || {
    cat "$work/err.txt" >&2; echo "FAIL: bench-peers.sh --tiny failed" >&2; exit 1; }

python3 - "$work/out.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = report["rows"]
keys = ["mechanism", "dimension", "size_bytes", "subscribers", "p50_ns", "p99_ns", "p999_ns", "msgs_per_s", "gb_per_s",
        "idle_cpu_s", "wakeups_per_s", "rss_sender_kb", "rss_receiver_kb", "settings",
        "rounds", "p50_vs_floor", "msgs_vs_floor", "gb_vs_floor"]
failures = []
for row in rows:
    missing = [k for k in keys if k not in row]
    if missing:
        failures.append(f"{row.get('mechanism')} ({row.get('dimension')}) lacks {missing}")
def figure(mechanism, dimension, key, size=None, subscribers=None):
    for r in rows:
        if r.get("mechanism") == mechanism and r.get("dimension") == dimension and \
           (size is None or r.get("size_bytes") == size) and (subscribers is None or r.get("subscribers") == subscribers):
            return r.get(key)
    failures.append(f"no row {mechanism} ({dimension}, size {size}, subscribers {subscribers})")
    return None
headline = ["c-ring/spin", "c-ring/futex", "pipe", "unix-socket", "swift-shm/spin", "swift-shm/adaptive",
            "swift-shm/sleep", "swift-shm/loan", "iceoryx/busy-poll", "iceoryx/waitset",
            "boost-mq/blocking", "boost-mq/try-spin", "cyclonedds/loopback"]
for m in headline:
    for key in ("p50_ns", "p99_ns", "p999_ns", "msgs_per_s", "gb_per_s", "p50_vs_floor"):
        value = figure(m, "headline", key)
        if not (isinstance(value, (int, float)) and value > 0):
            failures.append(f"{m}: {key} is {value}")
for m in ["c-ring/spin/copy", "swift-shm/spin/copy", "swift-shm/spin/loan", "swift-shm/adaptive/copy", "swift-shm/adaptive/loan", "iceoryx/busy-poll/copy", "iceoryx/busy-poll/loan"]:
    for size in (64, 4096, 65536, 1048576, 4194304):
        value = figure(m, "size", "p50_ns", size)
        if not (isinstance(value, (int, float)) and value > 0):
            failures.append(f"{m} at {size} B: p50 is {value}")
for n in (1, 2, 4, 8):
    value = figure("swift-shm/pubsub", "fanout", "msgs_per_s", subscribers=n)
    if not (isinstance(value, (int, float)) and value > 0):
        failures.append(f"fan-out to {n}: {value}")
for m in ["swift-shm/adaptive", "iceoryx/waitset", "iceoryx/waitset+daemon", "boost-mq/blocking", "cyclonedds/loopback"]:
    for key in ("idle_cpu_s", "wakeups_per_s"):
        value = figure(m, "idle", key)
        if not (isinstance(value, (int, float)) and value >= 0):
            failures.append(f"idle {m}: {key} is {value}")
for m in ["swift-shm/adaptive", "iceoryx/busy-poll", "boost-mq/blocking", "cyclonedds/loopback"]:
    for key in ("rss_sender_kb", "rss_receiver_kb"):
        value = figure(m, "rss", key)
        if not (isinstance(value, (int, float)) and value > 0):
            failures.append(f"rss {m}: {key} is {value}")
names = " ".join(report["not_measured"])
for alternative in ("cpp-ipc", "iceoryx2"):
    if alternative not in names:
        failures.append(f"the output does not say why {alternative} is not measured")
if failures:
    print("FAIL:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"ok: {len(rows)} rows, every key in every row")
PY
for plot in latency-vs-size throughput fanout; do
    file="$work/plots/$plot.png"
    [ -s "$file" ] && [ "$(head -c 8 "$file" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
        || { echo "FAIL: $plot.png is missing, empty or not a PNG" >&2; exit 1; }
done
echo "ok: latency-vs-size.png, throughput.png, fanout.png written"
