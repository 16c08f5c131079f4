#!/usr/bin/env bash
# Instructions per message, send and receive together, counted by
# callgrind (repeatable on a noisy machine): `shm-bench instructions` runs
# twice with different message counts, and the difference of the totals
# over the difference of the counts leaves the set-up out.
#
#   scripts/bench-instructions.sh [SHM_BENCH ...]
#
# FLAVOURS (default "channel pubsub"; also manytoone, request) picks the rows.
# With no argument it builds and measures this checkout's release build; give
# several shm-bench binaries (an older build, say) to compare them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
if [ $# -eq 0 ]; then
    swift build -c release --product shm-bench >&2
    set -- "$(swift build -c release --show-bin-path)/shm-bench"
fi
small=20000 large=120000
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # binary flavour messages -> total instructions
    # Valgrind 3.19 cannot read the debug information Swift writes: count a stripped copy.
    cp "$1" "$work/shm-bench" && strip -g "$work/shm-bench"
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$work/shm-bench" instructions --flavour "$2" --messages "$3" >/dev/null 2>&1 \
        || { echo "callgrind failed on $1" >&2; exit 1; }
    awk '/^summary:/ { print $2 }' "$work/out"
}
printf '| binary | flavour | instructions per message |\n|---|---|---:|\n'
for binary in "$@"; do
    for flavour in ${FLAVOURS:-channel pubsub}; do
        a=$(count "$binary" "$flavour" $small)
        b=$(count "$binary" "$flavour" $large)
        printf '| %s | %s | %s |\n' "$binary" "$flavour" "$(( (b - a) / (large - small) ))"
    done
done
