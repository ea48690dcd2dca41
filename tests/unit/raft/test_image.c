#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/logger.h"
#include "raft/image.h"
#include "raft/records.h"

/* ---- record builders (views into static or caller storage) ----------------- */

static void tid(uint8_t out[16], uint8_t b)
{
	memset(out, b, 16);
}

static struct metadata_record reg(int32_t id, int64_t epoch, bool fenced)
{
	static const struct metadata_endpoint eps[] = {{.name = "PLAINTEXT", .host = "localhost", .port = 9092}};
	struct metadata_record r = {.type = METADATA_REGISTER_BROKER};
	r.register_broker = (struct metadata_register_broker){
		.broker_id = id,
		.broker_epoch = epoch,
		.endpoints = eps,
		.n_endpoints = 1,
		.rack = id % 2 ? "r1" : NULL,
		.fenced = fenced,
	};
	r.register_broker.incarnation_id[0] = (uint8_t)id;
	return r;
}

static struct metadata_record fence(int32_t id, int64_t epoch, bool fenced)
{
	struct metadata_record r = {.type = fenced ? METADATA_FENCE_BROKER : METADATA_UNFENCE_BROKER};
	r.fence_broker = (struct metadata_broker_epoch){.id = id, .epoch = epoch};
	return r;
}

static struct metadata_record topic(const char *name, uint8_t id)
{
	struct metadata_record r = {.type = METADATA_TOPIC};
	r.topic.name = name;
	tid(r.topic.topic_id, id);
	return r;
}

static const int32_t R012[] = {0, 1, 2};

static struct metadata_record part(uint8_t id, int32_t p, int32_t leader)
{
	struct metadata_record r = {.type = METADATA_PARTITION};
	r.partition = (struct metadata_partition){
		.partition_id = p,
		.replicas = {R012, 3},
		.isr = {R012, 3},
		.leader = leader,
		.leader_epoch = 0,
		.partition_epoch = 0,
	};
	tid(r.partition.topic_id, id);
	return r;
}

static struct metadata_record change(uint8_t id, int32_t p, int32_t leader, const int32_t *isr, size_t n_isr)
{
	struct metadata_record r = {.type = METADATA_PARTITION_CHANGE};
	r.partition_change = (struct metadata_partition_change){
		.partition_id = p,
		.leader = leader,
		.has_isr = isr != NULL,
		.isr = {isr, n_isr},
	};
	tid(r.partition_change.topic_id, id);
	return r;
}

static struct metadata_record remove_topic(uint8_t id)
{
	struct metadata_record r = {.type = METADATA_REMOVE_TOPIC};
	tid(r.remove_topic.topic_id, id);
	return r;
}

static struct metadata_record config(int8_t type, const char *res, const char *key, const char *value)
{
	struct metadata_record r = {.type = METADATA_CONFIG};
	r.config = (struct metadata_config){.resource_type = type, .resource_name = res, .name = key, .value = value};
	return r;
}

static struct metadata_record pids(int64_t next)
{
	struct metadata_record r = {.type = METADATA_PRODUCER_IDS};
	r.producer_ids = (struct metadata_producer_ids){.broker_id = 0, .broker_epoch = 1, .next_producer_id = next};
	return r;
}

/* Applies rec to img (consumed) and returns the next image. */
static struct metadata_image *step(struct metadata_image *img, struct metadata_record rec)
{
	struct metadata_image *next = NULL;
	assert_int_equal(image_apply(img, &rec, &next), 0);
	assert_non_null(next);
	image_unref(img);
	return next;
}

/* The same through the wire form, as the state machine will see it. */
static struct metadata_image *step_wire(struct metadata_image *img, struct metadata_record rec)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(records_encode(&rec, &buf, &len), 0);
	struct metadata_record *dec;
	assert_int_equal(records_decode(buf, len, &dec), 0);
	free(buf);
	struct metadata_image *next = NULL;
	assert_int_equal(image_apply(img, dec, &next), 0);
	records_free(dec);
	image_unref(img);
	return next;
}

