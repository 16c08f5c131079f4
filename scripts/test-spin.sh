#!/usr/bin/env bash
# Model-checks the waiting protocol of the rings (Tests/Model/wakeup.pml) with
# spin: no lost wake-up or deadlock, the sleepers counts stay right when a
# process dies at any step and a successor takes its role over, and every
# message is eventually consumed. Mutants of the protocol (no re-check
# before sleeping; a waker that does not change the event word; a close
# that wakes before it releases the writer's lock; a sleeper that sets its
# flag before it is counted; a sleeper that does not announce itself on the
# event word's low bit) must be caught. Prints each check with its state
# counts; exits 1 if a check of the model fails or a mutant passes, 2 on bad
# usage.
#
#   scripts/test-spin.sh [--install] [--order flag-first|count-first]
#
#   --install  installs spin with apt-get first if it is missing (root).
#   --order    the order in which RingCore.wait and leaveSleep set and clear a
#              sleeper's count and flag. count-first (the default) is the code
#              as it is: the count is incremented before the flag is set, and
#              the flag cleared before the count is decremented. flag-first,
#              the order before the model found its flaw, is checked too, as a
#              mutant that must fail (with --order flag-first the roles swap).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '13,22s/^# \{0,1\}//p' "$0"; }

install=0
order=count-first
while [ $# -gt 0 ]; do
    case "$1" in
        --install) install=1 ;;
        --order)
            [ $# -ge 2 ] || { usage >&2; exit 2; }
            order="$2"
            shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$order" in
    flag-first) code_flags=(); other_flags=(-DCOUNT_BEFORE_FLAG) ;;
    count-first) code_flags=(-DCOUNT_BEFORE_FLAG); other_flags=() ;;
    *) echo "--order is flag-first or count-first, not '$order'" >&2; exit 2 ;;
esac

if ! command -v spin >/dev/null 2>&1; then
    if [ "$install" -eq 1 ]; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "--install needs root to run apt-get" >&2
            exit 1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y spin >/dev/null
    else
        echo "spin is not installed: apt-get install -y spin (or run with --install)" >&2
        exit 1
    fi
fi
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "no C compiler ($cc) to build spin's verifier" >&2
    exit 1
fi

model="$PWD/Tests/Model/wakeup.pml"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cp "$model" "$work/wakeup.pml"
cd "$work"

passed=0
failed=0
started=$SECONDS

# field NAME: a number from the verifier's report in pan.out.
field() {
    case "$1" in
        states) sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.out ;;
        transitions) sed -n 's/^ *\([0-9.e+]*\) transitions.*/\1/p' pan.out ;;
        depth) sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' pan.out ;;
        errors) sed -n 's/.*errors: \([0-9]*\)$/\1/p' pan.out ;;
        seconds) sed -n 's/^pan: elapsed time \([0-9.e+-]*\).*/\1/p' pan.out ;;
    esac
}

# unreached: the statements of the writer and the reader that the search
# never reached, as listed in pan.out, apart from their final "-end-".
unreached() {
    awk '/^unreached in / { keep = ($0 ~ /proctype (Writer|Reader)$/); next }
         keep && /wakeup\.pml:/ && !/"-end-"/ { print }' pan.out
}

