/* The plain Cyclone DDS C pair for scripts/bench-bridge.sh: the same sample
 * type and QoS as shm-bridge (RELIABLE, KEEP_ALL, 64 samples on the writer and,
 * as the bridge's readers, 4 times that on the reader), no shared memory.
 *   dds_bench ping|pong DOMAIN IFACE SIZE COUNT    (round trips on shm/rawping, shm/rawpong)
 *   dds_bench source|sink DOMAIN IFACE SIZE COUNT  (a stream on shm/rawstream)
 * ping and sink print one result line in shm-bridge-bench's format. */
#include <dds/dds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shm_bridge.h"

static dds_entity_t pp;
static dds_qos_t *qos, *rqos;
static dds_entity_t endpoint(const char *topic, int writer) {
  dds_entity_t tp = dds_create_topic(pp, &shm_bridge_Message_desc, topic, NULL, NULL);
  return writer ? dds_create_writer(pp, tp, qos, NULL) : dds_create_reader(pp, tp, rqos, NULL);
}
static int take(dds_entity_t rd, dds_entity_t ws, uint64_t *seq, uint32_t *len, dds_duration_t timeout) {
  void *s[1] = { NULL }; dds_sample_info_t info;
  for (;;) {
    int n = dds_take(rd, s, &info, 1, 1);
    if (n == 1) {
      int ok = info.valid_data;
      if (ok) { const shm_bridge_Message *m = s[0]; *seq = m->sequence_number; *len = m->payload._length; }
      dds_return_loan(rd, s, 1);
      if (ok) return 1;
      continue;
    }
    if (dds_waitset_wait(ws, NULL, 0, timeout) <= 0) return 0;
  }
}
static int cmp(const void *a, const void *b) { int64_t x = *(const int64_t *)a, y = *(const int64_t *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: dds_bench ping|pong|source|sink DOMAIN IFACE SIZE COUNT\n"); return 64; }
  const char *mode = argv[1]; uint32_t domain = (uint32_t)atoi(argv[2]), size = (uint32_t)atol(argv[4]);
  long count = atol(argv[5]), warmup = 200;
  char config[512];
  snprintf(config, sizeof config, "<CycloneDDS><Domain Id=\"any\"><General><Interfaces><NetworkInterface name=\"%s\"/>"
           "</Interfaces></General><Internal><MaxSampleSize>%uB</MaxSampleSize></Internal></Domain></CycloneDDS>", argv[3], size + 1024);
  if (dds_create_domain(domain, config) < 0 || size < 8) return 1;
  pp = dds_create_participant(domain, NULL, NULL);
  qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(200));
  dds_qset_history(qos, DDS_HISTORY_KEEP_ALL, 0);
  dds_qset_resource_limits(qos, 64, 1, 64);
  rqos = dds_create_qos();
  dds_copy_qos(rqos, qos);
  dds_qset_resource_limits(rqos, 256, 1, 256);
  int pinging = !strcmp(mode, "ping"), ponging = !strcmp(mode, "pong"), source = !strcmp(mode, "source");
  dds_entity_t wr = 0, rd = 0;
  if (pinging || ponging) { wr = endpoint(pinging ? "shm/rawping" : "shm/rawpong", 1); rd = endpoint(pinging ? "shm/rawpong" : "shm/rawping", 0); }
  else if (source) wr = endpoint("shm/rawstream", 1);
  else rd = endpoint("shm/rawstream", 0);
  dds_entity_t ws = dds_create_waitset(pp);
  if (rd) dds_waitset_attach(ws, dds_create_readcondition(rd, DDS_ANY_STATE), 0);
  uint8_t *buf = calloc(1, size);
  shm_bridge_Message m; memset(&m, 0, sizeof m);
  m.payload._buffer = buf; m.payload._length = m.payload._maximum = size;
  uint64_t seq; uint32_t len;
  if (ponging) {
    printf("ready\n"); fflush(stdout);
    while (take(rd, ws, &seq, &len, DDS_SECS(5))) { m.sequence_number = seq; m.payload._length = len; dds_write(wr, &m); }
  } else if (pinging) {
    int64_t *rtt = malloc(sizeof *rtt * (size_t)count); long n = 0;
    dds_time_t give_up = dds_time() + DDS_SECS(30);
    for (uint64_t i = 1; n < count && dds_time() < give_up; i++) {
      dds_time_t t0 = dds_time(); m.sequence_number = i; dds_write(wr, &m);
      int back = 0;
      while (take(rd, ws, &seq, &len, DDS_MSECS(500))) if (seq == i) { back = 1; break; }
      if (back && (long)i > warmup) rtt[n++] = dds_time() - t0;
    }
    if (n == 0) return 2;
    qsort(rtt, (size_t)n, sizeof *rtt, cmp);
    printf("rtt size %u count %ld median_us %.1f p99_us %.1f\n", size, n, rtt[n / 2] / 1e3, rtt[n * 99 / 100] / 1e3);
  } else if (source) {
    dds_sleepfor(DDS_SECS(2));   /* discovery */
    for (long i = 0; i < count; i++) { m.sequence_number = (uint64_t)i; while (dds_write(wr, &m) == DDS_RETCODE_TIMEOUT) {} }
    dds_sleepfor(DDS_SECS(3));   /* the tail, reliably */
    printf("sent %ld\n", count);
  } else {
    printf("ready\n"); fflush(stdout);
    long n = 0; double bytes = 0; dds_time_t first = 0, last = 0;
    while (n < count && take(rd, ws, &seq, &len, first ? DDS_SECS(3) : DDS_SECS(30))) {
      last = dds_time();
      if (!first) first = last; else { n++; bytes += len; }
    }
    double s = (last - first) / 1e9;
    printf("throughput size %u received %ld msgs_per_s %.0f MiB_per_s %.1f\n", size, n, s > 0 ? n / s : 0, s > 0 ? bytes / s / 1048576 : 0);
  }
  dds_delete(pp);
  return 0;
}
