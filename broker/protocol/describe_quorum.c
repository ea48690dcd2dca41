#include "broker/protocol/describe_quorum.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of each array element (every version is flexible:
 * 1-byte compact lengths and a 1-byte tagged-field section per struct). */
#define DQ_MIN_TOPIC (1 + 1 + 1)     /* name, partitions, tags */
#define DQ_MIN_PARTITION (4 + 1)     /* partition_index, tags */
/* partition_index, error_code, leader_id, leader_epoch, high_watermark,
 * current_voters, observers, tags */
#define DQ_MIN_PARTITION_RESULT (4 + 2 + 4 + 4 + 8 + 1 + 1 + 1)

static size_t describe_quorum_min_replica(int16_t version)
{
	return 4 + 8 + (version >= 1 ? 8 + 8 : 0) + 1;
}

static bool describe_quorum_version_ok(struct kreader *r, int16_t version)
{
	if (version < DESCRIBE_QUORUM_MIN_VERSION || version > DESCRIBE_QUORUM_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* A non-nullable compact array count: null is malformed. */
static int32_t describe_quorum_count(struct kreader *r, size_t min_elem)
{
	int32_t n = kr_compact_array_len(r, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

/* Non-nullable strings are written as "" when left null. */
static void describe_quorum_put_str(struct kwriter *w, struct kstr s)
{
	kw_compact_string(w, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

/* ---- request ---- */

int describe_quorum_request_decode(struct kreader *r, int16_t version, struct describe_quorum_request *out)
{
	memset(out, 0, sizeof *out);
	if (!describe_quorum_version_ok(r, version))
		return -1;
	int32_t nt = describe_quorum_count(r, DQ_MIN_TOPIC);
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (!r->err)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct describe_quorum_topic *t = &out->topics[i];
		kr_compact_string(r, &t->topic_name);
		int32_t np = describe_quorum_count(r, DQ_MIN_PARTITION);
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (r->err)
			break;
		t->partitions_count = np;
		for (int32_t j = 0; j < np && !r->err; j++) {
			t->partitions[j].partition_index = kr_i32(r);
			kr_skip_tags(r);
		}
		kr_skip_tags(r);
	}
	kr_skip_tags(r);

	if (r->err) {
		describe_quorum_request_free(out);
		return -1;
	}
	return 0;
}

void describe_quorum_request_encode(struct kwriter *w, int16_t version, const struct describe_quorum_request *in)
{
	assert(version >= DESCRIBE_QUORUM_MIN_VERSION && version <= DESCRIBE_QUORUM_MAX_VERSION);
	int32_t nt = in->topics_count < 0 ? 0 : in->topics_count;
	kw_array_len_f(w, true, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct describe_quorum_topic *t = &in->topics[i];
		describe_quorum_put_str(w, t->topic_name);
		int32_t np = t->partitions_count < 0 ? 0 : t->partitions_count;
		kw_array_len_f(w, true, np);
		for (int32_t j = 0; j < np; j++) {
			kw_i32(w, t->partitions[j].partition_index);
			kw_tags_f(w, true);
		}
		kw_tags_f(w, true);
	}
	kw_tags_f(w, true);
}

void describe_quorum_request_free(struct describe_quorum_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++)
		free(req->topics[i].partitions);
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

/* ---- response ---- */

static void describe_quorum_replicas_decode(struct kreader *r, int16_t version,
					    struct describe_quorum_replica_state **out, int32_t *count)
{
	int32_t n = describe_quorum_count(r, describe_quorum_min_replica(version));
	*out = kr_calloc(r, n, sizeof **out);
	if (r->err)
		return;
	*count = n;
	for (int32_t i = 0; i < n && !r->err; i++) {
		struct describe_quorum_replica_state *s = &(*out)[i];
		s->replica_id = kr_i32(r);
		s->log_end_offset = kr_i64(r);
		s->last_fetch_timestamp = version >= 1 ? kr_i64(r) : -1;
		s->last_caught_up_timestamp = version >= 1 ? kr_i64(r) : -1;
		kr_skip_tags(r);
	}
}

static void describe_quorum_replicas_encode(struct kwriter *w, int16_t version,
					    const struct describe_quorum_replica_state *s, int32_t count)
{
	int32_t n = count < 0 ? 0 : count;
	kw_array_len_f(w, true, n);
	for (int32_t i = 0; i < n; i++) {
		kw_i32(w, s[i].replica_id);
		kw_i64(w, s[i].log_end_offset);
		if (version >= 1) {
			kw_i64(w, s[i].last_fetch_timestamp);
			kw_i64(w, s[i].last_caught_up_timestamp);
		}
		kw_tags_f(w, true);
	}
}

static void describe_quorum_partition_result_decode(struct kreader *r, int16_t version,
						    struct describe_quorum_partition_result *p)
{
	p->partition_index = kr_i32(r);
	p->error_code = kr_i16(r);
	p->leader_id = kr_i32(r);
	p->leader_epoch = kr_i32(r);
	p->high_watermark = kr_i64(r);
	describe_quorum_replicas_decode(r, version, &p->current_voters, &p->current_voters_count);
	describe_quorum_replicas_decode(r, version, &p->observers, &p->observers_count);
	kr_skip_tags(r);
}

int describe_quorum_response_decode(struct kreader *r, int16_t version, struct describe_quorum_response *out)
{
	memset(out, 0, sizeof *out);
	if (!describe_quorum_version_ok(r, version))
		return -1;
	out->error_code = kr_i16(r);
	int32_t nt = describe_quorum_count(r, DQ_MIN_TOPIC);
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (!r->err)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct describe_quorum_topic_result *t = &out->topics[i];
		kr_compact_string(r, &t->topic_name);
		int32_t np = describe_quorum_count(r, DQ_MIN_PARTITION_RESULT);
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (r->err)
			break;
		t->partitions_count = np;
		for (int32_t j = 0; j < np && !r->err; j++)
			describe_quorum_partition_result_decode(r, version, &t->partitions[j]);
		kr_skip_tags(r);
	}
	kr_skip_tags(r);

	if (r->err) {
		describe_quorum_response_free(out);
		return -1;
	}
	return 0;
}

void describe_quorum_response_encode(struct kwriter *w, int16_t version,
				     const struct describe_quorum_response *in)
{
	assert(version >= DESCRIBE_QUORUM_MIN_VERSION && version <= DESCRIBE_QUORUM_MAX_VERSION);
	kw_i16(w, in->error_code);
	int32_t nt = in->topics_count < 0 ? 0 : in->topics_count;
	kw_array_len_f(w, true, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct describe_quorum_topic_result *t = &in->topics[i];
		describe_quorum_put_str(w, t->topic_name);
		int32_t np = t->partitions_count < 0 ? 0 : t->partitions_count;
		kw_array_len_f(w, true, np);
		for (int32_t j = 0; j < np; j++) {
			const struct describe_quorum_partition_result *p = &t->partitions[j];
			kw_i32(w, p->partition_index);
			kw_i16(w, p->error_code);
			kw_i32(w, p->leader_id);
			kw_i32(w, p->leader_epoch);
			kw_i64(w, p->high_watermark);
			describe_quorum_replicas_encode(w, version, p->current_voters, p->current_voters_count);
			describe_quorum_replicas_encode(w, version, p->observers, p->observers_count);
			kw_tags_f(w, true);
		}
		kw_tags_f(w, true);
	}
	kw_tags_f(w, true);
}

void describe_quorum_response_free(struct describe_quorum_response *resp)
{
	for (int32_t i = 0; i < resp->topics_count; i++) {
		struct describe_quorum_topic_result *t = &resp->topics[i];
		for (int32_t j = 0; j < t->partitions_count; j++) {
			free(t->partitions[j].current_voters);
			free(t->partitions[j].observers);
		}
		free(t->partitions);
	}
	free(resp->topics);
	resp->topics = NULL;
	resp->topics_count = 0;
}
