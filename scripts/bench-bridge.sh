#!/bin/bash
# Benchmark rows (not a test): shm-bridge between two "hosts" (network
# namespaces joined by a veth pair, each with its own /dev/shm) beside a plain
# Cyclone DDS C pair (Tests/DDSPeer/dds_bench.c) with the same sample type and
# QoS (RELIABLE, KEEP_ALL, 64 samples per writer, 256 per reader) between the same namespaces, same run.
#   bridged round trip: ping (A) -> topic -> bridge A -> DDS -> bridge B -> topic
#                       -> echo (B) -> topic -> bridge B -> DDS -> bridge A -> topic -> ping
#   bridged request:    client (A) -> service -> bridge A -> DDS -> bridge B -> service
#                       -> echo server (B), and the reply back the same way
#   bridged throughput: source (A) -> topic -> bridge A -> DDS -> bridge B -> topic -> sink (B)
# (local topics of several publishers, which the bridges create, 4 publisher slots each)
# Needs root. Usage: scripts/bench-bridge.sh [BIN_DIR]  (default .build/release,
# else .build/debug). ROUNDS, STREAM64 and STREAM1M set the counts.
set -u
cd "$(dirname "$0")/.."
root=$PWD
bin="${1:-}"
if [ -z "$bin" ]; then bin=$root/.build/release; [ -x "$bin/shm-bridge-bench" ] || bin=$root/.build/debug; fi
# The local ends sleep on their rings by default, as the raw pair sleeps in
# its waitsets; the round trip is measured with the bridges' defaults, then
# with --busy-poll BUSY (200 us: longer than the round trip, so a bridge's
# outbound thread is awake when the next message comes). WAIT=spin|adaptive|sleep
# sets the bridges' and the local ends' waits, BRIDGE_WAIT the bridges' alone
# (their default: sleep); ONLY=rtt skips the throughput rows, ONLY=stream the round trips.
spin=(); [ -n "${WAIT:-}" ] && spin=(--wait-name "$WAIT")
bwait=(); [ -n "${BRIDGE_WAIT:-${WAIT:-}}" ] && bwait=(--wait "${BRIDGE_WAIT:-$WAIT}")
rounds="${ROUNDS:-5000}" stream64="${STREAM64:-200000}" stream1m="${STREAM1M:-400}"
[ "$(id -u)" = 0 ] || { echo "bench-bridge: needs root for namespaces"; exit 1; }
[ -x "$bin/shm-bridge" ] && [ -x "$bin/shm-bridge-bench" ] || { echo "bench-bridge: build shm-bridge and shm-bridge-bench ($bin)"; exit 1; }
work=$(mktemp -d /tmp/shm-bridge-bench.XXXXXX)
tag=$$ nsa=shmbb-a-$$ nsb=shmbb-b-$$
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "$nsa" 2>/dev/null; ip netns del "$nsb" 2>/dev/null
    umount "$work/shm-a" "$work/shm-b" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$root/scripts/build-dds-peer.sh" "$work" >/dev/null || exit 1
raw=$work/dds_bench
on() {
    local ns=$1 host=$2; shift 2
    exec ip netns exec "$ns" unshare --mount --propagation private \
        sh -c 'mount --bind "$0" /dev/shm && exec "$@"' "$work/shm-$host" "$@"
}
bg() { local name=$1; shift; (on "$@") >"$work/$name.out" 2>"$work/$name.err" & pids+=($!); eval "pid_$name=$!"; }
fg() { local name=$1; shift; (on "$@") >"$work/$name.out" 2>"$work/$name.err"; tail -n 1 "$work/$name.out"; }
ready() { for _ in $(seq 100); do grep -q '^ready' "$work/$1.out" 2>/dev/null && return 0; sleep 0.1; done; cat "$work/$1.err"; return 1; }
stopall() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done; wait 2>/dev/null; pids=(); }
field() { echo "$1" | sed -n "s/.* $2 \([0-9.]*\).*/\1/p"; }

ip netns add "$nsa" && ip netns add "$nsb"
ip link add vbb-a-$tag netns "$nsa" type veth peer vbb-b-$tag netns "$nsb"
ip -n "$nsa" addr add 10.78.0.1/24 dev vbb-a-$tag && ip -n "$nsb" addr add 10.78.0.2/24 dev vbb-b-$tag
for ns in "$nsa" "$nsb"; do ip -n "$ns" link set lo up; done
ip -n "$nsa" link set vbb-a-$tag up && ip -n "$nsb" link set vbb-b-$tag up
for h in a b; do mkdir -p "$work/shm-$h" && mount -t tmpfs -o size=512m tmpfs "$work/shm-$h"; done
ia=(--interface vbb-a-$tag) ib=(--interface vbb-b-$tag)
# Rings of 1 MiB for 64 B messages: the bridge's DDS queue is then 64 samples,
# as in the raw pair (the bridge cuts its queue to about 64 MiB of largest
# messages); 8 MiB rings (2 MiB largest message, queue 32) for 1 MiB messages.
ring=(--capacity 1048576)
brg=(--capacity 1048576 --domain 42 --quiet --publishers 4)
bigring=(--capacity 8388608)
bigbrg=(--capacity 8388608 --domain 42 --quiet --publishers 4)

