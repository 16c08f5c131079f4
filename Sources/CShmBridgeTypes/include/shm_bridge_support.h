// Small helpers for the bridge around the generated shm_bridge_Message type:
// DDS macros Swift cannot import, and a count of remote participants.
#ifndef SHM_BRIDGE_SUPPORT_H
#define SHM_BRIDGE_SUPPORT_H

#include <stdint.h>
#include <dds/dds.h>
#include "shm_bridge.h"

/// The topic descriptor of shm_bridge::Message (the generated global, as a pointer).
const dds_topic_descriptor_t *shm_bridge_message_descriptor(void);

/// DDS_ANY_STATE: a read condition that fires for any sample.
uint32_t shm_bridge_any_state(void);

/// A reader of the built-in participant topic of `participant`'s domain.
dds_entity_t shm_bridge_participant_reader(dds_entity_t participant);

/// How many participants other than `participant` the built-in reader
/// `reader` currently sees alive (at most 256 are counted).
int32_t shm_bridge_count_remote_participants(dds_entity_t reader, dds_entity_t participant);

/// The topic descriptors of the request/response bridge's samples.
const dds_topic_descriptor_t *shm_bridge_request_descriptor(void);
const dds_topic_descriptor_t *shm_bridge_reply_descriptor(void);
const dds_topic_descriptor_t *shm_bridge_responder_descriptor(void);

/// One responder announcement as shm_bridge_read_responders reports it.
typedef struct shm_bridge_responder_entry {
    uint8_t origin[16];
    uint32_t max_payload;
    uint8_t serving;
} shm_bridge_responder_entry;

/// The responders whose announcement instance is alive now: first takes
/// (purges) the instances that are no longer alive, then reads the alive
/// ones (KEEP_LAST 1: one sample each) into `entries`, at most `capacity`.
/// Returns how many, or a negative DDS return code.
int32_t shm_bridge_read_responders(dds_entity_t reader, shm_bridge_responder_entry *entries, int32_t capacity);

#endif