/* Applying rec leaves img as it is (the same image comes back). */
static void assert_ignored(const struct metadata_image *img, struct metadata_record rec)
{
	struct metadata_image *next = NULL;
	assert_int_equal(image_apply(img, &rec, &next), 0);
	assert_ptr_equal(next, img);
	image_unref(next);
}

static struct metadata_image *sample_image(void)
{
	struct metadata_image *img = image_empty();
	for (int32_t b = 0; b < 3; b++)
		img = step_wire(img, reg(b, 10 + b, true));
	img = step_wire(img, fence(0, 10, false));
	img = step_wire(img, fence(2, 12, false));
	img = step_wire(img, topic("alpha", 1));
	img = step_wire(img, topic("beta", 2));
	for (int32_t p = 0; p < 3; p++) {
		img = step_wire(img, part(1, p, p));
		img = step_wire(img, part(2, p, 0));
	}
	static const int32_t isr12[] = {1, 2};
	img = step_wire(img, change(1, 0, 1, isr12, 2));
	img = step_wire(img, config(METADATA_RESOURCE_TOPIC, "alpha", "retention.ms", "1000"));
	img = step_wire(img, config(METADATA_RESOURCE_TOPIC, "alpha", "cleanup.policy", "compact"));
	img = step_wire(img, config(METADATA_RESOURCE_BROKER, "", "log.retention.hours", "1"));
	img = step_wire(img, pids(3000));
	return img;
}

/* ---- apply ----------------------------------------------------------------- */

static void image_apply__registers_fences_unfences(void **state)
{
	struct metadata_image *img = image_empty();
	assert_int_equal(image_broker_count(img), 0);
	assert_null(image_broker(img, 0));
	for (int32_t b = 0; b < 3; b++)
		img = step(img, reg(b, 100 + b, true));
	assert_int_equal(image_broker_count(img), 3);
	const struct image_broker *b1 = image_broker(img, 1);
	assert_non_null(b1);
	assert_int_equal(b1->epoch, 101);
	assert_true(b1->fenced);
	assert_string_equal(b1->rack, "r1");
	assert_null(image_broker(img, 0)->rack);
	assert_int_equal(b1->n_endpoints, 1);
	assert_string_equal(b1->endpoints[0].host, "localhost");
	assert_int_equal(b1->endpoints[0].port, 9092);

	assert_ignored(img, fence(1, 99, false)); /* stale epoch */
	assert_ignored(img, fence(7, 1, false));  /* unknown broker */
	assert_ignored(img, fence(1, 101, true)); /* already fenced */
	assert_ignored(img, reg(-1, 1, false));   /* negative id */

	img = step(img, fence(1, 101, false));
	assert_false(image_broker(img, 1)->fenced);
	img = step(img, fence(1, 101, true));
	assert_true(image_broker(img, 1)->fenced);

	/* A new registration replaces the old one. */
	img = step(img, reg(1, 200, false));
	assert_int_equal(image_broker_count(img), 3);
	assert_int_equal(image_broker(img, 1)->epoch, 200);
	assert_false(image_broker(img, 1)->fenced);
	image_unref(img);
}