# Round trips, 64 B: the local ends wait as WAIT says; the bridges as BRIDGE_WAIT says, then with --busy-poll too.
rtt() {  # rtt ENDS_WAIT [BRIDGE FLAGS...] -> the ping line
    local ends=(); [ -n "$1" ] && ends=(--wait-name "$1")
    shift
    bg ea "$nsa" a "$bin/shm-bridge" --out ping --in pong "${ia[@]}" "${brg[@]}" "${bwait[@]}" "$@"
    bg eb "$nsb" b "$bin/shm-bridge" --in ping --out pong "${ib[@]}" "${brg[@]}" "${bwait[@]}" "$@"
    ready ea; ready eb
    bg echo "$nsb" b "$bin/shm-bridge-bench" echo ping pong "${ring[@]}" --size 64 "${ends[@]}"
    ready echo; sleep 2
    fg ping "$nsa" a "$bin/shm-bridge-bench" ping ping pong "${ring[@]}" --size 64 --count "$rounds" "${ends[@]}"
    stopall
}
ends_wait=${WAIT:-sleep}
bridged_rtt="" busy_rtt="" request_rtt="" busy_request_rtt="" raw_rtt="" busy=${BUSY:-200}
if [ "${ONLY:-}" != stream ]; then
bridged_rtt=$(rtt "$ends_wait")
busy_rtt=$(rtt "$ends_wait" --busy-poll "$busy")
# A request and its reply through two bridges: client (A) -> service -> bridge A
# (--requests-out) -> DDS -> bridge B (--requests-in) -> service -> echo server (B) and back.
requests() {  # requests [BRIDGE FLAGS...] -> the client's line
    bg qa "$nsa" a "$bin/shm-bridge" --requests-out calc "${ia[@]}" --domain 42 --quiet "${bwait[@]}" "$@"
    bg qb "$nsb" b "$bin/shm-bridge" --requests-in calc "${ib[@]}" --domain 42 --quiet "${bwait[@]}" "$@"
    ready qa; ready qb
    bg qserve "$nsb" b "$bin/shm-bridge-bench" serve calc --wait-name "$ends_wait"
    ready qserve
    fg qclient "$nsa" a "$bin/shm-bridge-bench" request calc --size 64 --count "$rounds" --wait-name "$ends_wait"
    stopall
}
request_rtt=$(requests)
busy_request_rtt=$(requests --busy-poll "$busy")
bg pong "$nsb" b "$raw" pong 42 vbb-b-$tag 64 "$rounds"
ready pong; sleep 1
raw_rtt=$(fg rawping "$nsa" a "$raw" ping 42 vbb-a-$tag 64 "$rounds")
stopall
fi

# Throughput, 64 B and 1 MiB
stream() {  # stream SIZE COUNT -> "bridged_line|raw_line"
    local size=$1 n=$2
    if [ "$size" -gt 65536 ]; then local ring=("${bigring[@]}") brg=("${bigbrg[@]}"); fi
    bg sa "$nsa" a "$bin/shm-bridge" --out stream$size "${ia[@]}" "${brg[@]}"
    bg sb "$nsb" b "$bin/shm-bridge" --in stream$size "${ib[@]}" "${brg[@]}"
    ready sa; ready sb
    bg sink "$nsb" b "$bin/shm-bridge-bench" sink stream$size "${ring[@]}" --size "$size" --count "$n"
    ready sink; sleep 2
    (on "$nsa" a "$bin/shm-bridge-bench" source stream$size "${ring[@]}" --size "$size" --count "$n") >/dev/null 2>&1
    wait "$pid_sink"; local bridged; bridged=$(tail -n 1 "$work/sink.out")
    stopall
    bg rawsink "$nsb" b "$raw" sink 42 vbb-b-$tag "$size" "$n"
    ready rawsink
    (on "$nsa" a "$raw" source 42 vbb-a-$tag "$size" "$n") >/dev/null 2>&1
    wait "$pid_rawsink"; local rawline; rawline=$(tail -n 1 "$work/rawsink.out")
    stopall
    echo "$bridged|$rawline"
}
t64="|" t1m="|"
if [ "${ONLY:-}" != rtt ]; then
    t64=$(stream 64 "$stream64")
    t1m=$(stream 1048576 "$stream1m")
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "bench-bridge: two network namespaces over veth, Cyclone DDS $(pkg-config --modversion CycloneDDS), binaries $bin, local ends' ring waits ${WAIT:-sleep}, the bridges' ${BRIDGE_WAIT:-${WAIT:-sleep}}"
printf "%-34s %14s %14s %8s\n" "row" "shm-bridge" "raw DDS (C)" "ratio"
# row LABEL BRIDGED_LINE RAW_LINE KEY: one table row, the KEY field of each line and their ratio.
row() {
    local b r; b=$(field "$2" "$4") r=$(field "$3" "$4")
    printf "%-34s %14s %14s %8s\n" "$1" "$b" "$r" "$(ratio "$b" "$r")"
}
row "64 B round trip, median (us)" "$bridged_rtt" "$raw_rtt" median_us
row "64 B round trip, p99 (us)" "$bridged_rtt" "$raw_rtt" p99_us
row "  --busy-poll $busy, median (us)" "$busy_rtt" "$raw_rtt" median_us
row "  --busy-poll $busy, p99 (us)" "$busy_rtt" "$raw_rtt" p99_us
row "64 B request + reply, median (us)" "$request_rtt" "$raw_rtt" median_us
row "64 B request + reply, p99 (us)" "$request_rtt" "$raw_rtt" p99_us
row "  --busy-poll $busy, median (us)" "$busy_request_rtt" "$raw_rtt" median_us
row "  --busy-poll $busy, p99 (us)" "$busy_request_rtt" "$raw_rtt" p99_us
row "64 B throughput (msgs/s)" "${t64%%|*}" "${t64##*|}" msgs_per_s
row "1 MiB throughput (MiB/s)" "${t1m%%|*}" "${t1m##*|}" MiB_per_s
echo "(latency ratio: bridged / raw, lower is better; throughput ratio: bridged / raw, higher is better)"
echo "raw lines: ${bridged_rtt} | ${busy_rtt} | ${request_rtt} | ${busy_request_rtt} | ${raw_rtt} | ${t64} | ${t1m}"
