#!/usr/bin/env bash
# README snippets compile and run: each ```swift block of README.md becomes
# the main.swift of an executable in a temporary package that depends on this
# one by path, and the ```c block is built with the README's own `cc` recipe.
# The programs run as root in a private mount namespace with a tmpfs of their
# own on /dev/shm (the snippets use fixed names such as /SampleMap); without
# root or unshare they are only built, which is said. Ends with
# "N passed, M failed"; exits 1 on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
repo="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAILED: $1" >&2; failed=$((failed + 1)); }

# Extract the blocks: snippets/swift-N.swift, c-N.c and sh-N.sh in README order.
mkdir -p "$work/snippets"
python3 - "$repo/README.md" "$work/snippets" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
counts = {}
for lang, body in re.findall(r"^```(swift|c|sh)\n(.*?)^```$", text, re.S | re.M):
    counts[lang] = counts.get(lang, 0) + 1
    ext = {"swift": "swift", "c": "c", "sh": "sh"}[lang]
    open(f"{sys.argv[2]}/{lang}-{counts[lang]}.{ext}", "w").write(body)
print(", ".join(f"{n} {lang}" for lang, n in sorted(counts.items())), "blocks in README.md")
PY

can_isolate=false
if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then can_isolate=true; fi
# Runs a command with a private, empty /dev/shm.
isolated() { unshare --mount sh -c 'mount -t tmpfs tmpfs /dev/shm && exec "$@"' isolated "$@"; }

# Swift: one executable per block in a package that depends on this one.
pkg="$work/package"
mkdir -p "$pkg"
targets=""
for snippet in "$work"/snippets/swift-*.swift; do
    target="$(basename "$snippet" .swift)"
    mkdir -p "$pkg/Sources/$target"
    cp "$snippet" "$pkg/Sources/$target/main.swift"
    targets+="        .executableTarget(name: \"$target\", dependencies: [.product(name: \"SharedMemory\", package: \"$(basename "$repo")\")]),"$'\n'
done
cat >"$pkg/Package.swift" <<SWIFT
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "readme-snippets",
    dependencies: [.package(path: "$repo")],
    targets: [
$targets    ]
)
SWIFT
if swift build --package-path "$pkg" >"$work/build.log" 2>&1; then
    ok "the README's Swift snippets compile"
    bin="$(swift build --package-path "$pkg" --show-bin-path)"
    for snippet in "$work"/snippets/swift-*.swift; do
        target="$(basename "$snippet" .swift)"
        if ! $can_isolate; then
            echo "skipped running $target: needs root and unshare for a private /dev/shm"
        elif isolated timeout 60 "$bin/$target" >"$work/$target.out" 2>&1; then
            # What each snippet prints, in README order: the sample's message; the channel's
            # two message lengths; the typed channel's two ticks.
            case "$target" in
                swift-1) expected="Message from the first process." ;;
                swift-2) expected=$'5\n8' ;;
                swift-3) expected=$'1\n2' ;;
                *) expected="$(cat "$work/$target.out")" ;;
            esac
            if [ "$(cat "$work/$target.out")" = "$expected" ]; then
                ok "$target runs and prints what the README says"
            else
                bad "$target printed '$(cat "$work/$target.out")', not '$expected'"
            fi
        else
            cat "$work/$target.out" >&2
            bad "$target exits with an error"
        fi
    done
else
    grep -E "error:" "$work/build.log" >&2 || tail -30 "$work/build.log" >&2
    bad "the README's Swift snippets do not compile"
fi

# C: the README's cc recipe (the sh block that runs cc), then its reader.c.
recipe="$(grep -l '^cc ' "$work"/snippets/sh-*.sh | head -1)"
reader="$(grep -l 'int main' "$work"/snippets/c-*.c | head -1)"
if [ -z "$recipe" ] || [ -z "$reader" ]; then
    bad "the README has no cc recipe or no C program"
else
    mkdir -p "$work/c"
    cp "$reader" "$work/c/reader.c"
    ln -s "$repo/include" "$work/c/include"
    ln -s "$repo/Sources" "$work/c/Sources"
    if (cd "$work/c" && sh -e "$recipe") >"$work/c.log" 2>&1; then
        ok "the README's cc recipe builds libCShm.a and reader"
        if ! $can_isolate; then
            echo "skipped running reader: needs root and unshare for a private /dev/shm"
        elif isolated sh -c '"$1" >"$2" 2>&1; [ $? -eq 1 ] && grep -qx "OpenFileMapping failed w/err 0x00000002 (ENOENT)" "$2"' \
                reader "$work/c/reader" "$work/c/reader.out"; then
            ok "reader reports a missing /SampleMap as the sample does"
        else
            cat "$work/c/reader.out" >&2 || true
            bad "reader does not report a missing /SampleMap"
        fi
    else
        cat "$work/c.log" >&2
        bad "the README's cc recipe fails"
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
