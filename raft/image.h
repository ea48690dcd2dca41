/* image: the metadata image - brokers, topics, partitions, configs and the
 * producer id high-water mark, as of one applied Raft index.
 *
 * An image never changes once it is shared. Applying a record produces a NEW
 * image (copy-on-write): the maps are persistent trees (treaps whose
 * priorities are hashes of the keys) with reference-counted nodes, so a new
 * image copies only the O(log n) nodes on the path to what changed and shares
 * everything else - topics, partitions, brokers, configs - with its parent.
 * Applying a PartitionChange to a 10k-partition image allocates a few dozen
 * small objects, not 10k. Priorities are hashes keyed per process, so
 * clients cannot pick topic names that degrade a tree into a list.
 *
 * Threads: images are built on the Raft thread and read anywhere. Reference
 * counts are atomic; a reader holds an image with image_ref() for as long as
 * it uses anything found in it and drops it with image_unref(), from any
 * thread. Every pointer a lookup returns is a view valid while the caller
 * holds a reference to the image it came from.
 *
 * Apply never fails on a bad payload (a non-zero FSM apply return stops
 * Raft): a record that does not fit the image - a PartitionChange on an
 * unknown topic, a FenceBroker with a stale epoch, a second topic of the same
 * name - is ignored with a logged warning, as KRaft's replay does.
 *
 * A snapshot is the image written as records (raft/records.h frames), so
 * restoring a snapshot and replaying the log run the same code.
 */
#ifndef TERN_RAFT_IMAGE_H
#define TERN_RAFT_IMAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/records.h"

struct metadata_image;
struct image_node;

/* Private header of every shared object: do not touch. */
struct image_obj {
	atomic_uint refs;
	void (*destroy)(struct image_obj *obj);
};

struct image_broker {
	struct image_obj obj; /* private */
	int32_t id;
	uint8_t incarnation_id[16];
	int64_t epoch; /* broker epoch of this registration */
	bool fenced;
	const char *rack; /* NULL: none */
	const struct metadata_endpoint *endpoints; /* [n_endpoints], strings owned */
	size_t n_endpoints;
};

struct image_partition {
	struct image_obj obj; /* private */
	int32_t partition_id;
	int32_t leader; /* METADATA_NO_LEADER (-1) when offline */
	int32_t leader_epoch;
	int32_t partition_epoch; /* bumped by every change */
	struct metadata_id_list replicas; /* preferred order */
	struct metadata_id_list isr;
	struct metadata_id_list removing_replicas;
	struct metadata_id_list adding_replicas;
};

struct image_topic {
	struct image_obj obj; /* private */
	const char *name;
	uint8_t id[16];
	size_t n_partitions;
	struct image_node *partitions; /* private: by partition id */
};

/* ---- lifetime ------------------------------------------------------------ */

/* A new empty image (index 0, term 0, next producer id 0): owned, released
 * with image_unref(). NULL when out of memory. */
struct metadata_image *image_empty(void);
/* Takes another reference; returns img. */
struct metadata_image *image_ref(const struct metadata_image *img);
/* Drops a reference (NULL is ignored); frees on the last one. */
void image_unref(const struct metadata_image *img);

/* Applies `rec` (borrowed) to `cur` (borrowed, unchanged). On success *next
 * is an owned reference to the resulting image - `cur` itself, re-referenced,
 * when the record changed nothing or was ignored. The applied position is
 * carried over from `cur`: see image_set_position(). Returns 0 or -ENOMEM
 * (then *next is untouched and `cur` still valid). */
int image_apply(const struct metadata_image *cur, const struct metadata_record *rec, struct metadata_image **next);

/* Records the last Raft entry reflected in `img`. Only on an image nobody
 * else holds yet (a single reference, e.g. fresh from image_apply() and
 * different from `cur`); returns -EBUSY otherwise. */
int image_set_position(struct metadata_image *img, uint64_t index, uint64_t term);
uint64_t image_last_index(const struct metadata_image *img);
uint64_t image_last_term(const struct metadata_image *img);

/* ---- lookups: views valid while `img` is held ------------------------------ */

const struct image_broker *image_broker(const struct metadata_image *img, int32_t id);
const struct image_topic *image_topic_by_name(const struct metadata_image *img, const char *name);
const struct image_topic *image_topic_by_id(const struct metadata_image *img, const uint8_t id[16]);
const struct image_partition *image_partition(const struct metadata_image *img, const uint8_t topic_id[16],
					      int32_t partition_id);
