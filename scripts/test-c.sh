#!/usr/bin/env bash
# The C side tests: include/cshm.h compiles alone as C99, C11 and C++17;
# libCShm.a builds with cc alone and with SwiftPM, and a plain C program
# (Tests/CInterop/cshm_peer.c) links against both; that C program shares
# segments with the Swift shm-server and shm-client in both directions; and
# the SIGBUS guard absorbs truncation faults (Tests/CInterop/cshm_guard_test.c).
# Prints each check and ends with "N passed, M failed"; exits 1 on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

strict=(-Wall -Wextra -Werror -pedantic)
prefix="/cshm-test-$$"   # every segment name this run uses starts so
work="$(mktemp -d)"
passed=0
failed=0
name_count=0
bg_pids=()               # background programs still to be reaped

# On every exit: stop what is still running, remove our segments and files.
cleanup() {
    local pid
    for pid in "${bg_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -f "/dev/shm${prefix}-"*
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Reporting ---------------------------------------------------------------

pass() { passed=$((passed + 1)); echo "PASS  $1"; }

# fail DESCRIPTION [LOG]: counts a failure and shows the log, if any.
fail() {
    failed=$((failed + 1))
    echo "FAIL  $1"
    if [ -n "${2:-}" ] && [ -s "$2" ]; then sed 's/^/      | /' "$2"; fi
}

# check DESCRIPTION COMMAND...: runs COMMAND, its output kept for a failure.
# Sets `ok` to 1 when it passed, 0 when it failed.
ok=0
check() {
    local description="$1" log="$work/check.log"
    shift
    if "$@" >"$log" 2>&1; then
        ok=1; pass "$description"
    else
        ok=0; fail "$description" "$log"
    fi
}

# check_if READY WHAT DESCRIPTION COMMAND...: like check when READY is 1;
# otherwise counts a failure without running COMMAND, since WHAT is missing.
check_if() {
    if [ "$1" -eq 1 ]; then
        check "${@:3}"
    else
        fail "$3 (not run: $2 did not build)"
    fi
}

# next_name: sets `name` (the caller's local) to a fresh segment name, such
# as /cshm-test-1234-3. Not called in $(...), where the count would be lost.
next_name() {
    name_count=$((name_count + 1))
    name="${prefix}-${name_count}"
}

# --- Background programs -----------------------------------------------------
# A program that waits for ENTER reads from a fifo that this shell holds open
# on descriptor 3, so it keeps waiting until release() writes a newline.
# Programs run in the foreground get `timeout 10`, so nothing can hang.

bg_pid=""

# forget PID: drops PID from bg_pids once it has been reaped.
forget() {
    local kept=() pid
    for pid in "${bg_pids[@]}"; do
        [ "$pid" = "$1" ] || kept+=("$pid")
    done
    bg_pids=("${kept[@]}")
}

# start_waiting OUTPUT COMMAND...: starts COMMAND with stdout and stderr in
# OUTPUT, then waits (at most 10 s) until it prompts for ENTER.
start_waiting() {
    local output="$1" fifo="$work/stdin.fifo"
    shift
    rm -f "$fifo"
    mkfifo "$fifo"
    "$@" <"$fifo" >"$output" 2>&1 &
    bg_pid=$!
    bg_pids+=("$bg_pid")
    exec 3>"$fifo"
    local _
    for _ in $(seq 100); do
        grep -q "Press ENTER" "$output" 2>/dev/null && return 0
        kill -0 "$bg_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "not ready after 10 s (or exited early):" >&2
    cat "$output" >&2
    exec 3>&-
    kill "$bg_pid" 2>/dev/null || true
    wait "$bg_pid" 2>/dev/null || true
    forget "$bg_pid"
    bg_pid=""
    return 1
}

# release: sends ENTER, then waits (at most 10 s) for the program to exit;
# returns its exit status, or 124 when it had to be killed.
release() {
    local pid="$bg_pid" status=0 _
    echo >&3 || true
    exec 3>&-
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        status=124
        wait "$pid" 2>/dev/null || true
    else
        wait "$pid" || status=$?
    fi
    forget "$pid"
    bg_pid=""
    return "$status"
}

# gone NAME: the segment's file no longer exists.
gone() {
    if [ -e "/dev/shm$1" ]; then
        echo "/dev/shm$1 still exists" >&2
        return 1
    fi
}

# same EXPECTED_FILE ACTUAL_FILE: the files are equal, or the difference shown.
same() {
    cmp -s "$1" "$2" && return 0
    diff -u --label expected --label actual "$1" "$2" >&2
    return 1
}

# --- a. The header alone -----------------------------------------------------

echo "== include/cshm.h compiles alone, no feature macros"
header_check=Tests/CInterop/header_check.c
for standard in c99 c11; do
    check "cc -std=$standard ${strict[*]}" \
        cc -std="$standard" "${strict[@]}" -Iinclude -c "$header_check" -o "$work/header.o"
done
check "c++ -std=c++17 ${strict[*]}" \
    c++ -x c++ -std=c++17 "${strict[@]}" -Iinclude -c "$header_check" -o "$work/header.o"

# --- b. libCShm.a two ways, and cshm_peer linked against each ----------------

declare -A peer_ok=()   # per library (cc, swiftpm): 1 when cshm_peer linked

# link_peer LIBRARY OUTPUT: links cshm_peer, adding -lrt only when needed.
link_peer() {
    local compile=(cc -std=c11 "${strict[@]}" -Iinclude Tests/CInterop/cshm_peer.c "$1" -o "$2")
    "${compile[@]}" 2>/dev/null || "${compile[@]}" -lrt
}

# build_cc_library DIRECTORY: libCShm.a from Sources/CShm with cc and ar alone.
build_cc_library() {
    local source
    mkdir -p "$1"
    for source in Sources/CShm/*.c; do
        cc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude -c "$source" \
            -o "$1/$(basename "$source" .c).o"
    done
    ar rcs "$1/libCShm.a" "$1"/*.o
}

echo "== libCShm.a with cc alone"
check "cc -std=c11 -O2 -Wall -Wextra -Werror Sources/CShm/*.c; ar rcs libCShm.a" \
    build_cc_library "$work/cc"
check "cshm_peer links against the cc-built libCShm.a" \
    link_peer "$work/cc/libCShm.a" "$work/cshm_peer-cc"
peer_ok[cc]=$ok

echo "== libCShm.a with SwiftPM"
check "swift build --product CShm" swift build --product CShm
bin="$(swift build --show-bin-path 2>/dev/null)" || bin=".build/debug"
check "cshm_peer links against \$(swift build --show-bin-path)/libCShm.a" \
    link_peer "$bin/libCShm.a" "$work/cshm_peer-swiftpm"
peer_ok[swiftpm]=$ok

# --- c. The Swift programs ---------------------------------------------------

echo "== the Swift programs"
check "swift build --product shm-server" swift build --product shm-server
server_ok=$ok
check "swift build --product shm-client" swift build --product shm-client
client_ok=$ok

# --- d. Swift server, C reader -----------------------------------------------

# swift_server_c_reader BACKEND PEER: shm-server writes, cshm_peer reads.
swift_server_c_reader() {
    local backend="$1" peer="$2" name message status=0
    next_name
    message="Swift ($backend) to C: grüße, 世界 #$name_count"
    start_waiting "$work/server.out" \
        "$bin/shm-server" --name "$name" --message "$message" --backend "$backend" || return 1
    printf '"%s"\n' "$message" >"$work/expected"
    timeout 10 "$peer" read "$name" >"$work/actual" || { echo "cshm_peer read failed" >&2; status=1; }
    same "$work/expected" "$work/actual" || status=1
    release || { echo "shm-server exited with status $?" >&2; status=1; }
    gone "$name" || status=1
    return "$status"
}

for library in cc swiftpm; do
    for backend in cshim swift; do
        echo "== shm-server --backend $backend, then cshm_peer read ($library libCShm.a)"
        check_if $((server_ok & peer_ok[$library])) "shm-server or cshm_peer" \
            "cshm_peer reads the message exactly; shm-server exits 0 and removes the name" \
            swift_server_c_reader "$backend" "$work/cshm_peer-$library"
    done
done

# --- e. C writer, Swift client -----------------------------------------------

# c_writer_swift_client PEER: cshm_peer writes, shm-client reads.
c_writer_swift_client() {
    local peer="$1" name message status=0
    next_name
    message="C to Swift: ça marche, 共有メモリ #$name_count"
    start_waiting "$work/peer.out" "$peer" write "$name" "$message" || return 1
    printf 'The file mapping (%s) is opened\nThe file view is mapped\nRead from the file mapping:\n"%s"\nPress ENTER to clean up resources and quit' \
        "$name" "$message" >"$work/expected"
    timeout 10 "$bin/shm-client" --name "$name" </dev/null >"$work/actual" ||
        { echo "shm-client exited with status $?" >&2; status=1; }
    same "$work/expected" "$work/actual" || status=1
    release || { echo "cshm_peer write exited with status $?" >&2; status=1; }
    printf 'The file mapping (%s) is created\nThe file view is mapped\nThis message is written to the view:\n"%s"\nPress ENTER to clean up resources and quit' \
        "$name" "$message" >"$work/expected"
    same "$work/expected" "$work/peer.out" || status=1
    gone "$name" || status=1
    return "$status"
}

for library in cc swiftpm; do
    echo "== cshm_peer write ($library libCShm.a), then shm-client"
    check_if $((client_ok & peer_ok[$library])) "shm-client or cshm_peer" \
        "shm-client prints the message; cshm_peer exits 0 and removes the name" \
        c_writer_swift_client "$work/cshm_peer-$library"
done

# --- f. Errors ---------------------------------------------------------------

# missing_segment PEER: reading a name that does not exist fails like the sample.
missing_segment() {
    local name exit_status=0
    next_name
    printf 'OpenFileMapping failed w/err 0x00000002\n' >"$work/expected"
    timeout 10 "$1" read "$name" >"$work/actual" 2>"$work/stderr" || exit_status=$?
    [ "$exit_status" -eq 1 ] || { echo "exit status $exit_status, expected 1" >&2; return 1; }
    same "$work/expected" "$work/actual"
}

# existing_segment PEER: `write` refuses a name that exists (CSHM_EXCLUSIVE)
# and leaves the other writer's segment alone.
existing_segment() {
    local peer="$1" name exit_status=0 status=0
    next_name
    start_waiting "$work/peer.out" "$peer" write "$name" "first" || return 1
    printf 'CreateFileMapping failed w/err 0x00000011\n' >"$work/expected"
    timeout 10 "$peer" write "$name" "second" </dev/null >"$work/actual" 2>"$work/stderr" || exit_status=$?
    [ "$exit_status" -eq 1 ] || { echo "exit status $exit_status, expected 1" >&2; status=1; }
    same "$work/expected" "$work/actual" || status=1
    [ -e "/dev/shm$name" ] || { echo "the first writer's segment was removed" >&2; status=1; }
    release || { echo "the first cshm_peer write exited with status $?" >&2; status=1; }
    gone "$name" || status=1
    return "$status"
}

echo "== errors"
check_if "${peer_ok[cc]}" cshm_peer \
    "cshm_peer read of a missing name prints OpenFileMapping failed w/err 0x00000002, exits 1" \
    missing_segment "$work/cshm_peer-cc"
check_if "${peer_ok[cc]}" cshm_peer \
    "cshm_peer write of an existing name prints CreateFileMapping failed w/err 0x00000011, exits 1" \
    existing_segment "$work/cshm_peer-cc"

# --- g. The SIGBUS guard -----------------------------------------------------

# guard_case PROGRAM CASE: runs one case of cshm_guard_test on a fresh name;
# it must exit 0 (a SIGBUS that was not absorbed ends it with status 135).
guard_case() {
    local name
    next_name
    timeout 10 "$1" "$2" "$name"
}

# link_guard_test LIBRARY OUTPUT: links cshm_guard_test, adding -pthread
# (the registry's mutex, outside libc before glibc 2.34) only when needed.
link_guard_test() {
    local compile=(cc -std=c11 "${strict[@]}" -Iinclude Tests/CInterop/cshm_guard_test.c "$1" -o "$2")
    "${compile[@]}" 2>/dev/null || "${compile[@]}" -pthread -lrt
}

# guard_with_swiftpm_library: the SwiftPM libCShm.a carries the guard too.
guard_with_swiftpm_library() {
    link_guard_test "$bin/libCShm.a" "$work/cshm_guard_test-swiftpm" &&
        guard_case "$work/cshm_guard_test-swiftpm" absorb-read
}

echo "== the SIGBUS guard (Tests/CInterop/cshm_guard_test.c)"
guard_ok=0
if [ "${peer_ok[cc]}" -eq 1 ]; then
    check "cshm_guard_test links against the cc-built libCShm.a" \
        link_guard_test "$work/cc/libCShm.a" "$work/cshm_guard_test"
    guard_ok=$ok
fi
check_if "$guard_ok" cshm_guard_test \
    "a truncated, registered mapping reads zeros and trips its flag; exit 0" \
    guard_case "$work/cshm_guard_test" absorb-read
check_if "$guard_ok" cshm_guard_test \
    "a truncated, registered mapping takes writes and trips its flag; exit 0" \
    guard_case "$work/cshm_guard_test" absorb-write
check_if "$guard_ok" cshm_guard_test \
    "a fault outside registered mappings still kills with SIGBUS (wait status checked)" \
    guard_case "$work/cshm_guard_test" unregistered
check_if "$guard_ok" cshm_guard_test \
    "a SIGBUS handler installed before the guard still gets faults outside it" \
    guard_case "$work/cshm_guard_test" chained
check_if "$guard_ok" cshm_guard_test \
    "many registrations and unregistrations; a full registry gives ENOSPC" \
    guard_case "$work/cshm_guard_test" registry
check_if "${peer_ok[swiftpm]}" "the SwiftPM libCShm.a" \
    "cshm_guard_test links against the SwiftPM libCShm.a; a truncated, registered mapping reads zeros" \
    guard_with_swiftpm_library

# --- Summary -----------------------------------------------------------------

leftovers="$(ls -d "/dev/shm${prefix}-"* 2>/dev/null || true)"
if [ -z "$leftovers" ]; then
    pass "no /dev/shm${prefix}-* segments are left"
else
    echo "$leftovers" >"$work/leftovers"
    fail "no /dev/shm${prefix}-* segments are left" "$work/leftovers"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
