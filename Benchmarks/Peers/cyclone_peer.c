/*
 * Cyclone DDS 0.10 rows: one participant per process, pinned to the
 * loopback interface with unicast discovery (no multicast), a domain of
 * its own per run. Lossless: RELIABLE with KEEP_ALL history on both sides
 * (a full writer blocks, up to 10 s). The reader sleeps in a WaitSet on a
 * read condition and takes with a loan: DDS deserializes every message
 * out of its socket buffer, which is the copy out.
 */
#define _GNU_SOURCE
#include <dds/dds.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_message.h"
#include "peer_harness.h"

static const char *const config =
    "<CycloneDDS><Domain id=\"any\"><General><Interfaces>"
    "<NetworkInterface name=\"lo\"/></Interfaces>"
    "<AllowMulticast>false</AllowMulticast></General>"
    "<Discovery><ParticipantIndex>auto</ParticipantIndex>"
    "<MaxAutoParticipantIndex>60</MaxAutoParticipantIndex>"
    "<Peers><Peer Address=\"127.0.0.1\"/></Peers></Discovery>"
    "</Domain></CycloneDDS>";

typedef struct endpoint {
    dds_entity_t participant, writer, reader, waitset;
    BenchPeer_Message message;
} endpoint;

/* The orchestrator's pid picks the domain, the same for both sides. */
static dds_domainid_t domain(void) { return 100 + (dds_domainid_t)(getppid() % 100); }

static dds_entity_t topic(endpoint *e, const peer_job *job, const char *event) {
    char name[128];
    snprintf(name, sizeof name, "%s_%s", job->tag, event);
    for (char *c = name; *c; c++) /* topic names take letters, digits and _ */
        if (*c == '-') *c = '_';
    return dds_create_topic(e->participant, &BenchPeer_Message_desc, name, NULL, NULL);
}

static int open_endpoint(endpoint *e, const peer_job *job, const char *out, const char *in) {
    memset(e, 0, sizeof *e);
    setenv("CYCLONEDDS_URI", config, 1);
    e->participant = dds_create_participant(domain(), NULL, NULL);
    if (e->participant < 0) {
        fprintf(stderr, "cyclone-peer: dds_create_participant: %s\n",
                dds_strretcode(e->participant));
        return EIO;
    }
    dds_qos_t *qos = dds_create_qos();
    dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(10));
    dds_qset_history(qos, DDS_HISTORY_KEEP_ALL, 0);
    if (out) {
        dds_entity_t t = topic(e, job, out);
        e->writer = t < 0 ? t : dds_create_writer(e->participant, t, qos, NULL);
        if (e->writer >= 0) dds_set_status_mask(e->writer, DDS_PUBLICATION_MATCHED_STATUS);
    }
    if (in) {
        dds_entity_t t = topic(e, job, in);
        e->reader = t < 0 ? t : dds_create_reader(e->participant, t, qos, NULL);
        if (e->reader >= 0) {
            dds_set_status_mask(e->reader, DDS_SUBSCRIPTION_MATCHED_STATUS);
            e->waitset = dds_create_waitset(e->participant);
            dds_entity_t condition = dds_create_readcondition(e->reader, DDS_ANY_STATE);
            if (e->waitset < 0 || condition < 0 ||
                dds_waitset_attach(e->waitset, condition, 0) < 0)
                e->reader = -1;
        }
    }
    dds_delete_qos(qos);
    if (e->writer < 0 || e->reader < 0) {
        fprintf(stderr, "cyclone-peer: creating the %s: %s\n", e->writer < 0 ? "writer" : "reader",
                dds_strretcode(e->writer < 0 ? e->writer : e->reader));
        return EIO;
    }
    e->message.payload._buffer = calloc(job->size, 1);
    e->message.payload._length = e->message.payload._maximum = (uint32_t)job->size;
    e->message.payload._release = false;
    return e->message.payload._buffer ? 0 : ENOMEM;
}

static void close_endpoint(endpoint *e) {
    if (e->participant > 0) dds_delete(e->participant);
    free(e->message.payload._buffer);
}

/* Waits, bounded, until the writer and the reader (those there) matched. */
static int connect(endpoint *e, const peer_job *job, int side) {
    uint64_t start = peer_now_ns();
    for (;;) {
        dds_publication_matched_status_t published = {0};
        dds_subscription_matched_status_t subscribed = {0};
        int ready = 1;
        if (e->writer && (dds_get_publication_matched_status(e->writer, &published) < 0 ||
                          published.current_count < 1))
            ready = 0;
        if (e->reader && (dds_get_subscription_matched_status(e->reader, &subscribed) < 0 ||
                          subscribed.current_count < 1))
            ready = 0;
        if (ready) break;
        if (peer_expired(start)) return ETIMEDOUT;
        dds_sleepfor(DDS_MSECS(1));
    }
    return peer_handshake(job, side);
}

static int send(endpoint *e, uint64_t sequence, const void *bytes, size_t size) {
    e->message.number = sequence;
    if (bytes) memcpy(e->message.payload._buffer, bytes, size);
    return dds_write(e->writer, &e->message) < 0 ? EIO : 0;
}

/* Takes the next message (a loan), checks it, copies the payload into copy
 * when given; the loan goes back before returning. */
