#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, both backends compared, end to
# end with real processes) and the C-side checks. Exits non-zero if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"

# Two runs: the suites in one process first, then those that start real
# processes. Swift Testing runs a run's suites in parallel on the cooperative
# thread pool (one thread per core); a suite that blocks for tens of seconds
# on child processes would otherwise hold the threads that the async
# in-process suites need.
echo "== Swift tests in one process (swift test --filter 'SharedMemoryTests|SharedMemoryBridgeTests' --no-parallel)"
swift build --build-tests
# One test at a time (about 13 s): in parallel, the in-process suites that
# block a thread on a wait hold the pool's threads that the async suites need.
swift test --skip-build --filter 'SharedMemoryTests|SharedMemoryBridgeTests' --no-parallel

echo
echo "== Swift tests with real processes (swift test --filter EndToEndTests)"
swift test --skip-build --filter 'EndToEndTests'

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
