#!/usr/bin/env bash
# Our channel beside the IPC libraries a user would otherwise pick, measured
# the same way in one run on this machine: shm-bench's rows interleaved,
# round by round, with rows from small harnesses of our own
# (Benchmarks/Peers) over Boost.Interprocess message_queue, iceoryx 2.0.3
# and Cyclone DDS 0.10, built from Debian's packages. Medians over rounds,
# ratios to the floor (c-ring/spin). See README.md, "Benchmark".
#
#   scripts/bench-peers.sh [--install] [--quick] [--rounds N]
#                          [--format table|markdown|json] [--plots DIR]
#
#   --install   install the Debian packages it needs with apt-get (root);
#               without it, a missing package is named with the command that
#               installs it, and its rows are left out
#   --quick     a tenth of the counts, one round, 2 s idle: a quick look
#   --tiny      a few hundred messages per row: checks that every row runs
#               (the tests use it); the figures mean nothing
#   --plots DIR write latency-vs-size.png, throughput.png, fanout.png there
#
# SHM_BENCH=PATH uses that shm-bench instead of building the release one.
#
# iceoryx's daemon RouDi uses fixed names in /dev/shm and /tmp: it runs
# with the iceoryx rows in a private mount namespace with their own tmpfs on
# both (root and unshare(1) needed; otherwise those rows are skipped with the
# reason). The Boost rows run in such a namespace too when they can.
# Everything else it writes stays under .build-peers/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="/opt/swift/usr/bin:$PATH"

packages_boost="libboost-dev"
packages_iceoryx="iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev"
packages_cyclone="cyclonedds-dev cyclonedds-tools"
packages_tools="gnuplot-nox g++ pkg-config"