static int receive(endpoint *e, const peer_job *job, uint64_t sequence, void *copy, int idle) {
    uint64_t start = peer_now_ns();
    for (;;) {
        void *samples[1] = {NULL};
        dds_sample_info_t info[1];
        dds_return_t taken = dds_take(e->reader, samples, info, 1, 1);
        if (taken < 0) return EIO;
        if (taken == 1) {
            const BenchPeer_Message *m = samples[0];
            int error = 0;
            if (!info[0].valid_data) error = EPIPE; /* the writer went away */
            else if (m->payload._length != job->size || m->number != sequence) error = EPROTO;
            else if (copy) memcpy(copy, m->payload._buffer, job->size);
            dds_return_loan(e->reader, samples, 1);
            return error;
        }
        dds_waitset_wait(e->waitset, NULL, 0, idle ? DDS_SECS(CSHM_BENCH_TIMEOUT_SECONDS) : DDS_SECS(1));
        if (idle && !peer_is_set(&job->shared->stop)) start = peer_now_ns();
        if (peer_expired(start)) return ETIMEDOUT;
    }
}

static int ping(const peer_job *job) {
    endpoint e;
    int error = open_endpoint(&e, job, "ping", "pong");
    unsigned char *reply = malloc(job->size);
    if (error == 0 && !reply) error = ENOMEM;
    if (error == 0) error = connect(&e, job, PEER_SENDER);
    uint64_t total = (uint64_t)job->warmup + job->round_trips;
    for (uint64_t i = 0; error == 0 && i < total; i++) {
        uint64_t start = peer_now_ns();
        error = send(&e, i, NULL, job->size);
        if (error == 0) error = receive(&e, job, i, reply, 0);
        uint64_t end = peer_now_ns();
        if (i >= job->warmup) job->shared->samples[i - job->warmup] = end - start;
    }
    free(reply);
    close_endpoint(&e);
    return error;
}

static int echo(const peer_job *job) {
    endpoint e;
    int error = open_endpoint(&e, job, "pong", "ping");
    if (error == 0) error = connect(&e, job, PEER_RECEIVER);
    uint64_t total = (uint64_t)job->warmup + job->round_trips;
    for (uint64_t i = 0; error == 0 && i < total; i++) {
        error = receive(&e, job, i, e.message.payload._buffer, 0);
        if (error == 0) error = send(&e, i, NULL, job->size);
    }
    close_endpoint(&e);
    return error;
}

static int source(const peer_job *job) {
    endpoint e;
    int error = open_endpoint(&e, job, "data", NULL);
    if (error == 0) error = connect(&e, job, PEER_SENDER);
    if (error == 0) error = peer_wait(&job->shared->go);
    for (uint64_t i = 0; error == 0 && i < job->count; i++) error = send(&e, i, NULL, job->size);
    peer_record_rss(job, PEER_SENDER);
    /* Reliable delivery still needs the writer: stay until the sink is done. */
    if (error == 0) error = peer_wait(&job->shared->stop);
    close_endpoint(&e);
    return error;
}

static int sink(const peer_job *job) {
    endpoint e;
    int error = open_endpoint(&e, job, NULL, "data");
    unsigned char *copy = malloc(job->size);
    if (error == 0 && !copy) error = ENOMEM;
    if (error == 0) error = connect(&e, job, PEER_RECEIVER);
    uint64_t start = peer_now_ns();
    peer_set(&job->shared->go);
    for (uint64_t i = 0; error == 0 && i < job->count; i++) error = receive(&e, job, i, copy, 0);
    job->shared->seconds = (double)(peer_now_ns() - start) / 1e9;
    peer_record_rss(job, PEER_RECEIVER);
    peer_set(&job->shared->stop);
    free(copy);
    close_endpoint(&e);
    return error;
}

static int idle_sender(const peer_job *job) {
    endpoint e;
    int error = open_endpoint(&e, job, "idle", NULL);
    if (error == 0) error = connect(&e, job, PEER_SENDER);
    while (error == 0 && !peer_is_set(&job->shared->stop)) {
        error = peer_wait(&job->shared->stop);
        if (error == ETIMEDOUT) error = 0;
    }
    if (error == 0) error = send(&e, 0, NULL, job->size);
    dds_sleepfor(DDS_MSECS(100)); /* let the reliable write reach the reader */
    close_endpoint(&e);
    return error;
}

static int idle_receiver(const peer_job *job) {
    endpoint e;
    int error = open_endpoint(&e, job, NULL, "idle");
    if (error == 0) error = connect(&e, job, PEER_RECEIVER);
    if (error == 0) error = receive(&e, job, 0, NULL, 1);
    close_endpoint(&e);
    return error;
}

static const peer_variant variants[] = {
    {"cyclonedds/loopback", "Cyclone DDS 0.10 over UDP on lo (unicast discovery), RELIABLE + KEEP_ALL "
     "both sides, WaitSet on a read condition, take with loans", 0, 0, 1},
};

int main(int argc, char **argv) {
    peer_library library = {"cyclonedds", variants, 1, NULL, NULL, ping, echo,
                            source, sink, idle_sender, idle_receiver, 0};
    return peer_main(&library, argc, argv);
}
