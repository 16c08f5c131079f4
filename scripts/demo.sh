#!/usr/bin/env bash
# Builds shm-server and shm-client, then runs the sample: the server creates
# the mapping and writes the message, the client reads and prints it, and the
# server is told to quit and removes the mapping.
# Extra arguments go to both programs, e.g. `scripts/demo.sh --encoding utf16le`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"

swift build --product shm-server >/dev/null
swift build --product shm-client >/dev/null
bin="$(swift build --show-bin-path)"

work="$(mktemp -d)"
fifo="$work/server-input"
mkfifo "$fifo"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== shm-server"
"$bin/shm-server" "$@" <"$fifo" >"$work/server-output" 2>&1 &
server_pid=$!
exec 3>"$fifo" # keeps the server's standard input open until ENTER is sent

# Wait until the server has written the message (at most 10 s).
for _ in $(seq 100); do
    grep -q "Press ENTER" "$work/server-output" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
cat "$work/server-output"; echo

echo "== shm-client"
"$bin/shm-client" "$@" </dev/null; echo

echo "== pressing ENTER in the server"
echo >&3
exec 3>&-
status=0
wait "$server_pid" || status=$?
server_pid=""
echo "shm-server exited with status $status"
if [ -e /dev/shm/SampleMap ]; then echo "/dev/shm/SampleMap is still there"; else echo "/dev/shm/SampleMap is removed"; fi
