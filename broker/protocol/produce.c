#include "broker/protocol/produce.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool produce_in_range(int16_t version)
{
	return version >= PRODUCE_MIN_VERSION && version <= PRODUCE_MAX_VERSION;
}

/* Count of a non-nullable array; null (-1) is malformed. The count is already
 * bounded by bytes left / min_elem. */
static int32_t produce_count(struct kreader *r, bool flexible, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flexible, min_elem);
	if (n < 0) {
		if (kr_ok(r))
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static int32_t produce_nonneg(int32_t n)
{
	return n < 0 ? 0 : n;
}

int produce_request_decode(struct kreader *r, int16_t version, struct produce_request *out)
{
	bool flexible = version >= PRODUCE_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	out->transactional_id.len = -1;
	if (!produce_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	if (version >= 3)
		kr_nullable_str_f(r, flexible, &out->transactional_id);
	out->acks = kr_i16(r);
	out->timeout_ms = kr_i32(r);
	/* name + partition count (+ tags) */
	int32_t nt = produce_count(r, flexible, flexible ? 3 : 6);
	out->topic_data = kr_calloc(r, nt, sizeof *out->topic_data);
	if (out->topic_data)
		out->topic_data_count = nt;
	for (int32_t i = 0; i < out->topic_data_count && kr_ok(r); i++) {
		struct produce_topic_data *t = &out->topic_data[i];
		kr_str_f(r, flexible, &t->name);
		/* index + records length (+ tags) */
		int32_t np = produce_count(r, flexible, flexible ? 6 : 8);
		t->partition_data = kr_calloc(r, np, sizeof *t->partition_data);
		if (t->partition_data)
			t->partition_data_count = np;
		for (int32_t j = 0; j < t->partition_data_count && kr_ok(r); j++) {
			struct produce_partition_data *p = &t->partition_data[j];
			p->index = kr_i32(r);
			kr_bytes_f(r, flexible, &p->records);
			if (flexible)
				kr_skip_tags(r);
		}
		if (flexible)
			kr_skip_tags(r);
	}
	if (flexible)
		kr_skip_tags(r);
	if (kr_ok(r))
		return 0;
	produce_request_free(out);
	return -1;
}

void produce_request_encode(struct kwriter *w, int16_t version, const struct produce_request *in)
{
	bool flexible = version >= PRODUCE_FLEXIBLE_VERSION;
	assert(produce_in_range(version));
	if (version >= 3)
		kw_kstr_f(w, flexible, in->transactional_id);
	kw_i16(w, in->acks);
	kw_i32(w, in->timeout_ms);
	int32_t nt = produce_nonneg(in->topic_data_count);
	kw_array_len_f(w, flexible, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct produce_topic_data *t = &in->topic_data[i];
		kw_kstr_nonnull_f(w, flexible, t->name);
		int32_t np = produce_nonneg(t->partition_data_count);
		kw_array_len_f(w, flexible, np);
		for (int32_t j = 0; j < np; j++) {
			const struct produce_partition_data *p = &t->partition_data[j];
			kw_i32(w, p->index);
			kw_bytes_f(w, flexible, p->records.p, p->records.len);
			kw_tags_f(w, flexible);
		}
		kw_tags_f(w, flexible);
	}
	kw_tags_f(w, flexible);
}

void produce_request_free(struct produce_request *req)
{
	for (int32_t i = 0; i < req->topic_data_count; i++) {
		struct produce_topic_data *t = &req->topic_data[i];
		for (int32_t j = 0; j < t->partition_data_count; j++)
			free(t->partition_data[j].converted);
		free(t->partition_data);
	}
	free(req->topic_data);
	req->topic_data = NULL;
	req->topic_data_count = 0;
}

/* Smallest encoding of a partition response in this version. */
static size_t produce_partition_response_min(int16_t version)
{
	size_t n = 4 + 2 + 8; /* index, error_code, base_offset */
	if (version >= 2)
		n += 8; /* log_append_time_ms */
	if (version >= 5)
		n += 8;
	if (version >= 8)
		n += version >= PRODUCE_FLEXIBLE_VERSION ? 2 : 6; /* record_errors, error_message */
	if (version >= PRODUCE_FLEXIBLE_VERSION)
		n += 1;
	return n;
}

int produce_response_decode(struct kreader *r, int16_t version, struct produce_response *out)
{
	bool flexible = version >= PRODUCE_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	if (!produce_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	int32_t nt = produce_count(r, flexible, flexible ? 3 : 6);
	out->responses = kr_calloc(r, nt, sizeof *out->responses);
	if (out->responses)
		out->responses_count = nt;
	for (int32_t i = 0; i < out->responses_count && kr_ok(r); i++) {
		struct produce_topic_response *t = &out->responses[i];
		kr_str_f(r, flexible, &t->name);
		int32_t np = produce_count(r, flexible, produce_partition_response_min(version));
		t->partition_responses = kr_calloc(r, np, sizeof *t->partition_responses);
		if (t->partition_responses)
			t->partition_responses_count = np;
		for (int32_t j = 0; j < t->partition_responses_count && kr_ok(r); j++) {
			struct produce_partition_response *p = &t->partition_responses[j];
			p->index = kr_i32(r);
			p->error_code = kr_i16(r);
			p->base_offset = kr_i64(r);
			p->log_append_time_ms = version >= 2 ? kr_i64(r) : -1;
			p->log_start_offset = version >= 5 ? kr_i64(r) : -1;
			p->error_message.len = -1;
			if (version >= 8) {
				/* batch_index + message: 4+2, or 4+1+1 with tags */
				int32_t ne = produce_count(r, flexible, 6);
				p->record_errors = kr_calloc(r, ne, sizeof *p->record_errors);
				if (p->record_errors)
					p->record_errors_count = ne;
				for (int32_t k = 0; k < p->record_errors_count && kr_ok(r); k++) {
					struct produce_batch_index_and_error_message *e = &p->record_errors[k];
					e->batch_index = kr_i32(r);
					kr_nullable_str_f(r, flexible, &e->batch_index_error_message);
					if (flexible)
						kr_skip_tags(r);
				}
				kr_nullable_str_f(r, flexible, &p->error_message);
			}
			if (flexible)
				kr_skip_tags(r);
		}
		if (flexible)
			kr_skip_tags(r);
	}
	out->throttle_time_ms = version >= 1 ? kr_i32(r) : 0;
	if (flexible)
		kr_skip_tags(r);
	if (kr_ok(r))
		return 0;
	produce_response_free(out);
	return -1;
}

void produce_response_encode(struct kwriter *w, int16_t version, const struct produce_response *in)
{
	bool flexible = version >= PRODUCE_FLEXIBLE_VERSION;
	assert(produce_in_range(version));
	int32_t nt = produce_nonneg(in->responses_count);
	kw_array_len_f(w, flexible, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct produce_topic_response *t = &in->responses[i];
		kw_kstr_nonnull_f(w, flexible, t->name);
		int32_t np = produce_nonneg(t->partition_responses_count);
		kw_array_len_f(w, flexible, np);
		for (int32_t j = 0; j < np; j++) {
			const struct produce_partition_response *p = &t->partition_responses[j];
			kw_i32(w, p->index);
			kw_i16(w, p->error_code);
			kw_i64(w, p->base_offset);
			if (version >= 2)
				kw_i64(w, p->log_append_time_ms);
			if (version >= 5)
				kw_i64(w, p->log_start_offset);
			if (version >= 8) {
				int32_t ne = produce_nonneg(p->record_errors_count);
				kw_array_len_f(w, flexible, ne);
				for (int32_t k = 0; k < ne; k++) {
					kw_i32(w, p->record_errors[k].batch_index);
					kw_kstr_f(w, flexible, p->record_errors[k].batch_index_error_message);
					kw_tags_f(w, flexible);
				}
				kw_kstr_f(w, flexible, p->error_message);
			}
			kw_tags_f(w, flexible);
		}
		kw_tags_f(w, flexible);
	}
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	kw_tags_f(w, flexible);
}

void produce_response_free(struct produce_response *resp)
{
	for (int32_t i = 0; i < resp->responses_count; i++) {
		struct produce_topic_response *t = &resp->responses[i];
		for (int32_t j = 0; j < t->partition_responses_count; j++)
			free(t->partition_responses[j].record_errors);
		free(t->partition_responses);
	}
	free(resp->responses);
	resp->responses = NULL;
	resp->responses_count = 0;
}
