#!/usr/bin/env bash
# Runs the concurrency core's tests (channels and publish/subscribe, with
# threads and async tasks) under ThreadSanitizer, in a build folder of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
swift test --sanitize=thread --scratch-path .build-tsan \
    --filter 'ChannelTests|PublishSubscribeTests'
