/* A plain DDS participant, not ours: reads or writes topic shm/NAME with the
 * generated shm_bridge::Message type and libddsc only, to check shm-bridge
 * against it. Payloads follow shm-test-peer's test messages (seed 1, sizes
 * MIN..MAX), so either end checks every byte.
 *   dds_peer write|read DOMAIN IFACE TOPIC COUNT [MIN MAX [TIMEOUT_S]]
 * read exits 0 when COUNT samples arrived intact and in order, and no more
 * within a second after (a duplicate or an echo fails the check). */
#include <dds/dds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shm_bridge.h"

static uint64_t mix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static uint32_t size_of(uint64_t seq, uint32_t lo, uint32_t hi) {
  uint64_t s = 1 ^ (seq * 0xD6E8FEB86659FD93ull); uint32_t n = lo + (uint32_t)(mix(&s) % (hi - lo + 1));
  return n < 8 ? 8 : n;
}
static void fill(uint8_t *b, uint32_t n, uint64_t seq) {
  uint64_t s = 1 + seq, w; uint32_t i = 8;
  memcpy(b, &seq, 8);                       /* little-endian hosts only, like the test */
  for (; i + 8 <= n; i += 8) { w = mix(&s); memcpy(b + i, &w, 8); }
  for (w = mix(&s); i < n; i++, w >>= 8) b[i] = (uint8_t)w;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: dds_peer write|read DOMAIN IFACE TOPIC COUNT [MIN MAX [TIMEOUT_S]]\n"); return 64; }
  int writing = strcmp(argv[1], "write") == 0;
  uint32_t domain = (uint32_t)atoi(argv[2]); long count = atol(argv[5]);
  uint32_t lo = argc > 7 ? (uint32_t)atol(argv[6]) : 8, hi = argc > 7 ? (uint32_t)atol(argv[7]) : 1000;
  int timeout = argc > 8 ? atoi(argv[8]) : 20;
  char config[512];
  snprintf(config, sizeof config, "<CycloneDDS><Domain Id=\"any\"><General><Interfaces><NetworkInterface name=\"%s\"/>"
           "</Interfaces></General></Domain></CycloneDDS>", argv[3]);
  if (dds_create_domain(domain, config) < 0) { fprintf(stderr, "dds_create_domain failed\n"); return 1; }
  dds_entity_t pp = dds_create_participant(domain, NULL, NULL);
  dds_entity_t tp = dds_create_topic(pp, &shm_bridge_Message_desc, argv[4], NULL, NULL);
  dds_qos_t *qos = dds_create_qos();        /* the bridge's QoS for a lossless ring */
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(200));
  dds_qset_history(qos, DDS_HISTORY_KEEP_ALL, 0);
  dds_qset_resource_limits(qos, 64, 1, 64);
  uint8_t *buf = malloc(hi), *want = malloc(hi);
  shm_bridge_Message m; memset(&m, 0, sizeof m); memset(m.origin, 0xC0, 16);
  long done = 0, bad = 0;
  if (writing) {
    dds_entity_t wr = dds_create_writer(pp, tp, qos, NULL);
    dds_publication_matched_status_t st = { 0 };
    for (int i = 0; i < timeout * 100 && st.current_count == 0; i++) {
      dds_get_publication_matched_status(wr, &st); dds_sleepfor(DDS_MSECS(10));
    }
    dds_sleepfor(DDS_MSECS(300));           /* let the reader's side match too */
    for (; done < count; done++) {
      m.sequence_number = (uint64_t)done; m.payload._length = m.payload._maximum = size_of(done, lo, hi);
      fill(buf, m.payload._length, done); m.payload._buffer = buf;
      while (dds_write(wr, &m) == DDS_RETCODE_TIMEOUT) {}
    }
    dds_sleepfor(DDS_SECS(2));              /* reliable delivery of the tail before the writer goes */
  } else {
    dds_entity_t rd = dds_create_reader(pp, tp, qos, NULL);
    dds_entity_t ws = dds_create_waitset(pp);
    dds_waitset_attach(ws, dds_create_readcondition(rd, DDS_ANY_STATE), 0);
    dds_time_t end = dds_time() + DDS_SECS(timeout), quiet = 0;
    while (dds_time() < end && (done < count || dds_time() < quiet)) {
      void *s[1] = { NULL }; dds_sample_info_t info;
      dds_waitset_wait(ws, NULL, 0, DDS_MSECS(100));
      while (dds_take(rd, s, &info, 1, 1) == 1) {
        const shm_bridge_Message *r = s[0];
        if (info.valid_data) {
          uint32_t n = size_of((uint64_t)done, lo, hi);
          if (n <= hi) fill(want, n, (uint64_t)done);
          if (r->sequence_number != (uint64_t)done || r->payload._length != n || memcmp(r->payload._buffer, want, n) != 0) bad++;
          if (++done == count) quiet = dds_time() + DDS_SECS(1);
        }
        dds_return_loan(rd, s, 1);
      }
    }
  }
  printf("%s %ld bad %ld\n", writing ? "wrote" : "read", done, bad);
  dds_delete(pp);
  return done == count && bad == 0 ? 0 : 2;
}