static void image_apply__creates_topics_and_partitions(void **state)
{
	struct metadata_image *img = image_empty();
	img = step(img, topic("orders", 1));
	assert_int_equal(image_topic_count(img), 1);
	const struct image_topic *t = image_topic_by_name(img, "orders");
	assert_non_null(t);
	uint8_t id[16];
	tid(id, 1);
	assert_ptr_equal(image_topic_by_id(img, id), t);
	assert_memory_equal(t->id, id, 16);
	assert_int_equal(t->n_partitions, 0);

	for (int32_t p = 0; p < 4; p++)
		img = step(img, part(1, p, p % 3));
	t = image_topic_by_name(img, "orders");
	assert_int_equal(t->n_partitions, 4);
	const struct image_partition *p2 = image_partition(img, id, 2);
	assert_non_null(p2);
	assert_int_equal(p2->partition_id, 2);
	assert_int_equal(p2->leader, 2);
	assert_int_equal(p2->replicas.n, 3);
	assert_int_equal(p2->isr.ids[1], 1);
	assert_ptr_equal(image_topic_partition(t, 2), p2);
	assert_null(image_partition(img, id, 4));

	/* Replaying the same Topic is a no-op; a clash of name or id is ignored. */
	assert_ignored(img, topic("orders", 1));
	assert_ignored(img, topic("orders", 9));
	assert_ignored(img, topic("other", 1));
	assert_ignored(img, topic("", 5));
	/* Partitions of unknown topics and negative ids are ignored. */
	assert_ignored(img, part(9, 0, 0));
	struct metadata_record bad = part(1, -1, 0);
	assert_ignored(img, bad);
	assert_null(image_topic_by_name(img, "nope"));
	assert_null(image_topic_by_name(img, NULL));
	image_unref(img);
}

static void image_apply__partition_change_bumps_epochs(void **state)
{
	struct metadata_image *img = image_empty();
	img = step(img, topic("t", 1));
	img = step(img, part(1, 0, 0));
	uint8_t id[16];
	tid(id, 1);

	/* ISR only: partition epoch. */
	static const int32_t isr01[] = {0, 1};
	img = step(img, change(1, 0, METADATA_LEADER_UNCHANGED, isr01, 2));
	const struct image_partition *p = image_partition(img, id, 0);
	assert_int_equal(p->leader, 0);
	assert_int_equal(p->leader_epoch, 0);
	assert_int_equal(p->partition_epoch, 1);
	assert_int_equal(p->isr.n, 2);
	assert_int_equal(p->replicas.n, 3);

	/* A new leader: both epochs. */
	img = step(img, change(1, 0, 1, NULL, 0));
	p = image_partition(img, id, 0);
	assert_int_equal(p->leader, 1);
	assert_int_equal(p->leader_epoch, 1);
	assert_int_equal(p->partition_epoch, 2);
	assert_int_equal(p->isr.n, 2);

	/* Offline: no leader, empty ISR. */
	img = step(img, change(1, 0, METADATA_NO_LEADER, isr01, 0));
	p = image_partition(img, id, 0);
	assert_int_equal(p->leader, -1);
	assert_int_equal(p->leader_epoch, 2);
	assert_int_equal(p->partition_epoch, 3);
	assert_int_equal(p->isr.n, 0);

	/* Unknown topic or partition, or a leader below -2: ignored, never an error. */
	assert_ignored(img, change(9, 0, 1, NULL, 0));
	assert_ignored(img, change(1, 5, 1, NULL, 0));
	assert_ignored(img, change(1, 0, -3, NULL, 0));
	image_unref(img);
}

static void image_apply__remove_topic_drops_partitions_and_configs(void **state)
{
	struct metadata_image *img = sample_image();
	uint8_t id1[16];
	tid(id1, 1);
	assert_string_equal(image_config(img, METADATA_RESOURCE_TOPIC, "alpha", "retention.ms"), "1000");
	img = step(img, remove_topic(1));
	assert_null(image_topic_by_name(img, "alpha"));
	assert_null(image_topic_by_id(img, id1));
	assert_null(image_partition(img, id1, 0));
	assert_int_equal(image_topic_count(img), 1);
	assert_non_null(image_topic_by_name(img, "beta"));
	assert_null(image_config(img, METADATA_RESOURCE_TOPIC, "alpha", "retention.ms"));
	assert_string_equal(image_config(img, METADATA_RESOURCE_BROKER, "", "log.retention.hours"), "1");
	assert_ignored(img, remove_topic(1));

	/* The name can be used again, with a new id. */
	img = step(img, topic("alpha", 3));
	assert_int_equal(image_topic_by_name(img, "alpha")->n_partitions, 0);
	image_unref(img);
}

