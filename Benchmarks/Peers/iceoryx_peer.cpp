// iceoryx 2.0 rows: untyped publisher/subscriber pairs through RouDi (which
// scripts/bench-peers.sh starts in a private mount namespace), always with
// loans from iceoryx's chunk pools. Lossless: the publisher waits for a
// full subscriber queue (ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER,
// QueueFullPolicy::BLOCK_PRODUCER), no history. The receiver polls take()
// in a loop (busy-poll) or sleeps in a WaitSet on HAS_DATA (waitset).
// Every process is a fresh runtime with a unique name; every service
// carries the row's tag, so rows never see each other.
#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "peer_harness.h"

namespace {

enum { BUSY_POLL = 0, WAITSET = 1 };

using iox::cxx::TruncateToCapacity;

void start_runtime(const peer_job *job, const char *role) {
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kError, iox::log::LogLevelOutput::kHideLogLevel);
    std::string name = std::string(job->tag) + "-" + role + "-" + std::to_string(getpid());
    iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(TruncateToCapacity, name.c_str(), name.size()));
}

iox::capro::ServiceDescription service(const peer_job *job, const char *event) {
    return {iox::capro::IdString_t(TruncateToCapacity, "shm-bench"),
            iox::capro::IdString_t(TruncateToCapacity, job->tag),
            iox::capro::IdString_t(TruncateToCapacity, event)};
}

std::unique_ptr<iox::popo::UntypedPublisher> publisher(const peer_job *job, const char *event) {
    iox::popo::PublisherOptions options;
    options.historyCapacity = 0;
    options.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    return std::make_unique<iox::popo::UntypedPublisher>(service(job, event), options);
}

std::unique_ptr<iox::popo::UntypedSubscriber> subscriber(const peer_job *job, const char *event) {
    iox::popo::SubscriberOptions options;
    options.queueCapacity = job->queue_depth;
    options.historyRequest = 0;
    options.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
    return std::make_unique<iox::popo::UntypedSubscriber>(service(job, event), options);
}

// Waits, bounded, until the publisher has a subscriber and the subscriber
// is subscribed (either may be null), then meets the other side.
int connect(const peer_job *job, int side, iox::popo::UntypedPublisher *out,
            iox::popo::UntypedSubscriber *in) {
    uint64_t start = peer_now_ns();
    while ((out && !out->hasSubscribers()) ||
           (in && in->getSubscriptionState() != iox::SubscribeState::SUBSCRIBED)) {
        if (peer_expired(start)) return ETIMEDOUT;
        usleep(1000);
    }
    return peer_handshake(job, side);
}

// The receiving side: take() polled in a loop, or a WaitSet between tries.
struct Receiver {
    const peer_job *job;
    std::unique_ptr<iox::popo::UntypedSubscriber> subscriber;
    std::unique_ptr<iox::popo::WaitSet<>> waitset;

    Receiver(const peer_job *job, const char *event) : job(job), subscriber(::subscriber(job, event)) {
        if (job->variant == WAITSET) {
            waitset = std::make_unique<iox::popo::WaitSet<>>();
            if (waitset->attachState(*subscriber, iox::popo::SubscriberState::HAS_DATA).has_error())
                waitset.reset();
        }
    }

    // The next chunk, or nullptr with *error set. Gives up after
    // CSHM_BENCH_TIMEOUT_SECONDS without one; an idle wait (idle = 1)
    // waits until the orchestrator sets stop, and that long after it.
    const void *take(int *error, int idle = 0) {
        uint64_t start = peer_now_ns();
        for (uint32_t spins = 1;; spins++) {
            auto chunk = subscriber->take();
            if (!chunk.has_error()) return chunk.value();
            if (job->variant == WAITSET) {
                if (!waitset) { *error = ENOMEM; return nullptr; }
                waitset->timedWait(iox::units::Duration::fromSeconds(idle ? CSHM_BENCH_TIMEOUT_SECONDS : 1));
            } else if ((spins & 0xFFF) != 0) {
                continue;
            }
            if (idle && !peer_is_set(&job->shared->stop)) start = peer_now_ns();
            if (peer_expired(start)) {
                *error = ETIMEDOUT;
                return nullptr;
            }
        }
    }
};

// Checks a received chunk: the stamp, and reads the last byte too unless
// only one line is touched. Copies it out into `copy` when asked.
int check(const peer_job *job, const void *chunk, uint64_t sequence, unsigned char *copy) {
    if (copy != nullptr) {
        memcpy(copy, chunk, job->size);
        chunk = copy;
    } else if (!job->touch_line) {
        volatile unsigned char last = static_cast<const unsigned char *>(chunk)[job->size - 1];
        (void)last;
    }
    return peer_stamped(chunk, job->size, sequence) ? 0 : EPROTO;
}

// Loans a chunk and fills it: the whole message copied in, or only the
// first line written (touch_line).
int send(const peer_job *job, iox::popo::UntypedPublisher &out, const unsigned char *message,
         uint64_t sequence) {
    auto loan = out.loan(static_cast<uint32_t>(job->size), 64);
    if (loan.has_error()) return ENOMEM;
    void *chunk = loan.value();
    if (job->touch_line) {
        memset(chunk, 0x5A, job->size < 64 ? job->size : 64);
    } else {
        memcpy(chunk, message, job->size);
    }
    peer_stamp(chunk, job->size, sequence);
    out.publish(chunk);
    return 0;
}

