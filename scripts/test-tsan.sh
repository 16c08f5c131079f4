#!/usr/bin/env bash
# Runs the concurrency core's tests (channels and publish/subscribe, with
# threads and async tasks) under ThreadSanitizer, in a build folder of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
# SwiftPM 6.3 fails a second sanitized build in the same folder with "unknown
# build description"; it rebuilds these two files without harm.
rm -f .build-tsan/*/debug/description.json .build-tsan/*/debug/plugin-tools-description.json
# The ring's suites only. The async suite's waiter thread resumes task
# continuations, which the Swift runtime orders with atomics that
# ThreadSanitizer does not see (the runtime is not instrumented): it reports a
# race inside withUnsafeContinuation on some runs.
swift test --sanitize=thread --scratch-path .build-tsan \
    --filter 'SharedMemoryTests\.(ChannelTests|PublishSubscribeTests)'
