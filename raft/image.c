#include "raft/image.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "broker/logger.h"

#define IMAGE_LOG "metadata"

struct metadata_image {
	atomic_uint refs;
	uint64_t last_index; /* last Raft entry reflected here; 0: none */
	uint64_t last_term;
	int64_t next_producer_id;
	size_t n_brokers;
	size_t n_topics;
	size_t n_configs;             /* resources with at least one key */
	struct image_node *brokers;   /* struct image_broker by id */
	struct image_node *topics_by_name; /* struct image_topic by name */
	struct image_node *topics_by_id;   /* the same topics by id */
	struct image_node *configs;   /* struct image_config_resource by (type, name) */
};

/* A config resource's key: its type and name. */
struct image_resource_key {
	int8_t type;
	const char *name;
};

/* One resource's configuration: a map key -> value. */
struct image_config_resource {
	struct image_obj obj;
	struct image_resource_key key; /* name owned */
	size_t n_entries; /* > 0 while in an image */
	struct image_node *entries; /* struct image_config_entry by key */
};

struct image_config_entry {
	struct image_obj obj;
	char *key;
	char *value; /* never NULL: unset keys are removed */
};

#include "raft/image_tree.h"

/* ---- keys ------------------------------------------------------------------ */

static uint32_t image_mix(uint32_t h)
{
	/* murmur3's finalizer: spreads every input bit over the priority. */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Priorities are keyed per process, so topic names cannot be chosen to
 * line up priorities with key order and degrade a tree to a list. The shape
 * of a tree is never observable: iteration, snapshots and diffs follow key
 * order. */
static uint32_t image_seed_value;
static pthread_once_t image_seed_once = PTHREAD_ONCE_INIT;

static void image_seed_init(void)
{
	uint32_t s;
	if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
		s = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)&s;
	image_seed_value = s;
}

static uint32_t image_seed(void)
{
	pthread_once(&image_seed_once, image_seed_init);
	return image_seed_value;
}

static uint32_t image_hash_bytes(const void *p, size_t n, uint32_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u; /* FNV-1a */
	return h;
}

static int image_cmp_i32(int32_t a, int32_t b)
{
	return a < b ? -1 : a > b;
}

static uint32_t image_prio_i32(const void *key)
{
	return image_mix((uint32_t)*(const int32_t *)key ^ image_seed());
}

static uint32_t image_prio_str(const void *key)
{
	const char *s = key;
	return image_mix(image_hash_bytes(s, strlen(s), 2166136261u ^ image_seed()));
}

static uint32_t image_prio_uuid(const void *key)
{
	return image_mix(image_hash_bytes(key, 16, 2166136261u ^ image_seed()));
}

static int image_broker_cmp(const void *key, const struct image_obj *v)
{
	return image_cmp_i32(*(const int32_t *)key, ((const struct image_broker *)v)->id);
}
static const void *image_broker_key(const struct image_obj *v)
{
	return &((const struct image_broker *)v)->id;
}
static const struct image_keyops image_broker_ops = {image_broker_cmp, image_broker_key, image_prio_i32};

static int image_topic_name_cmp(const void *key, const struct image_obj *v)
{
	return strcmp(key, ((const struct image_topic *)v)->name);
}
static const void *image_topic_name_key(const struct image_obj *v)
{
	return ((const struct image_topic *)v)->name;
}
static const struct image_keyops image_topic_name_ops = {image_topic_name_cmp, image_topic_name_key,
							 image_prio_str};

static int image_topic_id_cmp(const void *key, const struct image_obj *v)
{
	return memcmp(key, ((const struct image_topic *)v)->id, 16);
}
static const void *image_topic_id_key(const struct image_obj *v)
{
	return ((const struct image_topic *)v)->id;
}
static const struct image_keyops image_topic_id_ops = {image_topic_id_cmp, image_topic_id_key, image_prio_uuid};

static int image_partition_cmp(const void *key, const struct image_obj *v)
{
	return image_cmp_i32(*(const int32_t *)key, ((const struct image_partition *)v)->partition_id);
}
static const void *image_partition_key(const struct image_obj *v)
{
	return &((const struct image_partition *)v)->partition_id;
}
static const struct image_keyops image_partition_ops = {image_partition_cmp, image_partition_key,
							image_prio_i32};

static int image_resource_cmp(const void *key, const struct image_obj *v)
{
	const struct image_resource_key *k = key;
	const struct image_resource_key *r = &((const struct image_config_resource *)v)->key;
	if (k->type != r->type)
		return k->type < r->type ? -1 : 1;
	return strcmp(k->name, r->name);
}
static const void *image_resource_key(const struct image_obj *v)
{
	return &((const struct image_config_resource *)v)->key;
}
static uint32_t image_prio_resource(const void *key)
{
	const struct image_resource_key *k = key;
	return image_mix(image_hash_bytes(k->name, strlen(k->name), (2166136261u ^ image_seed()) + (uint8_t)k->type));
}
static const struct image_keyops image_resource_ops = {image_resource_cmp, image_resource_key, image_prio_resource};

static int image_entry_cmp(const void *key, const struct image_obj *v)
{
	return strcmp(key, ((const struct image_config_entry *)v)->key);
}
static const void *image_entry_key(const struct image_obj *v)
{
	return ((const struct image_config_entry *)v)->key;
}
static const struct image_keyops image_entry_ops = {image_entry_cmp, image_entry_key, image_prio_str};

/* ---- objects ----------------------------------------------------------------- */

static char *image_strdup(const char *s, bool *ok)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

