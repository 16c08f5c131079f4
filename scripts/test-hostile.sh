#!/usr/bin/env bash
# A hostile /dev/shm: FIFOs, a directory, symbolic links, a mode-000 file,
# another user's file and names with escape sequences, newlines and invalid
# UTF-8, against every `shm` subcommand and both sample programs. Each run
# has a time limit: no hang, no death by signal, a clear message and exit 1
# where it must fail, no raw escape byte in any output, and nothing removed
# that should stay. Also gc run as user nobody.
#
# Destructive, so it runs as root in a private mount namespace with its own
# tmpfs on /dev/shm; exits 77 (skipped) with the reason when it cannot.
# Usage: scripts/test-hostile.sh [DIRECTORY_OF_BUILT_PROGRAMS]
set -uo pipefail
cd "$(dirname "$0")/.."
bin="${1:-$(PATH="/opt/swift/usr/bin:$PATH" swift build --show-bin-path)}"

if [ -z "${SHM_HOSTILE_NAMESPACE:-}" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for a private tmpfs on /dev/shm"; exit 77; }
    unshare --mount --propagation private true 2>/dev/null \
        || { echo "SKIP: unshare --mount is not possible here"; exit 77; }
    for program in shm shm-server shm-client; do
        [ -x "$bin/$program" ] || { echo "FAIL: $bin/$program is not built"; exit 1; }
    done
    exec env SHM_HOSTILE_NAMESPACE=1 unshare --mount --propagation private "$0" "$bin"
fi
mount -t tmpfs -o size=32m,mode=1777 tmpfs /dev/shm || { echo "SKIP: cannot mount a tmpfs on /dev/shm"; exit 77; }

passed=0
failed=0
work="$(mktemp -d)"
chmod 755 "$work"
feeders=()
cleanup() {
    local pid
    for pid in "${feeders[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL  $1"; }

# run LIMIT PROGRAM ARGS...: runs with no input and a time limit; sets
# status, out, err. A hang is killed and counts as status 137.
run() {
    local limit="$1"
    shift
    local log="$work/run.$BASHPID"
    timeout -s KILL "$limit" "$@" </dev/null >"$log.out" 2>"$log.err"
    status=$?
    out="$(cat -v "$log.out")"
    err="$(cat -v "$log.err")"
    # No raw ESC, BEL or C1 control byte ever reaches the terminal.
    if LC_ALL=C grep -q $'[\x1b\x07\x9b]' "$log.out" "$log.err"; then
        fail "$* printed a raw control byte: $out $err"
    fi
}

# run_shm LIMIT COMMAND NAME: runs `shm COMMAND NAME OPTIONS`, where COMMAND
# is a subcommand with its options, such as "write --text x".
run_shm() {
    local subcommand="${2%% *}" options=()
    [ "$subcommand" != "$2" ] && read -r -a options <<<"${2#* }"
    run "$1" "$bin/shm" "$subcommand" "$3" "${options[@]}"
}

# start_held OUT PROGRAM ARGS...: starts PROGRAM in the background with its
# standard input held open (so a sample program waits); sets held_pid.
start_held() {
    local out="$1" fifo
    shift
    fifo="$work/input.$RANDOM$RANDOM"
    mkfifo "$fifo"
    sleep 60 >"$fifo" &
    feeders+=($!)
    "$@" <"$fifo" >"$out" 2>&1 &
    held_pid=$!
}

# wait_for FILE TEXT: waits up to 10 s for TEXT in FILE.
wait_for() {
    local _
    for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    fail "no \"$2\" in $1: $(cat "$1")"
    return 1
}

# expect_ends DESCRIPTION: the last run ended by itself, not by a signal.
expect_ends() {
    if [ "$status" -ge 124 ]; then fail "$1: status $status (hang or signal) $err"; else pass; fi
}

# expect_refused DESCRIPTION WORDS: exit 1 with WORDS on standard error.
expect_refused() {
    if [ "$status" -eq 1 ] && [[ "$err" == *"$2"* ]]; then pass; else fail "$1: status $status, errors: $err"; fi
}

# exists NAME...: every entry is still in /dev/shm.
exists() {
    local entry
    for entry in "$@"; do
        if [ -e "/dev/shm/$entry" ] || [ -L "/dev/shm/$entry" ]; then pass; else fail "/dev/shm/$entry was removed"; fi
    done
}

[ -n "${SHM_HOSTILE_TRACE:-}" ] && echo "at ${SECONDS} s"
# --- The planted entries ------------------------------------------------------

esc=$'esc\e]0;pwned\a'
newline=$'nl\nFAKE 1 root 0600 managed'
invalid=$'bad\xff\xfe'
cd /dev/shm
mkfifo fifo
mkdir dir
ln -s /nonexistent dangling
printf 'target bytes' >target
ln -s target link
: >mode000 && chmod 000 mode000
printf 'not a header, but bytes' >mode000data && chmod 000 mode000data
printf 'another user' >other && chown 65534:65534 other
for name in "$esc" "$newline" "$invalid"; do printf 'hostile' >"$name"; done
cd - >/dev/null
planted=(fifo dir dangling target link mode000 mode000data other "$esc" "$newline" "$invalid")
# How the tool prints, and reads back, the three hostile names.
esc_text='esc\x1b]0;pwned\x07'
newline_text='nl\nFAKE 1 root 0600 managed'
invalid_text='bad\xff\xfe'

[ -n "${SHM_HOSTILE_TRACE:-}" ] && echo "at ${SECONDS} s"
# --- list ---------------------------------------------------------------------

run 5 "$bin/shm" list
expect_ends "list"
if [ "$status" -eq 0 ] && [[ "$out" == *"/$esc_text "* ]] && [[ "$out" == *"/$newline_text "* ]] \
    && [[ "$out" == *"/$invalid_text "* ]] && ! grep -q '^FAKE' "$work/run.$BASHPID.out" \
    && ! grep -qE '^/(fifo|dir|dangling|link) ' "$work/run.$BASHPID.out" && grep -q '^/mode000 ' "$work/run.$BASHPID.out"; then
    pass
else
    fail "list shows every name escaped, one row each, and no entry that is not a regular file: $out"
fi
run 5 "$bin/shm" list --json
if [ "$status" -eq 0 ] && [[ "$out" == *'"name_hex" : "2f626164fffe"'* ]] \
    && [[ "$out" == *'"name" : "/bad\\xff\\xfe"'* ]]; then pass; else fail "list --json gives the escaped name and its bytes: $out"; fi

[ -n "${SHM_HOSTILE_TRACE:-}" ] && echo "at ${SECONDS} s"
# --- Every subcommand that takes a name, with every entry that is no segment ----

not_segment=(fifo dir dangling link)
words=("is a FIFO" "is a directory" "is a symbolic link" "is a symbolic link")
for index in "${!not_segment[@]}"; do
    name="${not_segment[$index]}"
    what="${words[$index]}"
    for command in "inspect" "dump" "read" "write --text x" "create --size 64" "send" "recv --timeout 1" \
        "watch --count 1 --interval 0.1"; do
        run_shm 10 "$command" "$name"
        expect_ends "shm $command $name"
        expect_refused "shm $command $name" "/$name $what, not a shared-memory segment"
    done
    for program in shm-server shm-client; do
        for managed in "" "--managed"; do
            # shellcheck disable=SC2086
            run 10 "$bin/$program" --name "$name" $managed
            expect_ends "$program --name $name $managed"
            expect_refused "$program --name $name $managed" "/$name $what, not a shared-memory segment"
        done
    done
    run 5 "$bin/shm" gc "$name"
    expect_ends "gc $name"
    [ "$status" -eq 0 ] && pass || fail "gc $name: status $status $err"
done
exists "${planted[@]}"

[ -n "${SHM_HOSTILE_TRACE:-}" ] && echo "at ${SECONDS} s"
# --- Regular files that are no managed segment: mode 000, another user's, hostile names

# Background shells, each reporting its counts. An empty mode-000 file looks
# like a segment being created, so the managed opens wait their 5 s on it:
# each of its commands gets a shell of its own, other names one shell each.
commands=("shm inspect" "shm dump" "shm read" "shm write --text x" "shm create --size 64" "shm send"
    "shm recv --timeout 1" "shm watch --count 1 --interval 0.1" "shm gc"
    "shm-server" "shm-server --managed" "shm-client" "shm-client --managed")
check_entry() {
    local name="$1" command program options
    shift
    passed=0
    failed=0
    for command in "$@"; do
        program="${command%% *}"
        options=()
        [ "$program" != "$command" ] && read -r -a options <<<"${command#* }"
        if [ "$program" = shm ]; then
            run_shm 10 "${options[*]}" "$name"
        else
            run 10 "$bin/$program" --name "$name" "${options[@]}"
        fi
        expect_ends "$command $name"
    done
    echo "$passed $failed" >"$work/counts.$BASHPID"
}
for command in "${commands[@]}"; do check_entry mode000 "$command" & done
for name in mode000data other "$esc_text" "$newline_text" "$invalid_text"; do
    check_entry "$name" "${commands[@]}" &
done
wait
for counts in "$work"/counts.*; do
    read -r more_passed more_failed <"$counts" && rm "$counts"
    passed=$((passed + more_passed))
    failed=$((failed + more_failed))
done
exists "${planted[@]}"
# What must fail does, with a reason; what may succeed does.
run 5 "$bin/shm" inspect "$esc_text"
[ "$status" -eq 0 ] && [[ "$out" == *"name:   /$esc_text"* ]] && pass || fail "inspect by the escaped name: $status $out $err"
run 5 "$bin/shm" read "$newline_text"
[ "$status" -eq 0 ] && [[ "$out" == *ostile ]] && pass || fail "read by the escaped name: $status $out $err"
run 5 "$bin/shm" write other --text x
expect_refused "write another user's file" "belongs to nobody"
run 5 "$bin/shm-server" --name other
expect_refused "shm-server on another user's file" "belongs to nobody"
run 10 "$bin/shm" recv mode000data --timeout 1
expect_refused "recv on a raw file" "too few for a managed segment's header"
run 5 "$bin/shm" inspect 'bad\q'
expect_refused "an escape that means nothing" 'is not an escape'

[ -n "${SHM_HOSTILE_TRACE:-}" ] && echo "at ${SECONDS} s"
# --- gc: raw files stay; only stale managed segments go; nobody collects only their own

start_held "$work/stale-root.out" "$bin/shm-server" --managed --name stale-root
wait_for "$work/stale-root.out" "Press ENTER"
kill -KILL "$held_pid"; wait "$held_pid" 2>/dev/null
as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if "${as_nobody[@]}" "$bin/shm" --help >/dev/null 2>&1; then
    start_held "$work/stale-nobody.out" "${as_nobody[@]}" "$bin/shm-server" --managed --name stale-nobody --mode 644
    nobody_server=$held_pid
    wait_for "$work/stale-nobody.out" "Press ENTER"
    kill -KILL "$nobody_server"; wait "$nobody_server" 2>/dev/null
    # A root process holds a raw, read-only view of nobody's stale segment:
    # nobody's gc cannot see it in /proc, but the shared lock keeps the segment.
    start_held "$work/viewer.out" "$bin/shm-client" --name stale-nobody --allow-other-owner
    viewer=$held_pid
    wait_for "$work/viewer.out" "Press ENTER"
    run 10 "${as_nobody[@]}" "$bin/shm" gc
    expect_ends "gc as nobody"
    [ "$status" -eq 0 ] && [ "$out" = "no stale segments" ] && pass || fail "gc as nobody while root views its segment: $out $err"
    exists stale-nobody stale-root
    kill -KILL "$viewer"; wait "$viewer" 2>/dev/null
    run 10 "${as_nobody[@]}" "$bin/shm" gc
    [ "$status" -eq 0 ] && [ "$out" = "removed /stale-nobody (65664 bytes, creator pid $nobody_server is dead, unused)" ] \
        && pass || fail "gc as nobody removes its own stale segment, and not root's: $out $err"
    exists stale-root "${planted[@]}"
else
    echo "note: user nobody cannot run $bin/shm; the unprivileged gc checks are left out"
fi
run 10 "$bin/shm" gc
expect_ends "gc"
[ "$status" -eq 0 ] && [[ "$out" == "removed /stale-root ("* ]] && [ "$(echo "$out" | wc -l)" -eq 1 ] \
    && pass || fail "gc as root removes the stale managed segment and nothing else: $out $err"
exists "${planted[@]}"

[ -n "${SHM_HOSTILE_TRACE:-}" ] && echo "at ${SECONDS} s"
# --- rm takes every listed name back
run 5 "$bin/shm" rm "$esc_text" "/$newline_text" "Local\\$invalid_text"
[ "$status" -eq 0 ] && pass || fail "rm by escaped names: $status $err"
for name in "$esc" "$newline" "$invalid"; do [ -e "/dev/shm/$name" ] && fail "rm left $(printf %q "$name")" || pass; done

echo "hostile /dev/shm: $passed passed, $failed failed in ${SECONDS} s"
[ "$failed" -eq 0 ]