# check DESCRIPTION EXPECT MODEL-FLAGS -- PAN-CFLAGS -- PAN-ARGS
# Builds and runs the verifier. EXPECT is "pass", or the start of the error
# that must be found (such as "invalid end state"). Prints one line with the
# result and the counts; on an unexpected result, the report and the path.
check() {
    local description="$1" expect="$2"
    shift 2
    local model_flags=() cflags=() args=()
    while [ "$1" != -- ]; do model_flags+=("$1"); shift; done
    shift
    while [ "$1" != -- ]; do cflags+=("$1"); shift; done
    shift
    args=("$@")
    rm -f pan pan.* wakeup.pml.trail
    if ! spin -a "${model_flags[@]}" wakeup.pml >spin.out 2>&1 ||
       ! "$cc" -O2 -w -DMEMLIM=2048 -DCOLLAPSE "${cflags[@]}" -o pan pan.c >cc.out 2>&1; then
        failed=$((failed + 1))
        echo "FAIL  $description: the verifier did not build"
        sed 's/^/      | /' spin.out cc.out
        return
    fi
    ./pan -m100000 -w23 "${args[@]}" >pan.out 2>&1 || true
    local errors found counts ok=0
    errors="$(field errors)"
    found="$(grep -m1 -E '^pan:[0-9]+: ' pan.out | sed 's/^pan:[0-9]*: //' || true)"
    counts="$(field states) states, $(field transitions) transitions, depth $(field depth), $(field seconds) s"
    if [ -z "$errors" ] || grep -q -E 'max search depth too small|out of memory' pan.out; then
        failed=$((failed + 1))
        echo "FAIL  $description: the search did not complete"
        sed 's/^/      | /' pan.out
        return
    fi
    if [ "$expect" = pass ]; then
        if [ "$errors" -eq 0 ]; then
            ok=1
            # Not vacuous: every statement of the writer and the reader ran
            # (their final "-end-" is cut off by a claim that is satisfied).
            if [ -n "$(unreached)" ]; then
                ok=0
                found="statements never reached: $(unreached | tr -s '\t\n' '  ')"
            fi
        fi
    elif [ "$errors" -gt 0 ] && [[ "$found" == "$expect"* ]]; then
        ok=1
    fi
    if [ "$ok" -eq 1 ]; then
        passed=$((passed + 1))
        if [ "$expect" = pass ]; then
            echo "PASS  $description: no error ($counts)"
        else
            echo "PASS  $description: caught, $found ($counts)"
        fi
    else
        failed=$((failed + 1))
        if [ "$expect" = pass ]; then
            echo "FAIL  $description: ${found:-$errors errors} ($counts)"
        elif [ "$errors" -eq 0 ]; then
            echo "FAIL  $description: not caught, expected: $expect ($counts)"
        else
            echo "FAIL  $description: caught the wrong error: $found, expected: $expect ($counts)"
        fi
        if [ -f wakeup.pml.trail ]; then
            echo "      its last steps (replay: spin -t -p -g ${model_flags[*]:+${model_flags[*]} }wakeup.pml with the trail):"
            spin -t -p "${model_flags[@]}" wakeup.pml 2>&1 | grep -E '^ *[0-9]+:\s+proc .*\[' | tail -20 | sed 's/^/      | /'
        fi
    fi
}

echo "== spin: the waiting protocol (Tests/Model/wakeup.pml), sleeper order $order"
echo "   3 messages, a ring of 1, up to 2 processes per role (one death each)"

check "safety, as the code is: no deadlock or lost wake-up, sleepers counts (deaths, no timeouts)" pass \
    "${code_flags[@]}" -- -DSAFETY -DNOCLAIM --
check "liveness, as the code is: <> (closed and all consumed), weak fairness (deaths, timeouts, 2 messages)" pass \
    "${code_flags[@]}" -DTIMEOUTS -DMSGS=2 -- -DNFAIR=3 -- -a -f -N finish
if [ "$order" = flag-first ]; then
    check "safety, proposed order: count incremented before the flag is set, flag cleared before the decrement" pass \
        "${other_flags[@]}" -- -DSAFETY -DNOCLAIM --
else
    check "mutant, flag set before the count is incremented and cleared after the decrement (deaths)" \
        "assertion violated" "${other_flags[@]}" -- -DSAFETY -DNOCLAIM --
fi
check "mutant, no re-check of the condition after announcing (no deaths)" "invalid end state" \
    "${code_flags[@]}" -DGENS=1 -DMUTANT_NO_RECHECK -- -DSAFETY -DNOCLAIM --
check "mutant, waker does not change the event word before FUTEX_WAKE (no deaths)" "invalid end state" \
    "${code_flags[@]}" -DGENS=1 -DMUTANT_NO_BUMP -- -DSAFETY -DNOCLAIM --
check "mutant, close wakes the reader before it releases the writer's lock (no deaths)" "invalid end state" \
    "${code_flags[@]}" -DGENS=1 -DMUTANT_WAKE_BEFORE_RELEASE -- -DSAFETY -DNOCLAIM --
check "mutant, sleeper does not set the event word's announcement bit (no deaths)" "invalid end state" \
    "${code_flags[@]}" -DGENS=1 -DMUTANT_NO_ANNOUNCE -- -DSAFETY -DNOCLAIM --

echo
echo "$passed passed, $failed failed ($((SECONDS - started)) s)"
[ "$failed" -eq 0 ]