static int count_config_cb(int8_t type, const char *res, const char *key, const char *value, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void image_apply__configs_set_overwrite_delete(void **state)
{
	struct metadata_image *img = image_empty();
	img = step(img, config(METADATA_RESOURCE_TOPIC, "t", "a", "1"));
	img = step(img, config(METADATA_RESOURCE_TOPIC, "t", "b", "2"));
	img = step(img, config(METADATA_RESOURCE_BROKER, "t", "a", "broker")); /* another resource */
	assert_string_equal(image_config(img, METADATA_RESOURCE_TOPIC, "t", "a"), "1");
	assert_string_equal(image_config(img, METADATA_RESOURCE_BROKER, "t", "a"), "broker");
	assert_ignored(img, config(METADATA_RESOURCE_TOPIC, "t", "a", "1"));
	img = step(img, config(METADATA_RESOURCE_TOPIC, "t", "a", "3"));
	assert_string_equal(image_config(img, METADATA_RESOURCE_TOPIC, "t", "a"), "3");
	img = step(img, config(METADATA_RESOURCE_TOPIC, "t", "a", NULL));
	assert_null(image_config(img, METADATA_RESOURCE_TOPIC, "t", "a"));
	assert_string_equal(image_config(img, METADATA_RESOURCE_TOPIC, "t", "b"), "2");
	assert_ignored(img, config(METADATA_RESOURCE_TOPIC, "t", "a", NULL));
	assert_ignored(img, config(METADATA_RESOURCE_TOPIC, "u", "a", NULL));
	img = step(img, config(METADATA_RESOURCE_TOPIC, "t", "b", NULL));
	int n = 0;
	image_foreach_config(img, count_config_cb, &n);
	assert_int_equal(n, 1);
	assert_null(image_config(img, METADATA_RESOURCE_TOPIC, "t", "b"));
	assert_null(image_config(img, METADATA_RESOURCE_TOPIC, NULL, "b"));
	image_unref(img);
}

static void image_apply__producer_ids_only_grow(void **state)
{
	struct metadata_image *img = image_empty();
	assert_int_equal(image_next_producer_id(img), 0);
	img = step(img, pids(1000));
	assert_int_equal(image_next_producer_id(img), 1000);
	assert_ignored(img, pids(500));
	assert_ignored(img, pids(1000));
	img = step(img, pids(2000));
	assert_int_equal(image_next_producer_id(img), 2000);
	image_unref(img);
}

static void image_apply__leaves_old_image_and_shares_the_rest(void **state)
{
	struct metadata_image *old = sample_image();
	uint8_t id1[16];
	tid(id1, 1);
	const struct image_partition *p0 = image_partition(old, id1, 0);
	int32_t leader = p0->leader, epoch = p0->partition_epoch;

	struct metadata_record rec = change(1, 0, 2, NULL, 0);
	struct metadata_image *next;
	assert_int_equal(image_apply(old, &rec, &next), 0);
	assert_ptr_not_equal(next, old);

	/* The old image is as it was. */
	assert_ptr_equal(image_partition(old, id1, 0), p0);
	assert_int_equal(p0->leader, leader);
	assert_int_equal(p0->partition_epoch, epoch);
	assert_int_equal(image_partition(next, id1, 0)->leader, 2);

	/* What did not change is the same object in both. */
	assert_ptr_equal(image_topic_by_name(old, "beta"), image_topic_by_name(next, "beta"));
	assert_ptr_equal(image_partition(old, id1, 1), image_partition(next, id1, 1));
	assert_ptr_equal(image_partition(old, id1, 2), image_partition(next, id1, 2));
	assert_ptr_equal(image_broker(old, 1), image_broker(next, 1));
	assert_ptr_not_equal(image_topic_by_name(old, "alpha"), image_topic_by_name(next, "alpha"));

	/* The old image outlives the new one's references, and vice versa. */
	image_unref(old);
	assert_int_equal(image_partition(next, id1, 0)->leader, 2);
	assert_string_equal(image_topic_by_name(next, "alpha")->name, "alpha");
	image_unref(next);
}

static void image_set_position__only_on_an_unshared_image(void **state)
{
	struct metadata_image *img = image_empty();
	assert_int_equal(image_set_position(img, 5, 2), 0);
	assert_int_equal(image_last_index(img), 5);
	assert_int_equal(image_last_term(img), 2);
	struct metadata_image *second = image_ref(img);
	assert_int_equal(image_set_position(img, 6, 2), -EBUSY);
	image_unref(second);
	/* Applying carries the position over. */
	img = step(img, topic("t", 1));
	assert_int_equal(image_last_index(img), 5);
	image_unref(img);
}

/* Every 10k partitions share all but the changed one. */
static void image_apply__ten_thousand_partitions_share(void **state)
{
	enum { N = 10000 };
	struct metadata_image *img = image_empty();
	img = step(img, topic("big", 7));
	for (int32_t p = 0; p < N; p++)
		img = step(img, part(7, p, p % 3));
	uint8_t id[16];
	tid(id, 7);
	assert_int_equal(image_topic_by_id(img, id)->n_partitions, N);

	struct metadata_image *next = img;
	image_ref(next);
	for (int32_t i = 0; i < 1000; i++)
		next = step(next, change(7, (i * 7919) % N, (i % 3), NULL, 0));
	struct metadata_record rec = change(7, 4242, 1, NULL, 0);
	struct metadata_image *last;
	assert_int_equal(image_apply(next, &rec, &last), 0);
	size_t shared = 0;
	for (int32_t p = 0; p < N; p++)
		shared += image_partition(next, id, p) == image_partition(last, id, p);
	assert_int_equal(shared, N - 1);
	/* The first image still has every partition at epoch 0. */
	for (int32_t p = 0; p < N; p++)
		assert_int_equal(image_partition(img, id, p)->partition_epoch, 0);
	image_unref(last);
	image_unref(next);
	image_unref(img);
}

/* ---- persistence against a model ---------------------------------------------- */

enum { MODEL_KEYS = 300, MODEL_KEEP = 40 };

struct model {
	int value[MODEL_KEYS]; /* -1: unset */
};

struct model_check {
	const struct model *m;
	int next_key; /* iteration must be in key order */
	int seen;
};

static int model_check_cb(int8_t type, const char *res, const char *key, const char *value, void *arg)
{
	struct model_check *c = arg;
	int k = atoi(key + 1);
	while (c->next_key < k) {
		assert_int_equal(c->m->value[c->next_key], -1);
		c->next_key++;
	}
	assert_int_equal(k, c->next_key);
	assert_int_equal(atoi(value), c->m->value[k]);
	c->next_key++;
	c->seen++;
	return 0;
}

static void model_verify(const struct metadata_image *img, const struct model *m)
{
	struct model_check c = {.m = m};
	image_foreach_config(img, model_check_cb, &c);
	int set = 0;
	for (int k = 0; k < MODEL_KEYS; k++) {
		char key[8];
		snprintf(key, sizeof key, "k%03d", k);
		const char *v = image_config(img, METADATA_RESOURCE_TOPIC, "r", key);
		if (m->value[k] < 0) {
			assert_null(v);
		} else {
			assert_non_null(v);
			assert_int_equal(atoi(v), m->value[k]);
			set++;
		}
	}
	assert_int_equal(c.seen, set);
}

static void image__versions_match_a_model(void **state)
{
	struct model m;
	for (int k = 0; k < MODEL_KEYS; k++)
		m.value[k] = -1;
	struct metadata_image *kept[MODEL_KEEP] = {0};
	struct model *kept_models = calloc(MODEL_KEEP, sizeof *kept_models);
	struct metadata_image *img = image_empty();
	uint32_t seed = 7;
	for (int i = 0; i < 6000; i++) {
		seed = seed * 1103515245u + 12345u;
		int k = (int)((seed >> 8) % MODEL_KEYS);
		bool del = ((seed >> 20) % 3) == 0;
		char key[8], val[16];
		snprintf(key, sizeof key, "k%03d", k);
		snprintf(val, sizeof val, "%d", i);
		img = step(img, config(METADATA_RESOURCE_TOPIC, "r", key, del ? NULL : val));
		m.value[k] = del ? -1 : i;
		if (i % 150 == 0) {
			int slot = (i / 150) % MODEL_KEEP;
			image_unref(kept[slot]);
			kept[slot] = image_ref(img);
			kept_models[slot] = m;
		}
	}
	model_verify(img, &m);
	for (int s = 0; s < MODEL_KEEP; s++) {
		if (kept[s] != NULL)
			model_verify(kept[s], &kept_models[s]);
		image_unref(kept[s]);
	}
	image_unref(img);
	free(kept_models);
}

/* ---- iteration ------------------------------------------------------------ */

struct names {
	char buf[256];
};

static int topic_name_cb(const struct image_topic *t, void *arg)
{
	struct names *n = arg;
	strcat(n->buf, t->name);
	strcat(n->buf, ",");
	return 0;
}

static int broker_id_cb(const struct image_broker *b, void *arg)
{
	struct names *n = arg;
	char s[16];
	snprintf(s, sizeof s, "%d%s,", b->id, b->fenced ? "f" : "");
	strcat(n->buf, s);
	return 0;
}

static int partition_cb(const struct image_topic *t, const struct image_partition *p, void *arg)
{
	struct names *n = arg;
	char s[32];
	snprintf(s, sizeof s, "%s-%d,", t->name, p->partition_id);
	strcat(n->buf, s);
	return p->partition_id == 1 ? 42 : 0;
}

static void image_foreach__in_key_order(void **state)
{
	struct metadata_image *img = sample_image();
	img = step(img, topic("aardvark", 9));
	struct names n = {0};
	assert_int_equal(image_foreach_topic(img, topic_name_cb, &n), 0);
	assert_string_equal(n.buf, "aardvark,alpha,beta,");
	memset(&n, 0, sizeof n);
	assert_int_equal(image_foreach_broker(img, broker_id_cb, &n), 0);
	assert_string_equal(n.buf, "0,1f,2,");
	memset(&n, 0, sizeof n);
	/* A non-zero return stops the walk and comes back. */
	assert_int_equal(image_foreach_partition(image_topic_by_name(img, "alpha"), partition_cb, &n), 42);
	assert_string_equal(n.buf, "alpha-0,alpha-1,");
	image_unref(img);
}

/* ---- snapshots ------------------------------------------------------------ */

static void image_snapshot__round_trip_equals_the_image(void **state)
{
	struct metadata_image *img = sample_image();
	/* A fresh image from sample_image() has one reference. */
	assert_int_equal(image_set_position(img, 1234, 7), 0);
	uint8_t *buf;
	size_t len;
	assert_int_equal(image_encode_snapshot(img, &buf, &len), 0);
	size_t size;
	assert_int_equal(image_snapshot_size(img, &size), 0);
	assert_int_equal(size, len);
	assert_memory_equal(buf, IMAGE_SNAPSHOT_MAGIC, 4);

	struct metadata_image *back;
	assert_int_equal(image_from_snapshot(buf, len, &back), 0);
	assert_int_equal(image_last_index(back), 1234);
	assert_int_equal(image_last_term(back), 7);
	assert_int_equal(image_broker_count(back), 3);
	assert_int_equal(image_topic_count(back), 2);
	assert_int_equal(image_next_producer_id(back), 3000);
	assert_true(image_broker(back, 1)->fenced);
	assert_false(image_broker(back, 2)->fenced);
	assert_int_equal(image_broker(back, 2)->epoch, 12);
	uint8_t id1[16];
	tid(id1, 1);
	const struct image_partition *p = image_partition(back, id1, 0);
	assert_int_equal(p->leader, 1);
	assert_int_equal(p->leader_epoch, 1);
	assert_int_equal(p->partition_epoch, 1);
	assert_int_equal(p->isr.n, 2);
	assert_string_equal(image_config(back, METADATA_RESOURCE_TOPIC, "alpha", "cleanup.policy"), "compact");

	/* Same image, same bytes. */
	uint8_t *buf2;
	size_t len2;
	assert_int_equal(image_encode_snapshot(back, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);

	/* Nothing differs. */
	free(buf2);
	free(buf);
	image_unref(back);
	image_unref(img);

	/* The empty image. */
	img = image_empty();
	assert_int_equal(image_encode_snapshot(img, &buf, &len), 0);
	assert_int_equal(len, IMAGE_SNAPSHOT_HEADER);
	assert_int_equal(image_from_snapshot(buf, len, &back), 0);
	assert_int_equal(image_topic_count(back), 0);
	free(buf);
	image_unref(back);
	image_unref(img);
}

static void image_from_snapshot__rejects_bad_input(void **state)
{
	struct metadata_image *img = sample_image();
	uint8_t *buf;
	size_t len;
	assert_int_equal(image_encode_snapshot(img, &buf, &len), 0);
	struct metadata_image *back = NULL;

	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, buf, cut);
		assert_int_equal(image_from_snapshot(copy, cut, &back), -EBADMSG);
		free(copy);
	}

	uint8_t *copy = malloc(len + 1);
	memcpy(copy, buf, len);
	copy[len] = 0;
	assert_int_equal(image_from_snapshot(copy, len + 1, &back), -EBADMSG); /* trailing byte */
	copy[0] = 'X';
	assert_int_equal(image_from_snapshot(copy, len, &back), -EBADMSG);
	memcpy(copy, buf, len);
	copy[5] = 2;
	assert_int_equal(image_from_snapshot(copy, len, &back), -ENOTSUP);
	memcpy(copy, buf, len);
	copy[31]++; /* one record more than there is */
	assert_int_equal(image_from_snapshot(copy, len, &back), -EBADMSG);
	copy[31] -= 2; /* one fewer */
	assert_int_equal(image_from_snapshot(copy, len, &back), -EBADMSG);
	memcpy(copy, buf, len);
	copy[IMAGE_SNAPSHOT_HEADER + 4 + 1] = 1; /* first record's type: unknown */
	assert_int_equal(image_from_snapshot(copy, len, &back), -ENOTSUP);

	/* Garbage after the header never crashes. */
	uint32_t seed = 99;
	for (int iter = 0; iter < 2000; iter++) {
		memcpy(copy, buf, len);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[IMAGE_SNAPSHOT_HEADER + (seed >> 8) % (len - IMAGE_SNAPSHOT_HEADER)] = (uint8_t)(seed >> 24);
		}
		back = NULL;
		if (image_from_snapshot(copy, len, &back) == 0)
			image_unref(back);
	}
	free(copy);
	free(buf);
	image_unref(img);
}

