/* group_log: the records of __consumer_offsets, in Kafka's byte format.
 *
 * Kafka's group coordinator (GroupCoordinatorRecordSerde, the
 * OffsetCommitKey/Value and GroupMetadataKey/Value schemas) keys every record
 * with an int16 version that also says what the record is:
 *
 *   key version 0, 1  OffsetCommitKey    group string, topic string, partition int32
 *   key version 2     GroupMetadataKey   group string
 *   key version 3+    KIP-848 consumer groups, share groups, ...: not ours,
 *                     skipped when loading
 *
 * and every value with its own int16 version:
 *
 *   OffsetCommitValue v0-v4 (written: v3) offset int64, leader_epoch int32 (v3+),
 *                     metadata string, commit_timestamp int64,
 *                     expire_timestamp int64 (v1 only); v4 is flexible
 *   GroupMetadataValue v0-v4 (written: v3) protocol_type string,
 *                     generation int32, protocol string?, leader string?,
 *                     current_state_timestamp int64 (v2+), members: [
 *                     member_id, group_instance_id? (v3+), client_id,
 *                     client_host, rebalance_timeout int32 (v1+),
 *                     session_timeout int32, subscription bytes,
 *                     assignment bytes ]; v4 is flexible
 *
 * A null value is a tombstone: the key's offset or group is deleted. Writing
 * these exact bytes lets Kafka's tools (kafka-console-consumer --formatter
 * ...OffsetsMessageFormatter / GroupMetadataMessageFormatter) read the topic.
 *
 * Decoding allocates only the members array; every string is a view into the
 * record's bytes.
 */
#ifndef TERN_GROUP_GROUP_LOG_H
#define TERN_GROUP_GROUP_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/group/group_store.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define GROUP_LOG_TOPIC "__consumer_offsets"

#define GROUP_LOG_OFFSET_KEY_VERSION 1
#define GROUP_LOG_GROUP_KEY_VERSION 2
#define GROUP_LOG_OFFSET_VALUE_VERSION 3
#define GROUP_LOG_GROUP_VALUE_VERSION 3

/* Kafka's partitionFor: Utils.abs(groupId.hashCode) % partitions, where
 * hashCode is Java's String.hashCode over the UTF-16 code units of the id
 * (the id arrives as UTF-8; malformed bytes count as U+FFFD each). A
 * null id hashes like "". `partitions` must be > 0. */
int32_t group_log_partition_for(struct kstr group_id, int32_t partitions);

/* ---- encoding (errors are left in w->err) ---- */

void group_log_offset_key(struct kwriter *w, struct kstr group, struct kstr topic, int32_t partition);
/* `metadata` null is written "" (the field is not nullable). */
void group_log_offset_value(struct kwriter *w, int64_t offset, int32_t leader_epoch, struct kstr metadata,
			    int64_t commit_timestamp_ms);
void group_log_group_key(struct kwriter *w, struct kstr group);
void group_log_group_value(struct kwriter *w, const struct group_store_group *g);

/* ---- decoding ---- */

enum group_log_kind {
	GROUP_LOG_OTHER = 0,  /* a key version this coordinator does not own */
	GROUP_LOG_OFFSET = 1, /* OffsetCommitKey */
	GROUP_LOG_GROUP = 2,  /* GroupMetadataKey */
};

struct group_log_member {
	struct kstr member_id;
	struct kstr group_instance_id; /* null before v3 */
	struct kstr client_id;
	struct kstr client_host;
	int32_t rebalance_timeout_ms; /* the session timeout before v1 */
	int32_t session_timeout_ms;
	struct kbytes subscription;
	struct kbytes assignment;
};

struct group_log_record {
	enum group_log_kind kind;
	int16_t key_version;
	int16_t value_version; /* -1 for a tombstone */
	bool tombstone;        /* null value */
	struct kstr group;
	/* GROUP_LOG_OFFSET */
	struct kstr topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch; /* -1 before v3 */
	struct kstr metadata;
	int64_t commit_timestamp_ms;
	int64_t expire_timestamp_ms; /* -1 unless v1 set one */
	/* GROUP_LOG_GROUP */
	struct kstr protocol_type;
	int32_t generation;
	struct kstr protocol; /* nullable */
	struct kstr leader;   /* nullable */
	int64_t current_state_timestamp_ms; /* -1 before v2 */
	struct group_log_member *members;   /* [members_count], malloc'd */
	int32_t members_count;
};

/* Decodes one record of __consumer_offsets (views into key/value, which
 * must outlive *out). Returns 0 (kind GROUP_LOG_OTHER for a key version
 * that is not ours: skip it), or -1 for bytes that do not parse (null key,
 * truncated, an unknown value version) or no memory. Free with
 * group_log_record_free, also after -1. */
int group_log_decode(struct kbytes key, struct kbytes value, struct group_log_record *out);
void group_log_record_free(struct group_log_record *r);

#endif
