#include "broker/protocol/create_topics.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of each element, so an array count is checked against
 * the bytes left before anything is allocated. Classic: INT16 string lengths
 * and INT32 array counts; flexible: 1-byte compact lengths plus a 1-byte
 * tagged-field section per struct. */
#define CT_MIN_ASSIGNMENT(flex) ((flex) ? 4 + 1 + 1 : 4 + 4)
#define CT_MIN_CONFIG(flex) ((flex) ? 1 + 1 + 1 : 2 + 2)
#define CT_MIN_TOPIC(flex) ((flex) ? 1 + 4 + 2 + 1 + 1 + 1 : 2 + 4 + 2 + 4 + 4)
#define CT_MIN_RESULT_CONFIG 5 /* v5+: name, value, read_only, source, sensitive, tags */

static size_t create_topics_min_result(int16_t version, bool flex)
{
	size_t n = flex ? 1 : 2; /* name */
	if (version >= 7)
		n += 16;
	n += 2; /* error_code */
	if (version >= 1)
		n += flex ? 1 : 2;
	if (version >= 5)
		n += 4 + 2 + 1 + 1; /* num_partitions, replication_factor, configs, tags */
	return n;
}

/* A non-nullable array count: null is malformed. */
static int32_t create_topics_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool create_topics_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > CREATE_TOPICS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* ---- request ---- */

static void create_topics_assignment_decode(struct kreader *r, bool flex, struct create_topics_assignment *a)
{
	a->partition_index = kr_i32(r);
	int32_t n = create_topics_array_len(r, flex, 4);
	a->broker_ids = kr_calloc(r, n, sizeof *a->broker_ids);
	if (r->err)
		return;
	a->broker_ids_count = n;
	for (int32_t i = 0; i < n; i++)
		a->broker_ids[i] = kr_i32(r);
	if (flex)
		kr_skip_tags(r);
}

static void create_topics_topic_decode(struct kreader *r, bool flex, struct create_topics_topic *t)
{
	int32_t n;

	kr_str_f(r, flex, &t->name);
	t->num_partitions = kr_i32(r);
	t->replication_factor = kr_i16(r);

	n = create_topics_array_len(r, flex, CT_MIN_ASSIGNMENT(flex));
	t->assignments = kr_calloc(r, n, sizeof *t->assignments);
	if (r->err)
		return;
	t->assignments_count = n;
	for (int32_t i = 0; i < n && !r->err; i++)
		create_topics_assignment_decode(r, flex, &t->assignments[i]);

	n = create_topics_array_len(r, flex, CT_MIN_CONFIG(flex));
	t->configs = kr_calloc(r, n, sizeof *t->configs);
	if (r->err)
		return;
	t->configs_count = n;
	for (int32_t i = 0; i < n && !r->err; i++) {
		struct create_topics_config *c = &t->configs[i];
		kr_str_f(r, flex, &c->name);
		kr_nullable_str_f(r, flex, &c->value);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
}

int create_topics_request_decode(struct kreader *r, int16_t version, struct create_topics_request *out)
{
	bool flex = version >= CREATE_TOPICS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->timeout_ms = 60000;
	if (!create_topics_version_ok(r, version))
		return -1;

	int32_t n = create_topics_array_len(r, flex, CT_MIN_TOPIC(flex));
	out->topics = kr_calloc(r, n, sizeof *out->topics);
	if (!r->err)
		out->topics_count = n;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++)
		create_topics_topic_decode(r, flex, &out->topics[i]);
	out->timeout_ms = kr_i32(r);
	if (version >= 1)
		out->validate_only = kr_bool(r);
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		create_topics_request_free(out);
		return -1;
	}
	return 0;
}

void create_topics_request_encode(struct kwriter *w, int16_t version, const struct create_topics_request *in)
{
	bool flex = version >= CREATE_TOPICS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= CREATE_TOPICS_MAX_VERSION);
	kw_array_len_f(w, flex, in->topics_count < 0 ? 0 : in->topics_count);
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct create_topics_topic *t = &in->topics[i];
		kw_kstr_f(w, flex, t->name);
		kw_i32(w, t->num_partitions);
		kw_i16(w, t->replication_factor);
		kw_array_len_f(w, flex, t->assignments_count < 0 ? 0 : t->assignments_count);
		for (int32_t j = 0; j < t->assignments_count; j++) {
			const struct create_topics_assignment *a = &t->assignments[j];
			kw_i32(w, a->partition_index);
			kw_array_len_f(w, flex, a->broker_ids_count < 0 ? 0 : a->broker_ids_count);
			for (int32_t k = 0; k < a->broker_ids_count; k++)
				kw_i32(w, a->broker_ids[k]);
			kw_tags_f(w, flex);
		}
		kw_array_len_f(w, flex, t->configs_count < 0 ? 0 : t->configs_count);
		for (int32_t j = 0; j < t->configs_count; j++) {
			kw_kstr_f(w, flex, t->configs[j].name);
			kw_kstr_f(w, flex, t->configs[j].value);
			kw_tags_f(w, flex);
		}
		kw_tags_f(w, flex);
	}
	kw_i32(w, in->timeout_ms);
	if (version >= 1)
		kw_bool(w, in->validate_only);
	kw_tags_f(w, flex);
}

