#include <string.h>
#include "shm_bridge_support.h"

const dds_topic_descriptor_t *shm_bridge_message_descriptor(void) {
    return &shm_bridge_Message_desc;
}

uint32_t shm_bridge_any_state(void) {
    return DDS_ANY_STATE;
}

dds_entity_t shm_bridge_participant_reader(dds_entity_t participant) {
    return dds_create_reader(participant, DDS_BUILTIN_TOPIC_DCPSPARTICIPANT, NULL, NULL);
}

int32_t shm_bridge_count_remote_participants(dds_entity_t reader, dds_entity_t participant) {
    dds_guid_t self;
    if (dds_get_guid(participant, &self) != DDS_RETCODE_OK) return -1;
    enum { most = 256 };
    int32_t alive = 0;
    // read (not take) keeps the instances; the built-in topic keeps one
    // sample per participant, so one read of up to `most` sees them all.
    void *samples[most];
    dds_sample_info_t infos[most];
    memset(samples, 0, sizeof samples);
    dds_return_t n = dds_read(reader, samples, infos, most, most);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        const dds_builtintopic_participant_t *p = samples[i];
        if (infos[i].valid_data && infos[i].instance_state == DDS_ALIVE_INSTANCE_STATE
            && memcmp(&p->key, &self, sizeof self) != 0) {
            alive++;
        }
    }
    if (n > 0) dds_return_loan(reader, samples, n);
    return alive;
}

const dds_topic_descriptor_t *shm_bridge_request_descriptor(void) { return &shm_bridge_Request_desc; }
const dds_topic_descriptor_t *shm_bridge_reply_descriptor(void) { return &shm_bridge_Reply_desc; }
const dds_topic_descriptor_t *shm_bridge_responder_descriptor(void) { return &shm_bridge_Responder_desc; }

int32_t shm_bridge_read_responders(dds_entity_t reader, shm_bridge_responder_entry *entries, int32_t capacity) {
    enum { most = 256 };
    void *samples[most];
    dds_sample_info_t infos[most];
    // Instances that are no longer alive (the responder's writer is gone,
    // by deletion or lease expiry) are taken out, so that they are not kept forever.
    memset(samples, 0, sizeof samples);
    dds_return_t n = dds_take_mask(reader, samples, infos, most, most,
                                   DDS_ANY_SAMPLE_STATE | DDS_ANY_VIEW_STATE
                                   | DDS_NOT_ALIVE_DISPOSED_INSTANCE_STATE | DDS_NOT_ALIVE_NO_WRITERS_INSTANCE_STATE);
    if (n < 0) return n;
    if (n > 0) dds_return_loan(reader, samples, n);
    memset(samples, 0, sizeof samples);
    n = dds_read_mask(reader, samples, infos, most, most,
                      DDS_ANY_SAMPLE_STATE | DDS_ANY_VIEW_STATE | DDS_ALIVE_INSTANCE_STATE);
    if (n < 0) return n;
    int32_t found = 0;
    for (int i = 0; i < n && found < capacity; i++) {
        if (!infos[i].valid_data || infos[i].instance_state != DDS_ALIVE_INSTANCE_STATE) continue;
        const shm_bridge_Responder *r = samples[i];
        memcpy(entries[found].origin, r->origin, 16);
        entries[found].max_payload = r->max_payload;
        entries[found].serving = r->serving;
        found++;
    }
    if (n > 0) dds_return_loan(reader, samples, n);
    return found;
}