/* ---- diffs ---------------------------------------------------------------- */

struct events {
	char buf[2048];
};

static int record_event_cb(const struct image_change *c, void *arg)
{
	struct events *e = arg;
	char s[160];
	switch (c->kind) {
	case IMAGE_BROKER_CHANGED:
		snprintf(s, sizeof s, "broker %d %s->%s;", c->new_broker ? c->new_broker->id : c->old_broker->id,
			 !c->old_broker ? "none" : c->old_broker->fenced ? "fenced" : "up",
			 !c->new_broker ? "none" : c->new_broker->fenced ? "fenced" : "up");
		break;
	case IMAGE_TOPIC_CREATED:
		snprintf(s, sizeof s, "+%s;", c->topic->name);
		break;
	case IMAGE_TOPIC_DELETED:
		snprintf(s, sizeof s, "-%s;", c->topic->name);
		break;
	case IMAGE_PARTITION_CHANGED:
		if (c->old_partition == NULL)
			snprintf(s, sizeof s, "+%s-%d L%d;", c->topic->name, c->new_partition->partition_id,
				 c->new_partition->leader);
		else if (c->new_partition == NULL)
			snprintf(s, sizeof s, "-%s-%d;", c->topic->name, c->old_partition->partition_id);
		else
			snprintf(s, sizeof s, "%s-%d L%d->%d e%d->%d isr%zu->%zu;", c->topic->name,
				 c->new_partition->partition_id, c->old_partition->leader, c->new_partition->leader,
				 c->old_partition->partition_epoch, c->new_partition->partition_epoch,
				 c->old_partition->isr.n, c->new_partition->isr.n);
		break;
	case IMAGE_CONFIG_CHANGED:
		snprintf(s, sizeof s, "cfg %d/%s %s %s->%s;", c->resource_type, c->resource_name, c->key,
			 c->old_value ? c->old_value : "null", c->new_value ? c->new_value : "null");
		break;
	}
	strcat(e->buf, s);
	return 0;
}

