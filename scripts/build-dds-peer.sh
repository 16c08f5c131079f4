#!/bin/sh
# Builds Tests/DDSPeer/dds_peer (a plain C DDS participant against libddsc and
# the generated type) and dds_bench (the raw DDS pair of scripts/bench-bridge.sh)
# into ${1:-.build/dds-peer}. Prints dds_peer's path.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/.build/dds-peer}"
mkdir -p "$out"
cc -O2 -Wall -Wextra -o "$out/dds_peer" "$root/Tests/DDSPeer/dds_peer.c" "$root/Sources/CShmBridgeTypes/shm_bridge.c" \
   -I "$root/Sources/CShmBridgeTypes/include" $(pkg-config --cflags --libs CycloneDDS)
cc -O2 -Wall -Wextra -o "$out/dds_bench" "$root/Tests/DDSPeer/dds_bench.c" "$root/Sources/CShmBridgeTypes/shm_bridge.c" \
   -I "$root/Sources/CShmBridgeTypes/include" $(pkg-config --cflags --libs CycloneDDS)
echo "$out/dds_peer"
