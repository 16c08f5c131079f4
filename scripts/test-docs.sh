#!/usr/bin/env bash
# The DocC catalog is the channel protocol's contract: it must build with no
# warning (a broken symbol link, an undocumented parameter, an ambiguous
# reference), and every public declaration of SharedMemory and
# SharedMemoryBridge must carry a doc comment. Builds the documentation with swift-docc-plugin
# (`swift package generate-documentation --warnings-as-errors`), then reads
# the symbol graph it extracted. Ends with "N passed, M failed"; exits 1 on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

passed=0
failed=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

for module in SharedMemory SharedMemoryBridge; do
echo "== $module: the DocC catalog builds with no warning"
if swift package generate-documentation --target "$module" --warnings-as-errors >"$log" 2>&1 \
        && ! grep -q "warning:" "$log"; then
    echo "ok: the catalog builds clean"
    passed=$((passed + 1))
else
    grep -E -A12 "(warning|error):" "$log" >&2 || tail -40 "$log" >&2
    echo "FAILED: the catalog has warnings or does not build" >&2
    failed=$((failed + 1))
fi

echo "== $module: every public declaration has a doc comment"
graph="$(find .build -path '*extracted-symbols*' -name "$module.symbols.json" 2>/dev/null | head -1)"
if [ -z "$graph" ]; then
    echo "FAILED: no symbol graph for $module was extracted" >&2
    failed=$((failed + 1))
elif python3 - "$graph" <<'PY'
import json, sys
symbols = json.load(open(sys.argv[1]))["symbols"]
# Symbols without a source location are synthesised by the compiler
# (hashValue, hash(into:)); the rest are written in the sources.
public = [s for s in symbols if s["accessLevel"] == "public" and "location" in s]
bare = [s for s in public if not s.get("docComment", {}).get("lines")]
for s in bare:
    where = s["location"]["uri"].rsplit("/", 1)[-1]
    print(f"  undocumented: {'.'.join(s['pathComponents'])} ({where}:{s['location']['position']['line'] + 1})",
          file=sys.stderr)
print(f"{len(public)} public declarations, {len(bare)} without a doc comment")
sys.exit(1 if bare else 0)
PY
then
    passed=$((passed + 1))
else
    echo "FAILED: public declarations without a doc comment" >&2
    failed=$((failed + 1))
fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
