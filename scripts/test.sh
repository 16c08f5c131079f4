#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, both backends compared, end to
# end with real processes) and the C-side checks. Exits non-zero if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"

echo "== Swift tests (swift test)"
swift test

echo
echo "== C tests (scripts/test-c.sh)"
scripts/test-c.sh

echo
echo "== Bridge over DDS between network namespaces (scripts/test-bridge.sh; skipped unless root)"
scripts/test-bridge.sh

echo
echo "== Documentation: the DocC catalog builds clean, every public declaration documented (scripts/test-docs.sh)"
scripts/test-docs.sh

echo
echo "== README snippets compile and run (scripts/test-readme.sh)"
scripts/test-readme.sh

echo
echo "== ThreadSanitizer (scripts/test-tsan.sh)"
scripts/test-tsan.sh

echo
echo "== Model check of the wake-up protocol (scripts/test-spin.sh)"
scripts/test-spin.sh

echo
echo "== Benchmark plumbing, ours and the peers' rows (scripts/test-bench-peers.sh)"
scripts/test-bench-peers.sh

leftovers=$(ls /dev/shm | grep -E '^(shmtest|shme2e|cshm-test)-' || true)
if [ -n "$leftovers" ]; then
    echo "Tests left segments in /dev/shm:" >&2
    echo "$leftovers" >&2
    exit 1
fi