const struct image_partition *image_topic_partition(const struct image_topic *topic, int32_t partition_id);
/* The value of `key` for a resource, or NULL when not set. */
const char *image_config(const struct metadata_image *img, int8_t resource_type, const char *resource_name,
			 const char *key);
/* The first producer id not yet handed out (0 on an empty image). */
int64_t image_next_producer_id(const struct metadata_image *img);
size_t image_broker_count(const struct metadata_image *img);
size_t image_topic_count(const struct metadata_image *img);

/* ---- iteration: in key order; a non-zero return stops and is returned ----- */

typedef int (*image_broker_cb)(const struct image_broker *broker, void *arg);
typedef int (*image_topic_cb)(const struct image_topic *topic, void *arg);
typedef int (*image_partition_cb)(const struct image_topic *topic, const struct image_partition *partition,
				  void *arg);
typedef int (*image_config_cb)(int8_t resource_type, const char *resource_name, const char *key,
			       const char *value, void *arg);

int image_foreach_broker(const struct metadata_image *img, image_broker_cb cb, void *arg); /* by id */
int image_foreach_topic(const struct metadata_image *img, image_topic_cb cb, void *arg);   /* by name */
int image_foreach_partition(const struct image_topic *topic, image_partition_cb cb, void *arg); /* by id */
/* By (resource type, resource name, key). */
int image_foreach_config(const struct metadata_image *img, image_config_cb cb, void *arg);

/* ---- snapshots ------------------------------------------------------------- */

/* Snapshot layout: "TMDS" | u16 format (1) | u16 0 | u64 last index |
 * u64 last term | u64 record count | that many record frames, in order:
 * ProducerIds, RegisterBroker per broker (with its fenced state), then per
 * topic a Topic and its Partitions (epochs as they are), then Configs. All
 * integers big-endian. The same image always gives the same bytes. */
#define IMAGE_SNAPSHOT_MAGIC "TMDS"
#define IMAGE_SNAPSHOT_FORMAT 1
#define IMAGE_SNAPSHOT_HEADER 32

/* Bytes of the snapshot of `img` (borrowed). Returns 0, or -EMSGSIZE when
 * a record would pass the record bound. */
int image_snapshot_size(const struct metadata_image *img, size_t *len);
/* Writes the snapshot into `buf` (the caller's, e.g. from raft_malloc), of
 * exactly image_snapshot_size() bytes. Returns 0, -EINVAL for another size,
 * or -EMSGSIZE. */
int image_snapshot_write(const struct metadata_image *img, uint8_t *buf, size_t len);
/* Both in one: *buf is an owned malloc'd buffer (free()). Returns 0,
 * -ENOMEM or -EMSGSIZE. */
int image_encode_snapshot(const struct metadata_image *img, uint8_t **buf, size_t *len);
/* Rebuilds an image from snapshot bytes (borrowed). *out is owned. Returns 0,
 * -EBADMSG (bad header, frame or record, trailing bytes, a count that does not
 * match), -ENOTSUP (unknown format or record type) or -ENOMEM. */
int image_from_snapshot(const uint8_t *buf, size_t len, struct metadata_image **out);

/* ---- deltas ---------------------------------------------------------------- */

enum image_change_kind {
	IMAGE_BROKER_CHANGED,    /* old_broker NULL: registered */
	IMAGE_TOPIC_CREATED,     /* topic: new; its partitions follow as PARTITION_CHANGED */
	IMAGE_TOPIC_DELETED,     /* topic: old; after its partitions' PARTITION_CHANGED */
	IMAGE_PARTITION_CHANGED, /* old NULL: created; new NULL: deleted */
	IMAGE_CONFIG_CHANGED,    /* old_value / new_value NULL: unset */
};

/* One change; every pointer is a view into the old or the new image. */
struct image_change {
	enum image_change_kind kind;
	const struct image_broker *old_broker, *new_broker;
	const struct image_topic *topic;
	const struct image_partition *old_partition, *new_partition;
	int8_t resource_type;
	const char *resource_name, *key, *old_value, *new_value;
};

typedef int (*image_diff_cb)(const struct image_change *change, void *arg);

/* Reports what differs from `old` to `new` (both borrowed; either may be
 * NULL for an empty image): brokers by id, then topics by id (a topic
 * recreated under the same name is a deletion and a creation), then configs.
 * Objects shared by both images are skipped without a look inside, so the
 * cost follows the number of topics plus what changed. A non-zero return of
 * `cb` stops and is returned; -ENOMEM when out of memory. */
int image_diff(const struct metadata_image *old, const struct metadata_image *new, image_diff_cb cb, void *arg);

#endif
