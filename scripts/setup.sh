#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine, when it
# is missing: a C and C++ compiler, and util-linux's setpriv and unshare
# (tests that run a client as another user or in a tiny /dev/shm), spin
# (the model check of the wake-up protocol), and the benchmark's peers
# (iceoryx, Boost.Interprocess, Cyclone DDS, gnuplot).
# Swift itself is expected at /opt/swift (or on PATH).
set -euo pipefail

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v timeout >/dev/null 2>&1 || missing+=(coreutils)
command -v spin >/dev/null 2>&1 || missing+=(spin)
# The benchmark's peers (scripts/bench-peers.sh, whose plumbing the tests check).
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
command -v iox-roudi >/dev/null 2>&1 || missing+=(iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev)
[ -f /usr/include/boost/interprocess/ipc/message_queue.hpp ] || missing+=(libboost-dev)
command -v idlc >/dev/null 2>&1 || missing+=(cyclonedds-dev cyclonedds-tools)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing packages: ${missing[*]}; install them (apt-get install -y ${missing[*]}) or run as root." >&2
        exit 1
    fi
    echo "Installing: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "Swift 6.1 or later is needed: put it at /opt/swift or on PATH." >&2
    exit 1
fi