static void image_broker_destroy(struct image_obj *o)
{
	struct image_broker *b = (struct image_broker *)o;
	struct metadata_endpoint *eps = (struct metadata_endpoint *)b->endpoints;
	for (size_t i = 0; eps != NULL && i < b->n_endpoints; i++) {
		free((char *)eps[i].name);
		free((char *)eps[i].host);
	}
	free(eps);
	free((char *)b->rack);
	free(b);
}

/* A broker from a registration (borrowed; everything is copied). */
static struct image_broker *image_broker_new(const struct metadata_register_broker *r)
{
	struct image_broker *b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	image_tree_obj_init(&b->obj, image_broker_destroy);
	b->id = r->broker_id;
	memcpy(b->incarnation_id, r->incarnation_id, 16);
	b->epoch = r->broker_epoch;
	b->fenced = r->fenced;
	bool ok = true;
	b->rack = image_strdup(r->rack, &ok);
	if (r->n_endpoints > 0) {
		struct metadata_endpoint *eps = calloc(r->n_endpoints, sizeof *eps);
		if (eps == NULL) {
			ok = false;
		} else {
			b->endpoints = eps;
			b->n_endpoints = r->n_endpoints;
			for (size_t i = 0; i < r->n_endpoints; i++) {
				eps[i].name = image_strdup(r->endpoints[i].name ? r->endpoints[i].name : "", &ok);
				eps[i].host = image_strdup(r->endpoints[i].host ? r->endpoints[i].host : "", &ok);
				eps[i].port = r->endpoints[i].port;
				eps[i].security_protocol = r->endpoints[i].security_protocol;
			}
		}
	}
	if (!ok) {
		image_broker_destroy(&b->obj);
		return NULL;
	}
	return b;
}

/* The registration a broker was built from. */
static struct metadata_register_broker image_broker_registration(const struct image_broker *b)
{
	struct metadata_register_broker r = {
		.broker_id = b->id,
		.broker_epoch = b->epoch,
		.endpoints = b->endpoints,
		.n_endpoints = b->n_endpoints,
		.rack = b->rack,
		.fenced = b->fenced,
	};
	memcpy(r.incarnation_id, b->incarnation_id, 16);
	return r;
}

static void image_partition_destroy(struct image_obj *o)
{
	struct image_partition *p = (struct image_partition *)o;
	free((int32_t *)p->replicas.ids);
	free((int32_t *)p->isr.ids);
	free((int32_t *)p->removing_replicas.ids);
	free((int32_t *)p->adding_replicas.ids);
	free(p);
}

static bool image_ids_copy(struct metadata_id_list *dst, const struct metadata_id_list *src)
{
	dst->n = 0;
	dst->ids = NULL;
	if (src->n == 0)
		return true;
	int32_t *ids = malloc(src->n * sizeof *ids);
	if (ids == NULL)
		return false;
	memcpy(ids, src->ids, src->n * sizeof *ids);
	dst->ids = ids;
	dst->n = src->n;
	return true;
}

/* A partition from a PartitionRecord's fields (lists borrowed, copied). */
static struct image_partition *image_partition_new(const struct metadata_partition *r)
{
	struct image_partition *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	image_tree_obj_init(&p->obj, image_partition_destroy);
	p->partition_id = r->partition_id;
	p->leader = r->leader;
	p->leader_epoch = r->leader_epoch;
	p->partition_epoch = r->partition_epoch;
	if (!image_ids_copy(&p->replicas, &r->replicas) || !image_ids_copy(&p->isr, &r->isr) ||
	    !image_ids_copy(&p->removing_replicas, &r->removing_replicas) ||
	    !image_ids_copy(&p->adding_replicas, &r->adding_replicas)) {
		image_partition_destroy(&p->obj);
		return NULL;
	}
	return p;
}

static struct metadata_partition image_partition_record(const struct image_topic *t, const struct image_partition *p)
{
	struct metadata_partition r = {
		.partition_id = p->partition_id,
		.replicas = p->replicas,
		.isr = p->isr,
		.removing_replicas = p->removing_replicas,
		.adding_replicas = p->adding_replicas,
		.leader = p->leader,
		.leader_epoch = p->leader_epoch,
		.partition_epoch = p->partition_epoch,
	};
	memcpy(r.topic_id, t->id, 16);
	return r;
}

static void image_topic_destroy(struct image_obj *o)
{
	struct image_topic *t = (struct image_topic *)o;
	image_tree_node_unref(t->partitions);
	free((char *)t->name);
	free(t);
}

/* `partitions` is owned (released on failure). */
static struct image_topic *image_topic_new(const char *name, const uint8_t id[16], struct image_node *partitions,
					   size_t n_partitions)
{
	struct image_topic *t = calloc(1, sizeof *t);
	char *n = strdup(name);
	if (t == NULL || n == NULL) {
		free(t);
		free(n);
		image_tree_node_unref(partitions);
		return NULL;
	}
	image_tree_obj_init(&t->obj, image_topic_destroy);
	t->name = n;
	memcpy(t->id, id, 16);
	t->partitions = partitions;
	t->n_partitions = n_partitions;
	return t;
}

static void image_entry_destroy(struct image_obj *o)
{
	struct image_config_entry *e = (struct image_config_entry *)o;
	free(e->key);
	free(e->value);
	free(e);
}

static struct image_config_entry *image_entry_new(const char *key, const char *value)
{
	struct image_config_entry *e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	image_tree_obj_init(&e->obj, image_entry_destroy);
	e->key = strdup(key);
	e->value = strdup(value);
	if (e->key == NULL || e->value == NULL) {
		image_entry_destroy(&e->obj);
		return NULL;
	}
	return e;
}

