#include "broker/protocol/metadata.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static bool metadata_in_range(int16_t version)
{
	return version >= METADATA_MIN_VERSION && version <= METADATA_MAX_VERSION;
}

/* Count of an array; null (-1) is malformed unless nullable. The count is
 * already bounded by bytes left / min_elem. */
static int32_t metadata_count(struct kreader *r, bool flexible, size_t min_elem, bool nullable)
{
	int32_t n = kr_array_len_f(r, flexible, min_elem);
	if (n < 0 && !nullable) {
		if (kr_ok(r))
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static int32_t metadata_nonneg(int32_t n)
{
	return n < 0 ? 0 : n;
}

int metadata_request_decode(struct kreader *r, int16_t version, struct metadata_request *out)
{
	bool flexible = version >= METADATA_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	out->allow_auto_topic_creation = true;
	if (!metadata_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	/* topic_id (v10+) + name (+ tags) */
	size_t min = version >= 10 ? 16 + 1 + 1 : (flexible ? 1 + 1 : 2);
	int32_t nt = metadata_count(r, flexible, min, version >= 1);
	if (version == 0 && nt == 0)
		nt = -1; /* v0: an empty list asks for every topic */
	out->topics_count = nt < 0 ? -1 : 0;
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (out->topics)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && kr_ok(r); i++) {
		struct metadata_request_topic *t = &out->topics[i];
		if (version >= 10) {
			kr_uuid(r, t->topic_id);
			kr_nullable_str_f(r, flexible, &t->name);
		} else {
			kr_str_f(r, flexible, &t->name);
		}
		if (flexible)
			kr_skip_tags(r);
	}
	if (version >= 4)
		out->allow_auto_topic_creation = kr_bool(r);
	if (version >= 8 && version <= 10)
		out->include_cluster_authorized_operations = kr_bool(r);
	if (version >= 8)
		out->include_topic_authorized_operations = kr_bool(r);
	if (flexible)
		kr_skip_tags(r);
	if (kr_ok(r))
		return 0;
	metadata_request_free(out);
	return -1;
}

void metadata_request_encode(struct kwriter *w, int16_t version, const struct metadata_request *in)
{
	bool flexible = version >= METADATA_FLEXIBLE_VERSION;
	assert(metadata_in_range(version));
	int32_t nt = in->topics_count < 0 ? -1 : in->topics_count;
	kw_array_len_f(w, flexible, version == 0 && nt < 0 ? 0 : nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct metadata_request_topic *t = &in->topics[i];
		if (version >= 10) {
			kw_uuid(w, t->topic_id);
			kw_kstr_f(w, flexible, t->name);
		} else {
			kw_kstr_nonnull_f(w, flexible, t->name);
		}
		kw_tags_f(w, flexible);
	}
	if (version >= 4)
		kw_bool(w, in->allow_auto_topic_creation);
	if (version >= 8 && version <= 10)
		kw_bool(w, in->include_cluster_authorized_operations);
	if (version >= 8)
		kw_bool(w, in->include_topic_authorized_operations);
	kw_tags_f(w, flexible);
}

void metadata_request_free(struct metadata_request *req)
{
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

/* Smallest encodings of a broker, topic and partition in this version. */
static size_t metadata_broker_min(int16_t version)
{
	bool flexible = version >= METADATA_FLEXIBLE_VERSION;
	if (flexible)
		return 4 + 1 + 4 + 1 + 1;
	return 4 + 2 + 4 + (version >= 1 ? 2 : 0);
}

static size_t metadata_topic_min(int16_t version)
{
	bool flexible = version >= METADATA_FLEXIBLE_VERSION;
	size_t n = 2;                  /* error_code */
	n += flexible ? 1 + 1 + 1 : 2 + 4; /* name, partitions count (, tags) */
	if (version >= 10)
		n += 16;
	if (version >= 1)
		n += 1;
	if (version >= 8)
		n += 4;
	return n;
}

static size_t metadata_partition_min(int16_t version)
{
	bool flexible = version >= METADATA_FLEXIBLE_VERSION;
	size_t arrays = version >= 5 ? 3 : 2;
	size_t n = 2 + 4 + 4 + (version >= 7 ? 4 : 0);
	n += flexible ? arrays + 1 : arrays * 4;
	return n;
}

/* A non-nullable INT32 array; *out stays NULL for an empty one. */
static void metadata_get_i32s(struct kreader *r, bool flexible, int32_t **out, int32_t *count)
{
	int32_t n = metadata_count(r, flexible, 4, false);
	*out = kr_calloc(r, n, sizeof **out);
	if (*out == NULL)
		return;
	*count = n;
	for (int32_t i = 0; i < n; i++)
		(*out)[i] = kr_i32(r);
}

static void metadata_put_i32s(struct kwriter *w, bool flexible, const int32_t *v, int32_t count)
{
	int32_t n = metadata_nonneg(count);
	kw_array_len_f(w, flexible, n);
	for (int32_t i = 0; i < n; i++)
		kw_i32(w, v[i]);
}

int metadata_response_decode(struct kreader *r, int16_t version, struct metadata_response *out)
{
	bool flexible = version >= METADATA_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	out->cluster_id.len = -1;
	out->controller_id = -1;
	out->cluster_authorized_operations = METADATA_AUTHORIZED_OPERATIONS_UNKNOWN;
	if (!metadata_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	if (version >= 3)
		out->throttle_time_ms = kr_i32(r);
	int32_t nb = metadata_count(r, flexible, metadata_broker_min(version), false);
	out->brokers = kr_calloc(r, nb, sizeof *out->brokers);
	if (out->brokers)
		out->brokers_count = nb;
	for (int32_t i = 0; i < out->brokers_count && kr_ok(r); i++) {
		struct metadata_response_broker *b = &out->brokers[i];
		b->node_id = kr_i32(r);
		kr_str_f(r, flexible, &b->host);
		b->port = kr_i32(r);
		b->rack.len = -1;
		if (version >= 1)
			kr_nullable_str_f(r, flexible, &b->rack);
		if (flexible)
			kr_skip_tags(r);
	}
	if (version >= 2)
		kr_nullable_str_f(r, flexible, &out->cluster_id);
	if (version >= 1)
		out->controller_id = kr_i32(r);
	int32_t nt = metadata_count(r, flexible, metadata_topic_min(version), false);
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (out->topics)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && kr_ok(r); i++) {
		struct metadata_response_topic *t = &out->topics[i];
		t->error_code = kr_i16(r);
		if (version >= 12)
			kr_nullable_str_f(r, flexible, &t->name);
		else
			kr_str_f(r, flexible, &t->name);
		if (version >= 10)
			kr_uuid(r, t->topic_id);
		if (version >= 1)
			t->is_internal = kr_bool(r);
		int32_t np = metadata_count(r, flexible, metadata_partition_min(version), false);
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (t->partitions)
			t->partitions_count = np;
		for (int32_t j = 0; j < t->partitions_count && kr_ok(r); j++) {
			struct metadata_response_partition *p = &t->partitions[j];
			p->error_code = kr_i16(r);
			p->partition_index = kr_i32(r);
			p->leader_id = kr_i32(r);
			p->leader_epoch = version >= 7 ? kr_i32(r) : -1;
			metadata_get_i32s(r, flexible, &p->replica_nodes, &p->replica_nodes_count);
			metadata_get_i32s(r, flexible, &p->isr_nodes, &p->isr_nodes_count);
			if (version >= 5)
				metadata_get_i32s(r, flexible, &p->offline_replicas, &p->offline_replicas_count);
			if (flexible)
				kr_skip_tags(r);
		}
		t->topic_authorized_operations =
			version >= 8 ? kr_i32(r) : METADATA_AUTHORIZED_OPERATIONS_UNKNOWN;
		if (flexible)
			kr_skip_tags(r);
	}
	if (version >= 8 && version <= 10)
		out->cluster_authorized_operations = kr_i32(r);
	if (flexible)
		kr_skip_tags(r);
	if (kr_ok(r))
		return 0;
	metadata_response_free(out);
	return -1;
}

void metadata_response_encode(struct kwriter *w, int16_t version, const struct metadata_response *in)
{
	bool flexible = version >= METADATA_FLEXIBLE_VERSION;
	assert(metadata_in_range(version));
	if (version >= 3)
		kw_i32(w, in->throttle_time_ms);
	int32_t nb = metadata_nonneg(in->brokers_count);
	kw_array_len_f(w, flexible, nb);
	for (int32_t i = 0; i < nb; i++) {
		const struct metadata_response_broker *b = &in->brokers[i];
		kw_i32(w, b->node_id);
		kw_kstr_nonnull_f(w, flexible, b->host);
		kw_i32(w, b->port);
		if (version >= 1)
			kw_kstr_f(w, flexible, b->rack);
		kw_tags_f(w, flexible);
	}
	if (version >= 2)
		kw_kstr_f(w, flexible, in->cluster_id);
	if (version >= 1)
		kw_i32(w, in->controller_id);
	int32_t nt = metadata_nonneg(in->topics_count);
	kw_array_len_f(w, flexible, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct metadata_response_topic *t = &in->topics[i];
		kw_i16(w, t->error_code);
		if (version >= 12)
			kw_kstr_f(w, flexible, t->name);
		else
			kw_kstr_nonnull_f(w, flexible, t->name);
		if (version >= 10)
			kw_uuid(w, t->topic_id);
		if (version >= 1)
			kw_bool(w, t->is_internal);
		int32_t np = metadata_nonneg(t->partitions_count);
		kw_array_len_f(w, flexible, np);
		for (int32_t j = 0; j < np; j++) {
			const struct metadata_response_partition *p = &t->partitions[j];
			kw_i16(w, p->error_code);
			kw_i32(w, p->partition_index);
			kw_i32(w, p->leader_id);
			if (version >= 7)
				kw_i32(w, p->leader_epoch);
			metadata_put_i32s(w, flexible, p->replica_nodes, p->replica_nodes_count);
			metadata_put_i32s(w, flexible, p->isr_nodes, p->isr_nodes_count);
			if (version >= 5)
				metadata_put_i32s(w, flexible, p->offline_replicas, p->offline_replicas_count);
			kw_tags_f(w, flexible);
		}
		if (version >= 8)
			kw_i32(w, t->topic_authorized_operations);
		kw_tags_f(w, flexible);
	}
	if (version >= 8 && version <= 10)
		kw_i32(w, in->cluster_authorized_operations);
	kw_tags_f(w, flexible);
}

void metadata_response_free(struct metadata_response *resp)
{
	for (int32_t i = 0; i < resp->topics_count; i++) {
		struct metadata_response_topic *t = &resp->topics[i];
		for (int32_t j = 0; j < t->partitions_count; j++) {
			free(t->partitions[j].replica_nodes);
			free(t->partitions[j].isr_nodes);
			free(t->partitions[j].offline_replicas);
		}
		free(t->partitions);
	}
	free(resp->topics);
	free(resp->brokers);
	resp->topics = NULL;
	resp->topics_count = 0;
	resp->brokers = NULL;
	resp->brokers_count = 0;
}
