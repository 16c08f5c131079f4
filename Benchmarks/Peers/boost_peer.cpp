// Boost.Interprocess message_queue rows: a named queue in /dev/shm each
// way, blocking (timed_send/timed_receive, a mutex and condition variables
// in shared memory) or try/spin (try_send/try_receive in a spin loop).
// receive() copies the message out into the caller's buffer: the copy-out
// rule. Queue depth: as many messages as the C ring holds bytes.
#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/date_time/posix_time/posix_time_types.hpp>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "peer_harness.h"

namespace ipc = boost::interprocess;

namespace {

enum { BLOCKING = 0, SPIN = 1 };

std::string queue_name(const peer_job *job, const char *side) {
    return std::string(job->tag) + "-" + side;
}

boost::posix_time::ptime deadline() {
    return boost::posix_time::microsec_clock::universal_time() +
           boost::posix_time::seconds(CSHM_BENCH_TIMEOUT_SECONDS);
}

int send(const peer_job *job, ipc::message_queue &queue, const void *data, size_t size) {
    if (job->variant == BLOCKING)
        return queue.timed_send(data, size, 0, deadline()) ? 0 : ETIMEDOUT;
    uint64_t start = peer_now_ns();
    for (uint32_t spins = 1;; spins++) {
        if (queue.try_send(data, size, 0)) return 0;
        if ((spins & 0xFFF) == 0 && peer_expired(start)) return ETIMEDOUT;
    }
}

int receive(const peer_job *job, ipc::message_queue &queue, void *buffer, size_t size,
            uint64_t sequence) {
    ipc::message_queue::size_type got = 0;
    unsigned priority = 0;
    if (job->variant == BLOCKING) {
        if (!queue.timed_receive(buffer, size, got, priority, deadline())) return ETIMEDOUT;
    } else {
        uint64_t start = peer_now_ns();
        for (uint32_t spins = 1;; spins++) {
            if (queue.try_receive(buffer, size, got, priority)) break;
            if ((spins & 0xFFF) == 0 && peer_expired(start)) return ETIMEDOUT;
        }
    }
    return got == size && peer_stamped(buffer, size, sequence) ? 0 : EPROTO;
}

// Every body catches: an exception must become an errno, never an abort.
template <typename Body> int guarded(Body body) {
    try {
        return body();
    } catch (const ipc::interprocess_exception &error) {
        return error.get_native_error() > 0 ? error.get_native_error() : EIO;
    } catch (...) {
        return EIO;
    }
}

int prepare(const peer_job *job) {
    return guarded([&] {
        for (const char *side : {"a", "b"}) {
            ipc::message_queue::remove(queue_name(job, side).c_str());
            ipc::message_queue(ipc::create_only, queue_name(job, side).c_str(),
                               job->queue_depth, job->size);
        }
        return 0;
    });
}

void cleanup(const peer_job *job) {
    for (const char *side : {"a", "b"}) ipc::message_queue::remove(queue_name(job, side).c_str());
}

int ping(const peer_job *job) {
    return guarded([&] {
        ipc::message_queue out(ipc::open_only, queue_name(job, "a").c_str());
        ipc::message_queue in(ipc::open_only, queue_name(job, "b").c_str());
        std::vector<unsigned char> message(job->size, 0x5A), reply(job->size);
        int error = peer_handshake(job, PEER_SENDER);
        uint64_t total = (uint64_t)job->warmup + job->round_trips;
        for (uint64_t i = 0; error == 0 && i < total; i++) {
            peer_stamp(message.data(), job->size, i);
            uint64_t start = peer_now_ns();
            error = send(job, out, message.data(), job->size);
            if (error == 0) error = receive(job, in, reply.data(), job->size, i);
            uint64_t end = peer_now_ns();
            if (i >= job->warmup) job->shared->samples[i - job->warmup] = end - start;
        }
        return error;
    });
}

int echo(const peer_job *job) {
    return guarded([&] {
        ipc::message_queue in(ipc::open_only, queue_name(job, "a").c_str());
        ipc::message_queue out(ipc::open_only, queue_name(job, "b").c_str());
        std::vector<unsigned char> buffer(job->size);
        int error = peer_handshake(job, PEER_RECEIVER);
        uint64_t total = (uint64_t)job->warmup + job->round_trips;
        for (uint64_t i = 0; error == 0 && i < total; i++) {
            error = receive(job, in, buffer.data(), job->size, i);
            if (error == 0) error = send(job, out, buffer.data(), job->size);
        }
        return error;
    });
}

int source(const peer_job *job) {
    return guarded([&] {
        ipc::message_queue out(ipc::open_only, queue_name(job, "a").c_str());
        std::vector<unsigned char> message(job->size, 0xA5);
        int error = peer_handshake(job, PEER_SENDER);
        if (error == 0) error = peer_wait(&job->shared->go);
        for (uint64_t i = 0; error == 0 && i < job->count; i++) {
            peer_stamp(message.data(), job->size, i);
            error = send(job, out, message.data(), job->size);
        }
        peer_record_rss(job, PEER_SENDER);
        return error;
    });
}

int sink(const peer_job *job) {
    return guarded([&] {
        ipc::message_queue in(ipc::open_only, queue_name(job, "a").c_str());
        std::vector<unsigned char> copy(job->size);
        int error = peer_handshake(job, PEER_RECEIVER);
        if (error != 0) return error;
        uint64_t start = peer_now_ns();
        peer_set(&job->shared->go);
        for (uint64_t i = 0; error == 0 && i < job->count; i++)
            error = receive(job, in, copy.data(), job->size, i);
        job->shared->seconds = (double)(peer_now_ns() - start) / 1e9;
        peer_record_rss(job, PEER_RECEIVER);
        return error;
    });
}

int idle_sender(const peer_job *job) {
    return guarded([&] {
        ipc::message_queue out(ipc::open_only, queue_name(job, "a").c_str());
        std::vector<unsigned char> message(job->size, 0);
        int error = peer_handshake(job, PEER_SENDER);
        // The idle period may outlast the flag wait's bound: wait in rounds.
        while (error == 0 && !peer_is_set(&job->shared->stop)) {
            error = peer_wait(&job->shared->stop);
            if (error == ETIMEDOUT) error = 0;
        }
        if (error == 0) error = send(job, out, message.data(), job->size);
        return error;
    });
}

int idle_receiver(const peer_job *job) {
    return guarded([&] {
        ipc::message_queue in(ipc::open_only, queue_name(job, "a").c_str());
        std::vector<unsigned char> buffer(job->size);
        int error = peer_handshake(job, PEER_RECEIVER);
        // One blocking wait, re-armed at its timeout, until the message.
        while (error == 0) {
            ipc::message_queue::size_type got = 0;
            unsigned priority = 0;
            if (in.timed_receive(buffer.data(), job->size, got, priority, deadline())) break;
        }
        return error;
    });
}

const peer_variant variants[] = {
    {"boost-mq/blocking", "Boost.Interprocess 1.74 message_queue, timed_send/timed_receive (blocking), "
     "depth = ring bytes / size (4..256), priority 0", BLOCKING, 0, 1},
    {"boost-mq/try-spin", "Boost.Interprocess 1.74 message_queue, try_send/try_receive in a spin loop, "
     "depth = ring bytes / size (4..256)", SPIN, 0, 0},
};

}  // namespace

int main(int argc, char **argv) {
    peer_library library = {"boost", variants, 2, prepare, cleanup, ping, echo,
                            source, sink, idle_sender, idle_receiver, 0};
    return peer_main(&library, argc, argv);
}