void create_topics_request_free(struct create_topics_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++) {
		struct create_topics_topic *t = &req->topics[i];
		for (int32_t j = 0; j < t->assignments_count; j++)
			free(t->assignments[j].broker_ids);
		free(t->assignments);
		free(t->configs);
	}
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

/* ---- response ---- */

/* The per-topic tagged section: tag 0 is TopicConfigErrorCode (v5+); other
 * tags are skipped. Each field is read from its own size-bounded slice so a
 * wrong size cannot desynchronise the rest of the body. */
static void create_topics_result_tags_decode(struct kreader *r, struct create_topics_topic_result *t)
{
	uint32_t n = kr_uvarint(r);
	if (r->err)
		return;
	if (n > r->left / 2) { /* each tagged field takes at least 2 bytes */
		r->err = KR_EUNDERFLOW;
		return;
	}
	for (uint32_t i = 0; i < n && !r->err; i++) {
		uint32_t tag = kr_uvarint(r);
		uint32_t size = kr_uvarint(r);
		struct kreader field;
		kr_sub(r, size, &field);
		if (r->err)
			return;
		if (tag == 0) {
			t->topic_config_error_code = kr_i16(&field);
			if (field.err)
				r->err = field.err;
		}
	}
}

static void create_topics_result_tags_encode(struct kwriter *w, const struct create_topics_topic_result *t)
{
	if (t->topic_config_error_code == 0) {
		kw_uvarint(w, 0);
		return;
	}
	kw_uvarint(w, 1); /* one tagged field */
	kw_uvarint(w, 0); /* tag */
	kw_uvarint(w, 2); /* size */
	kw_i16(w, t->topic_config_error_code);
}

static void create_topics_result_decode(struct kreader *r, int16_t version, bool flex,
					struct create_topics_topic_result *t)
{
	kr_str_f(r, flex, &t->name);
	if (version >= 7)
		kr_uuid(r, t->topic_id);
	t->error_code = kr_i16(r);
	if (version >= 1)
		kr_nullable_str_f(r, flex, &t->error_message);
	else
		t->error_message = (struct kstr){"", 0};
	t->num_partitions = -1;
	t->replication_factor = -1;
	if (version >= 5) {
		t->num_partitions = kr_i32(r);
		t->replication_factor = kr_i16(r);
		int32_t n = kr_array_len_f(r, flex, CT_MIN_RESULT_CONFIG);
		t->configs = kr_calloc(r, n, sizeof *t->configs);
		if (r->err)
			return;
		t->configs_count = n;
		for (int32_t i = 0; i < n && !r->err; i++) {
			struct create_topics_result_config *c = &t->configs[i];
			kr_str_f(r, flex, &c->name);
			kr_nullable_str_f(r, flex, &c->value);
			c->read_only = kr_bool(r);
			c->config_source = kr_i8(r);
			c->is_sensitive = kr_bool(r);
			if (flex)
				kr_skip_tags(r);
		}
	}
	if (flex)
		create_topics_result_tags_decode(r, t);
}

int create_topics_response_decode(struct kreader *r, int16_t version, struct create_topics_response *out)
{
	bool flex = version >= CREATE_TOPICS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!create_topics_version_ok(r, version))
		return -1;
	if (version >= 2)
		out->throttle_time_ms = kr_i32(r);
	int32_t n = create_topics_array_len(r, flex, create_topics_min_result(version, flex));
	out->topics = kr_calloc(r, n, sizeof *out->topics);
	if (!r->err)
		out->topics_count = n;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++)
		create_topics_result_decode(r, version, flex, &out->topics[i]);
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		create_topics_response_free(out);
		return -1;
	}
	return 0;
}

void create_topics_response_encode(struct kwriter *w, int16_t version, const struct create_topics_response *in)
{
	bool flex = version >= CREATE_TOPICS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= CREATE_TOPICS_MAX_VERSION);
	if (version >= 2)
		kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, flex, in->topics_count < 0 ? 0 : in->topics_count);
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct create_topics_topic_result *t = &in->topics[i];
		kw_kstr_f(w, flex, t->name);
		if (version >= 7)
			kw_uuid(w, t->topic_id);
		kw_i16(w, t->error_code);
		if (version >= 1)
			kw_kstr_f(w, flex, t->error_message);
		if (version >= 5) {
			kw_i32(w, t->num_partitions);
			kw_i16(w, t->replication_factor);
			kw_array_len_f(w, flex, t->configs_count);
			for (int32_t j = 0; j < t->configs_count; j++) {
				const struct create_topics_result_config *c = &t->configs[j];
				kw_kstr_f(w, flex, c->name);
				kw_kstr_f(w, flex, c->value);
				kw_bool(w, c->read_only);
				kw_i8(w, c->config_source);
				kw_bool(w, c->is_sensitive);
				kw_tags_f(w, flex);
			}
		}
		if (flex)
			create_topics_result_tags_encode(w, t);
	}
	kw_tags_f(w, flex);
}

void create_topics_response_free(struct create_topics_response *resp)
{
	for (int32_t i = 0; i < resp->topics_count; i++)
		free(resp->topics[i].configs);
	free(resp->topics);
	resp->topics = NULL;
	resp->topics_count = 0;
}
