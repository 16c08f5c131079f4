#!/bin/sh
# Regenerates the C type support of the bridge's DDS sample from its IDL.
# Needs idlc from cyclonedds-dev (0.10). The output is committed, so
# building the bridge needs no idlc. Run in a scratch directory with a
# relative path so that the generated comments and guards name no temp path.
set -eu
dir="$(cd "$(dirname "$0")/../Sources/CShmBridgeTypes" && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$dir/shm_bridge.idl" "$tmp/"
(cd "$tmp" && idlc -l c shm_bridge.idl)
sed -i "s|^  Source: .*|  Source: Sources/CShmBridgeTypes/shm_bridge.idl|" "$tmp/shm_bridge.c" "$tmp/shm_bridge.h"
cp "$tmp/shm_bridge.c" "$dir/shm_bridge.c"
cp "$tmp/shm_bridge.h" "$dir/include/shm_bridge.h"
echo "regenerated Sources/CShmBridgeTypes/shm_bridge.c and include/shm_bridge.h"