int ping(const peer_job *job) {
    start_runtime(job, "ping");
    auto out = publisher(job, "ping");
    Receiver in(job, "pong");
    std::vector<unsigned char> message(job->size, 0x5A), reply(job->size);
    unsigned char *copy = job->in_place ? nullptr : reply.data();
    int error = connect(job, PEER_SENDER, out.get(), in.subscriber.get());
    uint64_t total = (uint64_t)job->warmup + job->round_trips;
    for (uint64_t i = 0; error == 0 && i < total; i++) {
        uint64_t start = peer_now_ns();
        error = send(job, *out, message.data(), i);
        const void *chunk = error == 0 ? in.take(&error) : nullptr;
        if (chunk) {
            error = check(job, chunk, i, copy);
            in.subscriber->release(chunk);
        }
        uint64_t end = peer_now_ns();
        if (i >= job->warmup) job->shared->samples[i - job->warmup] = end - start;
    }
    return error;
}

int echo(const peer_job *job) {
    start_runtime(job, "echo");
    Receiver in(job, "ping");
    auto out = publisher(job, "pong");
    std::vector<unsigned char> buffer(job->size);
    int error = connect(job, PEER_RECEIVER, out.get(), in.subscriber.get());
    uint64_t total = (uint64_t)job->warmup + job->round_trips;
    for (uint64_t i = 0; error == 0 && i < total; i++) {
        const void *chunk = in.take(&error);
        if (!chunk) break;
        // Copied: out into our buffer, then into the reply's chunk. In
        // place: from the ping's chunk straight into the reply's.
        if (!job->in_place) memcpy(buffer.data(), chunk, job->size);
        const unsigned char *from = job->in_place ? static_cast<const unsigned char *>(chunk) : buffer.data();
        if (!peer_stamped(from, job->size, i)) error = EPROTO;
        if (error == 0) error = send(job, *out, from, i);
        in.subscriber->release(chunk);
    }
    return error;
}

int source(const peer_job *job) {
    start_runtime(job, "source");
    auto out = publisher(job, "data");
    std::vector<unsigned char> message(job->size, 0xA5);
    int error = connect(job, PEER_SENDER, out.get(), nullptr);
    if (error == 0) error = peer_wait(&job->shared->go);
    for (uint64_t i = 0; error == 0 && i < job->count; i++) error = send(job, *out, message.data(), i);
    peer_record_rss(job, PEER_SENDER);
    // Stay until the sink has everything: chunks outlive a publisher, but
    // a runtime that leaves early takes its ports with it.
    if (error == 0) error = peer_wait(&job->shared->stop);
    return error;
}

int sink(const peer_job *job) {
    start_runtime(job, "sink");
    Receiver in(job, "data");
    std::vector<unsigned char> copy(job->size);
    int error = connect(job, PEER_RECEIVER, nullptr, in.subscriber.get());
    if (error != 0) return error;
    uint64_t start = peer_now_ns();
    peer_set(&job->shared->go);
    for (uint64_t i = 0; error == 0 && i < job->count; i++) {
        const void *chunk = in.take(&error);
        if (!chunk) break;
        error = check(job, chunk, i, job->in_place ? nullptr : copy.data());
        in.subscriber->release(chunk);
    }
    job->shared->seconds = (double)(peer_now_ns() - start) / 1e9;
    peer_record_rss(job, PEER_RECEIVER);
    peer_set(&job->shared->stop);
    return error;
}

int idle_sender(const peer_job *job) {
    start_runtime(job, "idle-sender");
    auto out = publisher(job, "idle");
    std::vector<unsigned char> message(job->size, 0);
    int error = connect(job, PEER_SENDER, out.get(), nullptr);
    while (error == 0 && !peer_is_set(&job->shared->stop)) {
        error = peer_wait(&job->shared->stop);
        if (error == ETIMEDOUT) error = 0;
    }
    if (error == 0) error = send(job, *out, message.data(), 0);
    return error;
}

int idle_receiver(const peer_job *job) {
    start_runtime(job, "idle-receiver");
    Receiver in(job, "idle");
    int error = connect(job, PEER_RECEIVER, nullptr, in.subscriber.get());
    if (error != 0) return error;
    // One WaitSet wait at a time, each up to 30 s, until the message.
    const void *chunk = in.take(&error, 1);
    if (chunk) in.subscriber->release(chunk);
    return error;
}

const peer_variant variants[] = {
    {"iceoryx/busy-poll", "iceoryx 2.0.3 untyped pub/sub with loans (the receiver reads in place, as swift-shm/loan), take() polled in a loop; lossless "
     "(WAIT_FOR_CONSUMER, BLOCK_PRODUCER), queue = ring bytes / size (4..256), no history",
     BUSY_POLL, 1, 0},
    {"iceoryx/waitset", "iceoryx 2.0.3 untyped pub/sub with loans (the receiver reads in place), WaitSet on HAS_DATA; lossless "
     "(WAIT_FOR_CONSUMER, BLOCK_PRODUCER), queue = ring bytes / size (4..256), no history",
     WAITSET, 0, 1},
};

}  // namespace

int main(int argc, char **argv) {
    peer_library library = {"iceoryx", variants, 2, nullptr, nullptr, ping, echo,
                            source, sink, idle_sender, idle_receiver, 0};
    return peer_main(&library, argc, argv);
}
