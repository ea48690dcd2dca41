/* records: the metadata records, and their encoding as Raft entries.
 *
 * One Raft entry holds one record: a 4-byte envelope, then the record's
 * protobuf-c message from raft/metadata.proto.
 *
 *   type     u16 big-endian   enum metadata_record_type (KRaft's apiKey)
 *   version  u16 big-endian   the record's version (RECORDS_VERSION_*)
 *   payload  protobuf         at most RECORDS_MAX_BYTES
 *
 * A record is a plain C struct whose strings and arrays are views: for
 * encoding they are borrowed from the caller; a decoded record owns them and
 * they live until records_free().
 *
 * Decoding never trusts its input: sizes are bounded before anything is
 * allocated, uuids must be 16 bytes, ports and int8/int16 fields must fit,
 * and anything malformed is an error value, never an abort. A record type this
 * build does not know is -ENOTSUP, so the state machine can skip a record
 * written by a newer broker instead of stopping.
 *
 * A sequence of records (a snapshot) is framed as repeated
 * `u32 big-endian length | entry`; see records_frame_next().
 */
#ifndef TERN_RAFT_RECORDS_H
#define TERN_RAFT_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* KRaft's apiKey numbers, so logs and tools line up with Kafka's. */
enum metadata_record_type {
	METADATA_REGISTER_BROKER = 0,
	METADATA_TOPIC = 2,
	METADATA_PARTITION = 3,
	METADATA_CONFIG = 4,
	METADATA_PARTITION_CHANGE = 5,
	METADATA_FENCE_BROKER = 7,
	METADATA_UNFENCE_BROKER = 8,
	METADATA_REMOVE_TOPIC = 9,
	METADATA_PRODUCER_IDS = 15,
};

/* The version this build writes for every record type. */
#define RECORDS_VERSION 0

#define RECORDS_ENVELOPE_BYTES 4
/* Bounds on what a decoder accepts. */
#define RECORDS_MAX_BYTES (1u << 20)   /* payload, bytes */
#define RECORDS_MAX_IDS 4096           /* broker ids in one list */
#define RECORDS_MAX_ENDPOINTS 64       /* per broker */
#define RECORDS_MAX_STRING 32767       /* bytes, as Kafka's STRING */

/* PartitionChange leader values (KRaft's). */
#define METADATA_NO_LEADER (-1)
#define METADATA_LEADER_UNCHANGED (-2)

/* Kafka's ConfigResource.Type ids. */
#define METADATA_RESOURCE_TOPIC 2
#define METADATA_RESOURCE_BROKER 4

struct metadata_id_list {
	const int32_t *ids; /* [n] */
	size_t n;
};

struct metadata_endpoint {
	const char *name; /* listener name */
	const char *host;
	uint16_t port;
	int16_t security_protocol;
};

struct metadata_register_broker {
	int32_t broker_id;
	uint8_t incarnation_id[16];
	int64_t broker_epoch;
	const struct metadata_endpoint *endpoints; /* [n_endpoints] */
	size_t n_endpoints;
	const char *rack; /* NULL: none */
	bool fenced;
};

/* FenceBroker and UnfenceBroker. */
struct metadata_broker_epoch {
	int32_t id;
	int64_t epoch;
};

struct metadata_topic {
	const char *name;
	uint8_t topic_id[16];
};

struct metadata_partition {
	uint8_t topic_id[16];
	int32_t partition_id;
	struct metadata_id_list replicas; /* preferred order */
	struct metadata_id_list isr;
	struct metadata_id_list removing_replicas;
	struct metadata_id_list adding_replicas;
	int32_t leader; /* METADATA_NO_LEADER when none */
	int32_t leader_epoch;
	int32_t partition_epoch;
};

/* Fields whose has_ flag is false, and leader == METADATA_LEADER_UNCHANGED,
 * did not change. */
struct metadata_partition_change {
	uint8_t topic_id[16];
	int32_t partition_id;
	bool has_isr, has_replicas, has_removing_replicas, has_adding_replicas;
	struct metadata_id_list isr;
	struct metadata_id_list replicas;
	struct metadata_id_list removing_replicas;
	struct metadata_id_list adding_replicas;
	int32_t leader;
};

struct metadata_remove_topic {
	uint8_t topic_id[16];
};

struct metadata_config {
	int8_t resource_type; /* METADATA_RESOURCE_* */
	const char *resource_name; /* "" for the cluster-wide broker default */
	const char *name;
	const char *value; /* NULL: delete the key */
};

struct metadata_producer_ids {
	int32_t broker_id;
	int64_t broker_epoch;
	int64_t next_producer_id; /* first id of the next block to hand out */
};

struct metadata_record {
	enum metadata_record_type type;
	uint16_t version;
	union {
		struct metadata_register_broker register_broker;
		struct metadata_broker_epoch fence_broker;
		struct metadata_broker_epoch unfence_broker;
		struct metadata_topic topic;
		struct metadata_partition partition;
		struct metadata_partition_change partition_change;
		struct metadata_remove_topic remove_topic;
		struct metadata_config config;
		struct metadata_producer_ids producer_ids;
	};
};

/* "RegisterBroker", "PartitionChange", ... ("Unknown" otherwise). */
const char *records_type_name(int type);

/* Bytes records_encode_into() writes for `rec` (borrowed), envelope included.
 * Returns 0 with *len set, -EINVAL for an unknown type or a field out of
 * range, -EMSGSIZE when the payload would pass RECORDS_MAX_BYTES. */
int records_encoded_size(const struct metadata_record *rec, size_t *len);
/* Writes exactly the size records_encoded_size() gave into `buf` (caller's,
 * e.g. from raft_malloc). Returns 0 or the same errors. */
int records_encode_into(const struct metadata_record *rec, uint8_t *buf, size_t len);
/* Convenience: *buf is an owned malloc'd buffer of *len bytes (free()).
 * Returns 0, -ENOMEM or the errors above. */
int records_encode(const struct metadata_record *rec, uint8_t **buf, size_t *len);

/* Decodes one entry of `len` bytes (borrowed). On success *out is an owned
 * record, freed with records_free(). Returns 0, -EBADMSG (malformed or out of
 * bounds), -EMSGSIZE (payload over RECORDS_MAX_BYTES), -ENOTSUP (a record
 * type this build does not know) or -ENOMEM. */
int records_decode(const uint8_t *buf, size_t len, struct metadata_record **out);
void records_free(struct metadata_record *rec);

/* Frames: `u32 big-endian length | entry`, one after another. */
#define RECORDS_FRAME_HEADER 4

/* Reads the next frame of [*p, *p + *left): sets *entry and *entry_len to the
 * entry (a view into the input) and advances. Returns 1 when a frame was
 * read, 0 at the exact end of the input, -EBADMSG when the input ends inside
 * a frame or a length passes RECORDS_ENVELOPE_BYTES + RECORDS_MAX_BYTES. */
int records_frame_next(const uint8_t **p, size_t *left, const uint8_t **entry, size_t *entry_len);

#endif