# --- Inside the private namespace (the script calls itself) ---------------
if [ "${1:-}" = "__namespace" ]; then
    shift
    # A checkout under /tmp (or /dev/shm) would vanish under the new tmpfs:
    # move it aside first, and put it back at its own path afterwards.
    case "$root" in
        /tmp/*|/dev/shm/*) kept=$(mktemp -d /run/bench-peers.XXXXXX); mount --bind "$root" "$kept" ;;
        *) kept="" ;;
    esac
    mount -t tmpfs -o size=1g,mode=1777 tmpfs /dev/shm
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    if [ -n "$kept" ]; then
        mkdir -p "$root"
        mount --move "$kept" "$root"
        rmdir "$kept" 2>/dev/null || true
    fi
    daemon=()
    if [ "$1" = "--roudi" ]; then
        config=$2; shift 2
        iox-roudi -c "$config" -l error >/dev/null 2>&1 &
        roudi=$!
        for _ in $(seq 200); do [ -e /dev/shm/iceoryx_mgmt ] && [ -S /tmp/roudi ] && break; sleep 0.05; done
        if ! [ -S /tmp/roudi ]; then echo "iox-roudi did not start" >&2; kill -KILL $roudi 2>/dev/null; exit 1; fi
        daemon=(--daemon-pid "$roudi")
        trap 'kill -INT $roudi 2>/dev/null; for _ in $(seq 100); do kill -0 $roudi 2>/dev/null || break; sleep 0.05; done; kill -KILL $roudi 2>/dev/null || true' EXIT
    fi
    program=$1; shift
    "$program" "$@" ${daemon[@]+"${daemon[@]}"}
    exit
fi

# --- Options -------------------------------------------------------------
install=0 quick=0 tiny=0 format=table plots="" rounds=""
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }
while [ $# -gt 0 ]; do
    case $1 in
        --install) install=1 ;;
        --quick) quick=1 ;;
        --tiny) tiny=1 ;;
        --format) [ $# -ge 2 ] || usage; format=$2; shift ;;
        --plots) [ $# -ge 2 ] || usage; plots=$2; shift ;;
        --rounds) [ $# -ge 2 ] || usage; rounds=$2; shift ;;
        -h|--help) usage ;;
        *) echo "unknown option: $1" >&2; usage ;;
    esac
    shift
done
case $format in table|markdown|json) ;; *) echo "--format is table, markdown or json" >&2; exit 64 ;; esac
case ${rounds:-1} in ''|*[!0-9]*|0) echo "--rounds is a number from 1 to 20" >&2; exit 64 ;; esac
[ "${rounds:-1}" -le 20 ] || { echo "--rounds is a number from 1 to 20" >&2; exit 64; }
say() { echo "bench-peers: $*" >&2; }

# Counts: shm-bench's defaults, a tenth of them (--quick), or a few (--tiny).
if [ $tiny = 1 ]; then
    rt=200 wu=20 small=2000 large=20 sweep=200 fan=2000 idle=1 rss=100 rounds=${rounds:-1}
elif [ $quick = 1 ]; then
    rt=10000 wu=1000 small=200000 large=200 sweep=2000 fan=100000 idle=2 rss=10000 rounds=${rounds:-1}
else
    rt=100000 wu=10000 small=2000000 large=2000 sweep=20000 fan=1000000 idle=10 rss=10000 rounds=${rounds:-3}
fi
sizes="64 4096 65536 1048576 4194304"

# --- What is there -------------------------------------------------------
have_boost=0 have_iceoryx=0 have_cyclone=0 have_gnuplot=0
check() {
    [ -f /usr/include/boost/interprocess/ipc/message_queue.hpp ] && command -v c++ >/dev/null && have_boost=1
    ls /usr/include/iceoryx/v2.0.3/iceoryx_posh/popo/untyped_publisher.hpp >/dev/null 2>&1 \
        && command -v iox-roudi >/dev/null && command -v c++ >/dev/null && have_iceoryx=1
    pkg-config --exists CycloneDDS 2>/dev/null && command -v idlc >/dev/null && have_cyclone=1
    command -v gnuplot >/dev/null && have_gnuplot=1
    return 0
}
check
missing=""
[ $have_boost = 1 ] || missing="$missing $packages_boost"
[ $have_iceoryx = 1 ] || missing="$missing $packages_iceoryx"
[ $have_cyclone = 1 ] || missing="$missing $packages_cyclone"
{ [ -n "$plots" ] && [ $have_gnuplot = 0 ]; } && missing="$missing gnuplot-nox"
command -v pkg-config >/dev/null || missing="$missing pkg-config"
if [ -n "$missing" ]; then
    if [ $install = 1 ]; then
        say "installing$missing"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing $packages_tools >&2
        check
    else
        say "not installed:$missing; install with: apt-get install -y$missing (or run with --install)"
    fi
fi

# Namespaces for the daemon and /dev/shm: root and unshare.
can_isolate=0
if [ "$(id -u)" = 0 ] && unshare --mount --propagation private true 2>/dev/null; then can_isolate=1; fi

# --- Build ---------------------------------------------------------------
out=$root/.build-peers
work=$out/run.$$
mkdir -p "$out" "$work"
trap 'rm -rf "$work"' EXIT
skipped=()   # "mechanism: reason"

if [ -n "${SHM_BENCH:-}" ]; then
    bench=$SHM_BENCH   # a build of shm-bench to use as it is (the tests pass the debug build)
    [ -x "$bench" ] || { echo "SHM_BENCH=$bench is not an executable" >&2; exit 64; }
else
    say "building shm-bench (release)"
    swift build -c release --product shm-bench >&2
    bench=$(swift build -c release --show-bin-path)/shm-bench
fi

flags=(-O2 -Wall -Wextra -I"$root/Sources/CShmBench/include" -I"$root/Sources/CShmBench" -I"$root/Benchmarks/Peers")
if [ $have_boost = 1 ] || [ $have_iceoryx = 1 ] || [ $have_cyclone = 1 ]; then
    say "building the peer harnesses"
    mkdir -p "$out/obj"
    for file in Sources/CShmBench/*.c Benchmarks/Peers/peer_harness.c; do
        cc -std=gnu11 "${flags[@]}" -c "$file" -o "$out/obj/$(basename "$file" .c).o"
    done
    objects=("$out"/obj/*.o)
fi
peers=()
if [ $have_boost = 1 ]; then
    c++ -std=c++17 "${flags[@]}" Benchmarks/Peers/boost_peer.cpp "${objects[@]}" -o "$out/boost-peer" -lrt -pthread
    peers+=(boost)
else skipped+=("boost-mq/*: Boost headers not installed ($packages_boost)"); fi
if [ $have_iceoryx = 1 ] && [ $can_isolate = 1 ]; then
    c++ -std=c++17 "${flags[@]}" -I/usr/include/iceoryx/v2.0.3 Benchmarks/Peers/iceoryx_peer.cpp "${objects[@]}" \
        -o "$out/iceoryx-peer" -liceoryx_posh -liceoryx_hoofs -liceoryx_platform -lrt -pthread
    peers+=(iceoryx)
elif [ $have_iceoryx = 0 ]; then skipped+=("iceoryx/*: not installed ($packages_iceoryx)")
else skipped+=("iceoryx/*: RouDi needs a private mount namespace (root and unshare), not available here"); fi
if [ $have_cyclone = 1 ]; then
    (cd "$out" && idlc -l c "$root/Benchmarks/Peers/bench_message.idl" 2>/dev/null)
    cc -std=gnu11 "${flags[@]}" -I"$out" Benchmarks/Peers/cyclone_peer.c "$out/bench_message.c" "${objects[@]}" \
        -o "$out/cyclone-peer" $(pkg-config --cflags --libs CycloneDDS)
    peers+=(cyclone)
else skipped+=("cyclonedds/*: not installed ($packages_cyclone)"); fi

# --- Run -----------------------------------------------------------------
# One peer harness invocation, in the namespace where it needs one.
peer() {
    local name=$1; shift
    case $name in
        iceoryx) unshare --mount --propagation private "$0" __namespace --roudi "$root/Benchmarks/Peers/roudi.toml" \
                     "$out/iceoryx-peer" "$@" ;;
        boost) if [ $can_isolate = 1 ]; then unshare --mount --propagation private "$0" __namespace "$out/boost-peer" "$@"
               else "$out/boost-peer" "$@"; fi ;;
        cyclone) "$out/cyclone-peer" "$@" ;;
    esac
}
counts=(--round-trips $rt --warmup $wu --small-messages $small --large-messages $large)
failed=0
run_part() { # file, what, command...
    local file=$1 what=$2; shift 2
    say "$what"
    if ! "$@" > "$file"; then say "FAILED: $what"; failed=1; fi
}
started=$(date +%s)
for round in $(seq 1 "$rounds"); do
    r="round $round/$rounds"
    run_part "$work/$round-ours.json" "$r: shm-bench run" "$bench" run --rounds 1 --format json "${counts[@]}"
    for p in ${peers[@]+"${peers[@]}"}; do
        run_part "$work/$round-$p.jsonl" "$r: $p" peer $p --dimension headline "${counts[@]}"
    done
    run_part "$work/$round-sizes-ours.json" "$r: shm-bench sizes" "$bench" sizes --format json --round-trips $sweep --sizes $sizes
    for p in ${peers[@]+"${peers[@]}"}; do
        [ $p = iceoryx ] || continue
        run_part "$work/$round-sizes-$p.jsonl" "$r: $p sizes" peer $p --dimension size --sweep-round-trips $sweep --sizes "${sizes// /,}"
    done
    run_part "$work/$round-fanout.json" "$r: shm-bench fanout" "$bench" fanout --format json --messages $fan
done
run_part "$work/idle-ours.json" "idle: shm-bench idle (${idle} s)" "$bench" idle --format json --seconds $idle
for p in ${peers[@]+"${peers[@]}"}; do
    run_part "$work/idle-$p.jsonl" "idle: $p (${idle} s)" peer $p --dimension idle --idle-seconds $idle
done
run_part "$work/rss-ours.json" "memory: shm-bench rss" "$bench" rss --format json --messages $rss
for p in ${peers[@]+"${peers[@]}"}; do
    run_part "$work/rss-$p.jsonl" "memory: $p" peer $p --dimension rss --rss-messages $rss
done
say "measured in $(( $(date +%s) - started )) s"

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r)"
settings="round trips $rt after $wu warm-up; throughput $small x 64 B and $large x 1 MiB; size sweep $sweep round trips up to 64 KiB (fewer above); fan-out $fan messages; idle $idle s; $rounds round(s), medians"
printf '%s\n' ${skipped[@]+"${skipped[@]}"} > "$work/skipped.txt"
python3 "$root/Benchmarks/bench_report.py" --work "$work" --format "$format" --machine "$machine" \
    --settings "$settings" --skipped "$work/skipped.txt" ${plots:+--plots "$plots"} \
    $( [ $have_gnuplot = 1 ] || echo --no-gnuplot )
exit $failed