static void image_resource_destroy(struct image_obj *o)
{
	struct image_config_resource *r = (struct image_config_resource *)o;
	image_tree_node_unref(r->entries);
	free((char *)r->key.name);
	free(r);
}

/* `entries` is owned (released on failure). */
static struct image_config_resource *image_resource_new(const struct image_resource_key *key,
							struct image_node *entries, size_t n_entries)
{
	struct image_config_resource *r = calloc(1, sizeof *r);
	char *name = strdup(key->name);
	if (r == NULL || name == NULL) {
		free(r);
		free(name);
		image_tree_node_unref(entries);
		return NULL;
	}
	image_tree_obj_init(&r->obj, image_resource_destroy);
	r->key.type = key->type;
	r->key.name = name;
	r->entries = entries;
	r->n_entries = n_entries;
	return r;
}

/* ---- images ------------------------------------------------------------------ */

struct metadata_image *image_empty(void)
{
	struct metadata_image *img = calloc(1, sizeof *img);
	if (img != NULL)
		atomic_init(&img->refs, 1);
	return img;
}

struct metadata_image *image_ref(const struct metadata_image *img)
{
	struct metadata_image *m = (struct metadata_image *)img;
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

void image_unref(const struct metadata_image *img)
{
	struct metadata_image *m = (struct metadata_image *)img;
	if (m == NULL || atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	image_tree_node_unref(m->brokers);
	image_tree_node_unref(m->topics_by_name);
	image_tree_node_unref(m->topics_by_id);
	image_tree_node_unref(m->configs);
	free(m);
}

/* A private copy of cur sharing every tree. */
static struct metadata_image *image_copy(const struct metadata_image *cur)
{
	struct metadata_image *img = malloc(sizeof *img);
	if (img == NULL)
		return NULL;
	*img = *cur;
	atomic_init(&img->refs, 1);
	image_tree_node_ref(img->brokers);
	image_tree_node_ref(img->topics_by_name);
	image_tree_node_ref(img->topics_by_id);
	image_tree_node_ref(img->configs);
	return img;
}

int image_set_position(struct metadata_image *img, uint64_t index, uint64_t term)
{
	if (atomic_load_explicit(&img->refs, memory_order_acquire) != 1)
		return -EBUSY;
	img->last_index = index;
	img->last_term = term;
	return 0;
}

uint64_t image_last_index(const struct metadata_image *img)
{
	return img->last_index;
}

uint64_t image_last_term(const struct metadata_image *img)
{
	return img->last_term;
}

/* ---- lookups ----------------------------------------------------------------- */

const struct image_broker *image_broker(const struct metadata_image *img, int32_t id)
{
	return (const struct image_broker *)image_tree_find(img->brokers, &image_broker_ops, &id);
}

const struct image_topic *image_topic_by_name(const struct metadata_image *img, const char *name)
{
	if (name == NULL)
		return NULL;
	return (const struct image_topic *)image_tree_find(img->topics_by_name, &image_topic_name_ops, name);
}

const struct image_topic *image_topic_by_id(const struct metadata_image *img, const uint8_t id[16])
{
	return (const struct image_topic *)image_tree_find(img->topics_by_id, &image_topic_id_ops, id);
}

const struct image_partition *image_topic_partition(const struct image_topic *topic, int32_t partition_id)
{
	if (topic == NULL)
		return NULL;
	return (const struct image_partition *)image_tree_find(topic->partitions, &image_partition_ops,
								 &partition_id);
}

const struct image_partition *image_partition(const struct metadata_image *img, const uint8_t topic_id[16],
					      int32_t partition_id)
{
	return image_topic_partition(image_topic_by_id(img, topic_id), partition_id);
}

static const struct image_config_resource *image_resource(const struct metadata_image *img, int8_t type,
							  const char *name)
{
	struct image_resource_key key = {.type = type, .name = name};
	return (const struct image_config_resource *)image_tree_find(img->configs, &image_resource_ops, &key);
}

const char *image_config(const struct metadata_image *img, int8_t resource_type, const char *resource_name,
			 const char *key)
{
	if (resource_name == NULL || key == NULL)
		return NULL;
	const struct image_config_resource *r = image_resource(img, resource_type, resource_name);
	if (r == NULL)
		return NULL;
	const struct image_config_entry *e =
		(const struct image_config_entry *)image_tree_find(r->entries, &image_entry_ops, key);
	return e != NULL ? e->value : NULL;
}

int64_t image_next_producer_id(const struct metadata_image *img)
{
	return img->next_producer_id;
}

size_t image_broker_count(const struct metadata_image *img)
{
	return img->n_brokers;
}

size_t image_topic_count(const struct metadata_image *img)
{
	return img->n_topics;
}

/* ---- apply ------------------------------------------------------------------- */

/* Kafka's printed form of a uuid: base64url without padding. */
static void image_uuid_str(const uint8_t id[16], char out[23])
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < 16; i += 3) {
		uint32_t v = (uint32_t)id[i] << 16;
		if (i + 1 < 16)
			v |= (uint32_t)id[i + 1] << 8;
		if (i + 2 < 16)
			v |= id[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		if (i + 1 < 16)
			out[o++] = abc[(v >> 6) & 63];
		if (i + 2 < 16)
			out[o++] = abc[v & 63];
	}
	out[o] = '\0';
}

static int image_apply_register_broker(struct metadata_image *img, const struct metadata_register_broker *r,
				       bool *changed)
{
	if (r->broker_id < 0) {
		tlog(TLOG_WARN, IMAGE_LOG, "RegisterBroker ignored: broker id %" PRId32 " is negative", r->broker_id);
		return 0;
	}
	bool existed = image_broker(img, r->broker_id) != NULL;
	struct image_broker *b = image_broker_new(r);
	if (b == NULL)
		return -ENOMEM;
	int rc = image_tree_put(&img->brokers, &image_broker_ops, &b->obj);
	image_tree_obj_unref(&b->obj);
	if (rc != 0)
		return rc;
	if (!existed)
		img->n_brokers++;
	*changed = true;
	return 0;
}

static int image_apply_fence(struct metadata_image *img, const struct metadata_broker_epoch *e, bool fenced,
			     bool *changed)
{
	const char *what = fenced ? "FenceBroker" : "UnfenceBroker";
	const struct image_broker *old = image_broker(img, e->id);
	if (old == NULL) {
		tlog(TLOG_WARN, IMAGE_LOG, "%s ignored: broker %" PRId32 " is not registered", what, e->id);
		return 0;
	}
	if (old->epoch != e->epoch) {
		tlog(TLOG_WARN, IMAGE_LOG, "%s ignored: broker %" PRId32 " epoch %" PRId64 ", registered %" PRId64,
		     what, e->id, e->epoch, old->epoch);
		return 0;
	}
	if (old->fenced == fenced)
		return 0;
	struct metadata_register_broker r = image_broker_registration(old);
	r.fenced = fenced;
	struct image_broker *b = image_broker_new(&r);
	if (b == NULL)
		return -ENOMEM;
	int rc = image_tree_put(&img->brokers, &image_broker_ops, &b->obj);
	image_tree_obj_unref(&b->obj);
	if (rc == 0)
		*changed = true;
	return rc;
}

static int image_apply_topic(struct metadata_image *img, const struct metadata_topic *r, bool *changed)
{
	char id[23];
	image_uuid_str(r->topic_id, id);
	if (r->name == NULL || r->name[0] == '\0') {
		tlog(TLOG_WARN, IMAGE_LOG, "Topic ignored: empty name for id %s", id);
		return 0;
	}
	const struct image_topic *by_name = image_topic_by_name(img, r->name);
	const struct image_topic *by_id = image_topic_by_id(img, r->topic_id);
	if (by_name != NULL && by_name == by_id)
		return 0; /* the same record again */
	if (by_name != NULL || by_id != NULL) {
		tlog(TLOG_WARN, IMAGE_LOG, "Topic ignored: %s (id %s) conflicts with an existing topic %s",
		     r->name, id, by_name != NULL ? "name" : "id");
		return 0;
	}
	struct image_topic *t = image_topic_new(r->name, r->topic_id, NULL, 0);
	if (t == NULL)
		return -ENOMEM;
	int rc = image_tree_put(&img->topics_by_name, &image_topic_name_ops, &t->obj);
	if (rc == 0)
		rc = image_tree_put(&img->topics_by_id, &image_topic_id_ops, &t->obj);
	image_tree_obj_unref(&t->obj);
	if (rc != 0)
		return rc;
	img->n_topics++;
	*changed = true;
	return 0;
}

/* Replaces `old` (in img) by a copy whose partition `p` (borrowed) is set. */
static int image_put_partition(struct metadata_image *img, const struct image_topic *old, struct image_partition *p)
{
	bool existed = image_topic_partition(old, p->partition_id) != NULL;
	struct image_node *parts = image_tree_node_ref(old->partitions);
	int rc = image_tree_put(&parts, &image_partition_ops, &p->obj);
	if (rc != 0) {
		image_tree_node_unref(parts);
		return rc;
	}
	struct image_topic *t = image_topic_new(old->name, old->id, parts, old->n_partitions + (existed ? 0 : 1));
	if (t == NULL)
		return -ENOMEM;
	rc = image_tree_put(&img->topics_by_name, &image_topic_name_ops, &t->obj);
	if (rc == 0)
		rc = image_tree_put(&img->topics_by_id, &image_topic_id_ops, &t->obj);
	image_tree_obj_unref(&t->obj);
	return rc;
}

static int image_apply_partition(struct metadata_image *img, const struct metadata_partition *r, bool *changed)
{
	const struct image_topic *t = image_topic_by_id(img, r->topic_id);
	if (t == NULL || r->partition_id < 0) {
		char id[23];
		image_uuid_str(r->topic_id, id);
		tlog(TLOG_WARN, IMAGE_LOG, "Partition ignored: %s %s-%" PRId32, t == NULL ? "unknown topic id" : "bad id",
		     id, r->partition_id);
		return 0;
	}
	struct image_partition *p = image_partition_new(r);
	if (p == NULL)
		return -ENOMEM;
	int rc = image_put_partition(img, t, p);
	image_tree_obj_unref(&p->obj);
	if (rc == 0)
		*changed = true;
	return rc;
}

/* As KRaft's PartitionRegistration.merge: absent fields keep their value, a
 * present leader bumps leader_epoch, every change bumps partition_epoch. */
static int image_apply_partition_change(struct metadata_image *img, const struct metadata_partition_change *c,
					bool *changed)
{
	char id[23];
	const struct image_topic *t = image_topic_by_id(img, c->topic_id);
	const struct image_partition *old = image_topic_partition(t, c->partition_id);
	if (old == NULL) {
		image_uuid_str(c->topic_id, id);
		tlog(TLOG_WARN, IMAGE_LOG, "PartitionChange ignored: unknown %s %s-%" PRId32,
		     t == NULL ? "topic id" : "partition", id, c->partition_id);
		return 0;
	}
	bool new_leader = c->leader != METADATA_LEADER_UNCHANGED;
	if ((new_leader && c->leader < METADATA_NO_LEADER) || old->partition_epoch == INT32_MAX ||
	    (new_leader && old->leader_epoch == INT32_MAX)) {
		tlog(TLOG_WARN, IMAGE_LOG,
		     "PartitionChange ignored: %s-%" PRId32 " leader %" PRId32 " or an epoch out of range", t->name,
		     c->partition_id, c->leader);
		return 0;
	}
	struct metadata_partition r = image_partition_record(t, old);
	if (c->has_replicas)
		r.replicas = c->replicas;
	if (c->has_isr)
		r.isr = c->isr;
	if (c->has_removing_replicas)
		r.removing_replicas = c->removing_replicas;
	if (c->has_adding_replicas)
		r.adding_replicas = c->adding_replicas;
	if (new_leader) {
		r.leader = c->leader;
		r.leader_epoch = old->leader_epoch + 1;
	}
	r.partition_epoch = old->partition_epoch + 1;
	struct image_partition *p = image_partition_new(&r);
	if (p == NULL)
		return -ENOMEM;
	int rc = image_put_partition(img, t, p);
	image_tree_obj_unref(&p->obj);
	if (rc == 0)
		*changed = true;
	return rc;
}

static int image_apply_remove_topic(struct metadata_image *img, const struct metadata_remove_topic *r, bool *changed)
{
	/* t stays alive while this runs: the image being applied to holds it. */
	const struct image_topic *t = image_topic_by_id(img, r->topic_id);
	if (t == NULL) {
		char id[23];
		image_uuid_str(r->topic_id, id);
		tlog(TLOG_WARN, IMAGE_LOG, "RemoveTopic ignored: unknown topic id %s", id);
		return 0;
	}
	struct image_obj *hold = image_tree_obj_ref((struct image_obj *)&t->obj);
	int rc = image_tree_del(&img->topics_by_name, &image_topic_name_ops, t->name);
	if (rc == 0)
		rc = image_tree_del(&img->topics_by_id, &image_topic_id_ops, t->id);
	/* KRaft drops the topic's configs with it. */
	struct image_resource_key key = {.type = METADATA_RESOURCE_TOPIC, .name = t->name};
	if (rc == 0 && image_tree_find(img->configs, &image_resource_ops, &key) != NULL) {
		rc = image_tree_del(&img->configs, &image_resource_ops, &key);
		if (rc == 0)
			img->n_configs--;
	}
	image_tree_obj_unref(hold);
	if (rc != 0)
		return rc;
	img->n_topics--;
	*changed = true;
	return 0;
}

static int image_apply_config(struct metadata_image *img, const struct metadata_config *c, bool *changed)
{
	if (c->resource_name == NULL || c->name == NULL) {
		tlog(TLOG_WARN, IMAGE_LOG, "Config ignored: no resource name or key");
		return 0;
	}
	struct image_resource_key key = {.type = c->resource_type, .name = c->resource_name};
	const struct image_config_resource *res = image_resource(img, c->resource_type, c->resource_name);
	const struct image_config_entry *old =
		res != NULL ? (const struct image_config_entry *)image_tree_find(res->entries, &image_entry_ops, c->name)
			    : NULL;
	int rc;
	if (c->value == NULL) {
		if (old == NULL)
			return 0;
		if (res->n_entries == 1) {
			rc = image_tree_del(&img->configs, &image_resource_ops, &key);
			if (rc == 0)
				img->n_configs--;
		} else {
			struct image_node *entries = image_tree_node_ref(res->entries);
			rc = image_tree_del(&entries, &image_entry_ops, c->name);
			if (rc != 0) {
				image_tree_node_unref(entries);
				return rc;
			}
			struct image_config_resource *nr = image_resource_new(&key, entries, res->n_entries - 1);
			if (nr == NULL)
				return -ENOMEM;
			rc = image_tree_put(&img->configs, &image_resource_ops, &nr->obj);
			image_tree_obj_unref(&nr->obj);
		}
	} else {
		if (old != NULL && strcmp(old->value, c->value) == 0)
			return 0;
		struct image_config_entry *e = image_entry_new(c->name, c->value);
		if (e == NULL)
			return -ENOMEM;
		struct image_node *entries = res != NULL ? image_tree_node_ref(res->entries) : NULL;
		rc = image_tree_put(&entries, &image_entry_ops, &e->obj);
		image_tree_obj_unref(&e->obj);
		if (rc != 0) {
			image_tree_node_unref(entries);
			return rc;
		}
		size_t n = (res != NULL ? res->n_entries : 0) + (old != NULL ? 0 : 1);
		struct image_config_resource *nr = image_resource_new(&key, entries, n);
		if (nr == NULL)
			return -ENOMEM;
		rc = image_tree_put(&img->configs, &image_resource_ops, &nr->obj);
		image_tree_obj_unref(&nr->obj);
		if (rc == 0 && res == NULL)
			img->n_configs++;
	}
	if (rc == 0)
		*changed = true;
	return rc;
}

static int image_apply_producer_ids(struct metadata_image *img, const struct metadata_producer_ids *r, bool *changed)
{
	if (r->next_producer_id == img->next_producer_id)
		return 0;
	if (r->next_producer_id < img->next_producer_id) {
		tlog(TLOG_WARN, IMAGE_LOG,
		     "ProducerIds ignored: next producer id %" PRId64 " from broker %" PRId32 " is below %" PRId64,
		     r->next_producer_id, r->broker_id, img->next_producer_id);
		return 0;
	}
	img->next_producer_id = r->next_producer_id;
	*changed = true;
	return 0;
}

int image_apply(const struct metadata_image *cur, const struct metadata_record *rec, struct metadata_image **next)
{
	struct metadata_image *img = image_copy(cur);
	if (img == NULL)
		return -ENOMEM;
	bool changed = false;
	int rc = 0;
	switch (rec->type) {
	case METADATA_REGISTER_BROKER:
		rc = image_apply_register_broker(img, &rec->register_broker, &changed);
		break;
	case METADATA_FENCE_BROKER:
		rc = image_apply_fence(img, &rec->fence_broker, true, &changed);
		break;
	case METADATA_UNFENCE_BROKER:
		rc = image_apply_fence(img, &rec->unfence_broker, false, &changed);
		break;
	case METADATA_TOPIC:
		rc = image_apply_topic(img, &rec->topic, &changed);
		break;
	case METADATA_PARTITION:
		rc = image_apply_partition(img, &rec->partition, &changed);
		break;
	case METADATA_PARTITION_CHANGE:
		rc = image_apply_partition_change(img, &rec->partition_change, &changed);
		break;
	case METADATA_REMOVE_TOPIC:
		rc = image_apply_remove_topic(img, &rec->remove_topic, &changed);
		break;
	case METADATA_CONFIG:
		rc = image_apply_config(img, &rec->config, &changed);
		break;
	case METADATA_PRODUCER_IDS:
		rc = image_apply_producer_ids(img, &rec->producer_ids, &changed);
		break;
	default:
		tlog(TLOG_WARN, IMAGE_LOG, "record type %d ignored: unknown", (int)rec->type);
		break;
	}
	if (rc != 0 || !changed) {
		image_unref(img);
		if (rc != 0)
			return rc;
		*next = image_ref(cur);
		return 0;
	}
	*next = img;
	return 0;
}

/* ---- iteration --------------------------------------------------------------- */

struct image_each {
	union {
		image_broker_cb broker;
		image_topic_cb topic;
		image_partition_cb partition;
		image_config_cb config;
	} cb;
	void *arg;
	const struct image_topic *topic;
	const struct image_config_resource *resource;
};

static int image_each_broker_fn(struct image_obj *v, void *arg)
{
	struct image_each *e = arg;
	return e->cb.broker((const struct image_broker *)v, e->arg);
}

static int image_each_topic_fn(struct image_obj *v, void *arg)
{
	struct image_each *e = arg;
	return e->cb.topic((const struct image_topic *)v, e->arg);
}

static int image_each_partition_fn(struct image_obj *v, void *arg)
{
	struct image_each *e = arg;
	return e->cb.partition(e->topic, (const struct image_partition *)v, e->arg);
}

static int image_each_entry_fn(struct image_obj *v, void *arg)
{
	struct image_each *e = arg;
	const struct image_config_entry *entry = (const struct image_config_entry *)v;
	return e->cb.config(e->resource->key.type, e->resource->key.name, entry->key, entry->value,
					e->arg);
}

static int image_each_resource_fn(struct image_obj *v, void *arg)
{
	struct image_each *e = arg;
	e->resource = (const struct image_config_resource *)v;
	return image_tree_each(e->resource->entries, image_each_entry_fn, e);
}

int image_foreach_broker(const struct metadata_image *img, image_broker_cb cb, void *arg)
{
	struct image_each e = {.cb.broker = cb, .arg = arg};
	return image_tree_each(img->brokers, image_each_broker_fn, &e);
}

int image_foreach_topic(const struct metadata_image *img, image_topic_cb cb, void *arg)
{
	struct image_each e = {.cb.topic = cb, .arg = arg};
	return image_tree_each(img->topics_by_name, image_each_topic_fn, &e);
}

int image_foreach_partition(const struct image_topic *topic, image_partition_cb cb, void *arg)
{
	struct image_each e = {.cb.partition = cb, .arg = arg, .topic = topic};
	return image_tree_each(topic->partitions, image_each_partition_fn, &e);
}

int image_foreach_config(const struct metadata_image *img, image_config_cb cb, void *arg)
{
	struct image_each e = {.cb.config = cb, .arg = arg};
	return image_tree_each(img->configs, image_each_resource_fn, &e);
}

/* ---- snapshots --------------------------------------------------------------- */

typedef int (*image_sink_fn)(const struct metadata_record *rec, void *arg);

struct image_walk {
	image_sink_fn sink;
	void *arg;
	const struct image_topic *topic;
	const struct image_config_resource *resource;
};

static int image_walk_broker_fn(struct image_obj *v, void *arg)
{
	struct image_walk *w = arg;
	struct metadata_record rec = {.type = METADATA_REGISTER_BROKER, .version = RECORDS_VERSION};
	rec.register_broker = image_broker_registration((const struct image_broker *)v);
	return w->sink(&rec, w->arg);
}

static int image_walk_partition_fn(struct image_obj *v, void *arg)
{
	struct image_walk *w = arg;
	struct metadata_record rec = {.type = METADATA_PARTITION, .version = RECORDS_VERSION};
	rec.partition = image_partition_record(w->topic, (const struct image_partition *)v);
	return w->sink(&rec, w->arg);
}

static int image_walk_topic_fn(struct image_obj *v, void *arg)
{
	struct image_walk *w = arg;
	const struct image_topic *t = (const struct image_topic *)v;
	struct metadata_record rec = {.type = METADATA_TOPIC, .version = RECORDS_VERSION};
	rec.topic.name = t->name;
	memcpy(rec.topic.topic_id, t->id, 16);
	int rc = w->sink(&rec, w->arg);
	if (rc != 0)
		return rc;
	w->topic = t;
	return image_tree_each(t->partitions, image_walk_partition_fn, w);
}

static int image_walk_entry_fn(struct image_obj *v, void *arg)
{
	struct image_walk *w = arg;
	const struct image_config_entry *e = (const struct image_config_entry *)v;
	struct metadata_record rec = {.type = METADATA_CONFIG, .version = RECORDS_VERSION};
	rec.config = (struct metadata_config){
		.resource_type = w->resource->key.type,
		.resource_name = w->resource->key.name,
		.name = e->key,
		.value = e->value,
	};
	return w->sink(&rec, w->arg);
}

static int image_walk_resource_fn(struct image_obj *v, void *arg)
{
	struct image_walk *w = arg;
	w->resource = (const struct image_config_resource *)v;
	return image_tree_each(w->resource->entries, image_walk_entry_fn, w);
}

/* Feeds `sink` the records that rebuild img, in snapshot order. */
static int image_walk(const struct metadata_image *img, image_sink_fn sink, void *arg)
{
	struct image_walk w = {.sink = sink, .arg = arg};
	int rc = 0;
	if (img->next_producer_id > 0) {
		struct metadata_record rec = {.type = METADATA_PRODUCER_IDS, .version = RECORDS_VERSION};
		rec.producer_ids = (struct metadata_producer_ids){
			.broker_id = -1,
			.broker_epoch = -1,
			.next_producer_id = img->next_producer_id,
		};
		rc = sink(&rec, arg);
	}
	if (rc == 0)
		rc = image_tree_each(img->brokers, image_walk_broker_fn, &w);
	if (rc == 0)
		rc = image_tree_each(img->topics_by_name, image_walk_topic_fn, &w);
	if (rc == 0)
		rc = image_tree_each(img->configs, image_walk_resource_fn, &w);
	return rc;
}

struct image_snapshot_out {
	uint8_t *buf; /* NULL while sizing */
	size_t len;   /* bytes counted or written */
	uint64_t count;
};

static void image_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void image_put_u32(uint8_t *p, uint32_t v)
{
	image_put_u16(p, (uint16_t)(v >> 16));
	image_put_u16(p + 2, (uint16_t)v);
}

static void image_put_u64(uint8_t *p, uint64_t v)
{
	image_put_u32(p, (uint32_t)(v >> 32));
	image_put_u32(p + 4, (uint32_t)v);
}

static uint64_t image_get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static int image_snapshot_sink(const struct metadata_record *rec, void *arg)
{
	struct image_snapshot_out *o = arg;
	size_t n;
	int rc = records_encoded_size(rec, &n);
	if (rc != 0)
		return rc == -EINVAL ? -EMSGSIZE : rc;
	if (o->buf != NULL) {
		image_put_u32(o->buf + o->len, (uint32_t)n);
		rc = records_encode_into(rec, o->buf + o->len + RECORDS_FRAME_HEADER, n);
		if (rc != 0)
			return rc;
	}
	o->len += RECORDS_FRAME_HEADER + n;
	o->count++;
	return 0;
}

int image_snapshot_size(const struct metadata_image *img, size_t *len)
{
	struct image_snapshot_out o = {.len = IMAGE_SNAPSHOT_HEADER};
	int rc = image_walk(img, image_snapshot_sink, &o);
	if (rc == 0)
		*len = o.len;
	return rc;
}

int image_snapshot_write(const struct metadata_image *img, uint8_t *buf, size_t len)
{
	if (len < IMAGE_SNAPSHOT_HEADER)
		return -EINVAL;
	/* Size first, so nothing is written past `len`. */
	struct image_snapshot_out o = {.len = IMAGE_SNAPSHOT_HEADER};
	int rc = image_walk(img, image_snapshot_sink, &o);
	if (rc != 0)
		return rc;
	if (o.len != len)
		return -EINVAL;
	uint64_t count = o.count;
	memcpy(buf, IMAGE_SNAPSHOT_MAGIC, 4);
	image_put_u16(buf + 4, IMAGE_SNAPSHOT_FORMAT);
	image_put_u16(buf + 6, 0);
	image_put_u64(buf + 8, img->last_index);
	image_put_u64(buf + 16, img->last_term);
	image_put_u64(buf + 24, count);
	o = (struct image_snapshot_out){.buf = buf, .len = IMAGE_SNAPSHOT_HEADER};
	return image_walk(img, image_snapshot_sink, &o);
}

int image_encode_snapshot(const struct metadata_image *img, uint8_t **buf, size_t *len)
{
	size_t n;
	int rc = image_snapshot_size(img, &n);
	if (rc != 0)
		return rc;
	uint8_t *b = malloc(n);
	if (b == NULL)
		return -ENOMEM;
	rc = image_snapshot_write(img, b, n);
	if (rc != 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

int image_from_snapshot(const uint8_t *buf, size_t len, struct metadata_image **out)
{
	if (buf == NULL || len < IMAGE_SNAPSHOT_HEADER || memcmp(buf, IMAGE_SNAPSHOT_MAGIC, 4) != 0)
		return -EBADMSG;
	if (((buf[4] << 8) | buf[5]) != IMAGE_SNAPSHOT_FORMAT)
		return -ENOTSUP;
	uint64_t index = image_get_u64(buf + 8);
	uint64_t term = image_get_u64(buf + 16);
	uint64_t count = image_get_u64(buf + 24);
	const uint8_t *p = buf + IMAGE_SNAPSHOT_HEADER;
	size_t left = len - IMAGE_SNAPSHOT_HEADER;
	if (count > left / (RECORDS_FRAME_HEADER + RECORDS_ENVELOPE_BYTES))
		return -EBADMSG;

	struct metadata_image *img = image_empty();
	if (img == NULL)
		return -ENOMEM;
	int rc = 0;
	uint64_t seen = 0;
	for (;;) {
		const uint8_t *entry;
		size_t entry_len;
		rc = records_frame_next(&p, &left, &entry, &entry_len);
		if (rc <= 0)
			break;
		if (++seen > count) {
			rc = -EBADMSG;
			break;
		}
		struct metadata_record *rec;
		rc = records_decode(entry, entry_len, &rec);
		if (rc != 0)
			break;
		struct metadata_image *next;
		rc = image_apply(img, rec, &next);
		records_free(rec);
		if (rc != 0)
			break;
		image_unref(img);
		img = next;
	}
	if (rc == 0 && seen != count)
		rc = -EBADMSG;
	if (rc == 0)
		rc = image_set_position(img, index, term);
	if (rc != 0) {
		image_unref(img);
		return rc;
	}
	*out = img;
	return 0;
}

/* ---- deltas ------------------------------------------------------------------ */

struct image_diff_ctx {
	image_diff_cb cb;
	void *arg;
	const struct image_topic *topic;              /* partitions being compared */
	const struct image_config_resource *resource; /* entries being compared */
};

static int image_diff_broker_fn(const struct image_obj *old, const struct image_obj *new, void *arg)
{
	struct image_diff_ctx *d = arg;
	struct image_change c = {
		.kind = IMAGE_BROKER_CHANGED,
		.old_broker = (const struct image_broker *)old,
		.new_broker = (const struct image_broker *)new,
	};
	return d->cb(&c, d->arg);
}

static int image_diff_partition_fn(const struct image_obj *old, const struct image_obj *new, void *arg)
{
	struct image_diff_ctx *d = arg;
	struct image_change c = {
		.kind = IMAGE_PARTITION_CHANGED,
		.topic = d->topic,
		.old_partition = (const struct image_partition *)old,
		.new_partition = (const struct image_partition *)new,
	};
	return d->cb(&c, d->arg);
}

static int image_diff_topic_fn(const struct image_obj *old, const struct image_obj *new, void *arg)
{
	struct image_diff_ctx *d = arg;
	const struct image_topic *o = (const struct image_topic *)old;
	const struct image_topic *n = (const struct image_topic *)new;
	int rc;
	if (o == NULL) {
		struct image_change c = {.kind = IMAGE_TOPIC_CREATED, .topic = n};
		rc = d->cb(&c, d->arg);
		d->topic = n;
		return rc != 0 ? rc : image_tree_diff(NULL, n->partitions, &image_partition_ops, image_diff_partition_fn, d);
	}
	if (n == NULL) {
		d->topic = o;
		rc = image_tree_diff(o->partitions, NULL, &image_partition_ops, image_diff_partition_fn, d);
		struct image_change c = {.kind = IMAGE_TOPIC_DELETED, .topic = o};
		return rc != 0 ? rc : d->cb(&c, d->arg);
	}
	d->topic = n;
	return image_tree_diff(o->partitions, n->partitions, &image_partition_ops, image_diff_partition_fn, d);
}

static int image_diff_entry_fn(const struct image_obj *old, const struct image_obj *new, void *arg)
{
	struct image_diff_ctx *d = arg;
	const struct image_config_entry *o = (const struct image_config_entry *)old;
	const struct image_config_entry *n = (const struct image_config_entry *)new;
	struct image_change c = {
		.kind = IMAGE_CONFIG_CHANGED,
		.resource_type = d->resource->key.type,
		.resource_name = d->resource->key.name,
		.key = n != NULL ? n->key : o->key,
		.old_value = o != NULL ? o->value : NULL,
		.new_value = n != NULL ? n->value : NULL,
	};
	return d->cb(&c, d->arg);
}

static int image_diff_resource_fn(const struct image_obj *old, const struct image_obj *new, void *arg)
{
	struct image_diff_ctx *d = arg;
	const struct image_config_resource *o = (const struct image_config_resource *)old;
	const struct image_config_resource *n = (const struct image_config_resource *)new;
	d->resource = n != NULL ? n : o;
	return image_tree_diff(o != NULL ? o->entries : NULL, n != NULL ? n->entries : NULL, &image_entry_ops,
			       image_diff_entry_fn, d);
}

int image_diff(const struct metadata_image *old, const struct metadata_image *new, image_diff_cb cb, void *arg)
{
	static const struct metadata_image empty;
	if (old == NULL)
		old = &empty;
	if (new == NULL)
		new = &empty;
	if (old == new)
		return 0;
	struct image_diff_ctx d = {.cb = cb, .arg = arg};
	int rc = image_tree_diff(old->brokers, new->brokers, &image_broker_ops, image_diff_broker_fn, &d);
	if (rc == 0)
		rc = image_tree_diff(old->topics_by_id, new->topics_by_id, &image_topic_id_ops, image_diff_topic_fn, &d);
	if (rc == 0)
		rc = image_tree_diff(old->configs, new->configs, &image_resource_ops, image_diff_resource_fn, &d);
	return rc;
}