static const char *diff_str(const struct metadata_image *a, const struct metadata_image *b, struct events *e)
{
	memset(e, 0, sizeof *e);
	assert_int_equal(image_diff(a, b, record_event_cb, e), 0);
	return e->buf;
}

static int stop_cb(const struct image_change *c, void *arg)
{
	(*(int *)arg)++;
	return 5;
}

static void image_diff__reports_changes(void **state)
{
	struct events e;
	struct metadata_image *empty = image_empty();
	struct metadata_image *a = image_empty();
	a = step(a, reg(0, 1, true));
	a = step(a, topic("t", 1));
	a = step(a, part(1, 0, 0));
	a = step(a, part(1, 1, 1));
	assert_string_equal(diff_str(empty, a, &e), "broker 0 none->fenced;+t;+t-0 L0;+t-1 L1;");
	assert_string_equal(diff_str(NULL, a, &e), "broker 0 none->fenced;+t;+t-0 L0;+t-1 L1;");
	assert_string_equal(diff_str(a, a, &e), "");

	struct metadata_image *b = image_ref(a);
	static const int32_t isr0[] = {0};
	b = step(b, change(1, 1, 0, isr0, 1));
	b = step(b, fence(0, 1, false));
	b = step(b, config(METADATA_RESOURCE_TOPIC, "t", "retention.ms", "5"));
	assert_string_equal(diff_str(a, b, &e),
			    "broker 0 fenced->up;t-1 L1->0 e0->1 isr3->1;cfg 2/t retention.ms null->5;");

	struct metadata_image *c = image_ref(b);
	c = step(c, remove_topic(1));
	c = step(c, topic("t", 2)); /* the same name, a new topic */
	c = step(c, part(2, 0, 2));
	/* Topics by id: 01.. goes, 02.. comes; then the topic's configs. */
	assert_string_equal(diff_str(b, c, &e), "-t-0;-t-1;-t;+t;+t-0 L2;cfg 2/t retention.ms 5->null;");
	assert_string_equal(diff_str(c, NULL, &e), "broker 0 up->none;-t-0;-t;");

	int calls = 0;
	assert_int_equal(image_diff(empty, c, stop_cb, &calls), 5);
	assert_int_equal(calls, 1);
	image_unref(c);
	image_unref(b);
	image_unref(a);
	image_unref(empty);
}

int main(void)
{
	logger_set_level(TLOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(image_apply__registers_fences_unfences),
		cmocka_unit_test(image_apply__creates_topics_and_partitions),
		cmocka_unit_test(image_apply__partition_change_bumps_epochs),
		cmocka_unit_test(image_apply__remove_topic_drops_partitions_and_configs),
		cmocka_unit_test(image_apply__configs_set_overwrite_delete),
		cmocka_unit_test(image_apply__producer_ids_only_grow),
		cmocka_unit_test(image_apply__leaves_old_image_and_shares_the_rest),
		cmocka_unit_test(image_set_position__only_on_an_unshared_image),
		cmocka_unit_test(image_apply__ten_thousand_partitions_share),
		cmocka_unit_test(image__versions_match_a_model),
		cmocka_unit_test(image_foreach__in_key_order),
		cmocka_unit_test(image_snapshot__round_trip_equals_the_image),
		cmocka_unit_test(image_from_snapshot__rejects_bad_input),
		cmocka_unit_test(image_diff__reports_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
