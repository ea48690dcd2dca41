#include "broker/protocol/fetch.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Response partition tagged fields (v12+). */
#define FETCH_TAG_DIVERGING_EPOCH 0

static bool fetch_in_range(int16_t version)
{
	return version >= FETCH_MIN_VERSION && version <= FETCH_MAX_VERSION;
}

/* Count of an array; null (-1) is malformed unless nullable. The count is
 * already bounded by bytes left / min_elem. */
static int32_t fetch_count(struct kreader *r, bool flexible, size_t min_elem, bool nullable)
{
	int32_t n = kr_array_len_f(r, flexible, min_elem);
	if (n < 0 && !nullable) {
		if (kr_ok(r))
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static int32_t fetch_nonneg(int32_t n)
{
	return n < 0 ? 0 : n;
}

/* Smallest encoding of a request partition in this version. */
static size_t fetch_partition_min(int16_t version)
{
	size_t n = 4 + 8 + 4; /* partition, fetch_offset, partition_max_bytes */
	if (version >= 9)
		n += 4;
	if (version >= 12)
		n += 4 + 1; /* last_fetched_epoch, tags */
	if (version >= 5)
		n += 8;
	return n;
}

int fetch_request_decode(struct kreader *r, int16_t version, struct fetch_request *out)
{
	bool flexible = version >= FETCH_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	out->session_epoch = -1;
	out->rack_id.p = "";
	out->rack_id.len = 0;
	if (!fetch_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	out->replica_id = kr_i32(r);
	out->max_wait_ms = kr_i32(r);
	out->min_bytes = kr_i32(r);
	out->max_bytes = kr_i32(r);
	out->isolation_level = kr_i8(r);
	if (version >= 7) {
		out->session_id = kr_i32(r);
		out->session_epoch = kr_i32(r);
	}
	int32_t nt = fetch_count(r, flexible, flexible ? 3 : 6, false);
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (out->topics)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && kr_ok(r); i++) {
		struct fetch_topic *t = &out->topics[i];
		kr_str_f(r, flexible, &t->topic);
		int32_t np = fetch_count(r, flexible, fetch_partition_min(version), false);
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (t->partitions)
			t->partitions_count = np;
		for (int32_t j = 0; j < t->partitions_count && kr_ok(r); j++) {
			struct fetch_partition *p = &t->partitions[j];
			p->partition = kr_i32(r);
			p->current_leader_epoch = version >= 9 ? kr_i32(r) : -1;
			p->fetch_offset = kr_i64(r);
			p->last_fetched_epoch = version >= 12 ? kr_i32(r) : -1;
			p->log_start_offset = version >= 5 ? kr_i64(r) : -1;
			p->partition_max_bytes = kr_i32(r);
			if (flexible)
				kr_skip_tags(r);
		}
		if (flexible)
			kr_skip_tags(r);
	}
	if (version >= 7) {
		int32_t nf = fetch_count(r, flexible, flexible ? 3 : 6, false);
		out->forgotten_topics_data = kr_calloc(r, nf, sizeof *out->forgotten_topics_data);
		if (out->forgotten_topics_data)
			out->forgotten_topics_data_count = nf;
		for (int32_t i = 0; i < out->forgotten_topics_data_count && kr_ok(r); i++) {
			struct fetch_forgotten_topic *f = &out->forgotten_topics_data[i];
			kr_str_f(r, flexible, &f->topic);
			int32_t np = fetch_count(r, flexible, 4, false);
			f->partitions = kr_calloc(r, np, sizeof *f->partitions);
			if (f->partitions)
				f->partitions_count = np;
			for (int32_t j = 0; j < f->partitions_count && kr_ok(r); j++)
				f->partitions[j] = kr_i32(r);
			if (flexible)
				kr_skip_tags(r);
		}
	}
	if (version >= 11)
		kr_str_f(r, flexible, &out->rack_id);
	if (flexible)
		kr_skip_tags(r); /* cluster_id (tag 0) is not used */
	if (kr_ok(r))
		return 0;
	fetch_request_free(out);
	return -1;
}

void fetch_request_encode(struct kwriter *w, int16_t version, const struct fetch_request *in)
{
	bool flexible = version >= FETCH_FLEXIBLE_VERSION;
	assert(fetch_in_range(version));
	kw_i32(w, in->replica_id);
	kw_i32(w, in->max_wait_ms);
	kw_i32(w, in->min_bytes);
	kw_i32(w, in->max_bytes);
	kw_i8(w, in->isolation_level);
	if (version >= 7) {
		kw_i32(w, in->session_id);
		kw_i32(w, in->session_epoch);
	}
	int32_t nt = fetch_nonneg(in->topics_count);
	kw_array_len_f(w, flexible, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct fetch_topic *t = &in->topics[i];
		kw_kstr_nonnull_f(w, flexible, t->topic);
		int32_t np = fetch_nonneg(t->partitions_count);
		kw_array_len_f(w, flexible, np);
		for (int32_t j = 0; j < np; j++) {
			const struct fetch_partition *p = &t->partitions[j];
			kw_i32(w, p->partition);
			if (version >= 9)
				kw_i32(w, p->current_leader_epoch);
			kw_i64(w, p->fetch_offset);
			if (version >= 12)
				kw_i32(w, p->last_fetched_epoch);
			if (version >= 5)
				kw_i64(w, p->log_start_offset);
			kw_i32(w, p->partition_max_bytes);
			kw_tags_f(w, flexible);
		}
		kw_tags_f(w, flexible);
	}
	if (version >= 7) {
		int32_t nf = fetch_nonneg(in->forgotten_topics_data_count);
		kw_array_len_f(w, flexible, nf);
		for (int32_t i = 0; i < nf; i++) {
			const struct fetch_forgotten_topic *f = &in->forgotten_topics_data[i];
			kw_kstr_nonnull_f(w, flexible, f->topic);
			int32_t np = fetch_nonneg(f->partitions_count);
			kw_array_len_f(w, flexible, np);
			for (int32_t j = 0; j < np; j++)
				kw_i32(w, f->partitions[j]);
			kw_tags_f(w, flexible);
		}
	}
	if (version >= 11)
		kw_kstr_nonnull_f(w, flexible, in->rack_id);
	kw_tags_f(w, flexible);
}

void fetch_request_free(struct fetch_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++)
		free(req->topics[i].partitions);
	free(req->topics);
	for (int32_t i = 0; i < req->forgotten_topics_data_count; i++)
		free(req->forgotten_topics_data[i].partitions);
	free(req->forgotten_topics_data);
	req->topics = NULL;
	req->topics_count = 0;
	req->forgotten_topics_data = NULL;
	req->forgotten_topics_data_count = 0;
}

/* Smallest encoding of a response partition in this version. */
static size_t fetch_partition_data_min(int16_t version)
{
	bool flexible = version >= FETCH_FLEXIBLE_VERSION;
	/* partition_index, error_code, high_watermark, last_stable_offset */
	size_t n = 4 + 2 + 8 + 8;
	if (version >= 5)
		n += 8;
	if (version >= 11)
		n += 4;
	n += flexible ? 1 + 1 + 1 : 4 + 4; /* aborted_transactions, records (, tags) */
	return n;
}

/* The tagged-field section of a response partition: keeps diverging_epoch,
 * skips the rest. Each field is narrowed to its declared size, so a bad
 * inner length cannot read past it. */
static void fetch_partition_data_tags(struct kreader *r, struct fetch_partition_data *p)
{
	uint32_t n = kr_uvarint(r);
	if (!kr_ok(r))
		return;
	if (n > r->left / 2) { /* tag + size take at least 2 bytes */
		r->err = KR_EUNDERFLOW;
		return;
	}
	for (uint32_t i = 0; i < n && kr_ok(r); i++) {
		uint32_t tag = kr_uvarint(r);
		uint32_t size = kr_uvarint(r);
		struct kreader field;
		kr_sub(r, size, &field);
		if (!kr_ok(r) || tag != FETCH_TAG_DIVERGING_EPOCH)
			continue;
		p->diverging_epoch.epoch = kr_i32(&field);
		p->diverging_epoch.end_offset = kr_i64(&field);
		kr_skip_tags(&field);
		if (!kr_ok(&field))
			r->err = field.err;
	}
}

static void fetch_partition_data_put_tags(struct kwriter *w, const struct fetch_partition_data *p)
{
	/* Kafka writes a tagged field only when it differs from its default. */
	if (p->diverging_epoch.epoch == -1 && p->diverging_epoch.end_offset == -1) {
		kw_uvarint(w, 0);
		return;
	}
	kw_uvarint(w, 1);
	kw_uvarint(w, FETCH_TAG_DIVERGING_EPOCH);
	kw_uvarint(w, 4 + 8 + 1); /* epoch, end_offset, empty tags */
	kw_i32(w, p->diverging_epoch.epoch);
	kw_i64(w, p->diverging_epoch.end_offset);
	kw_uvarint(w, 0);
}

int fetch_response_decode(struct kreader *r, int16_t version, struct fetch_response *out)
{
	bool flexible = version >= FETCH_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	if (!fetch_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	out->throttle_time_ms = kr_i32(r);
	if (version >= 7) {
		out->error_code = kr_i16(r);
		out->session_id = kr_i32(r);
	}
	int32_t nt = fetch_count(r, flexible, flexible ? 3 : 6, false);
	out->responses = kr_calloc(r, nt, sizeof *out->responses);
	if (out->responses)
		out->responses_count = nt;
	for (int32_t i = 0; i < out->responses_count && kr_ok(r); i++) {
		struct fetch_topic_response *t = &out->responses[i];
		kr_str_f(r, flexible, &t->topic);
		int32_t np = fetch_count(r, flexible, fetch_partition_data_min(version), false);
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (t->partitions)
			t->partitions_count = np;
		for (int32_t j = 0; j < t->partitions_count && kr_ok(r); j++) {
			struct fetch_partition_data *p = &t->partitions[j];
			p->diverging_epoch.epoch = -1;
			p->diverging_epoch.end_offset = -1;
			p->partition_index = kr_i32(r);
			p->error_code = kr_i16(r);
			p->high_watermark = kr_i64(r);
			p->last_stable_offset = kr_i64(r);
			p->log_start_offset = version >= 5 ? kr_i64(r) : -1;
			/* producer_id + first_offset (+ tags) */
			int32_t na = fetch_count(r, flexible, flexible ? 17 : 16, true);
			p->aborted_transactions_count = na < 0 ? -1 : 0;
			p->aborted_transactions = kr_calloc(r, na, sizeof *p->aborted_transactions);
			if (p->aborted_transactions)
				p->aborted_transactions_count = na;
			for (int32_t k = 0; k < p->aborted_transactions_count && kr_ok(r); k++) {
				p->aborted_transactions[k].producer_id = kr_i64(r);
				p->aborted_transactions[k].first_offset = kr_i64(r);
				if (flexible)
					kr_skip_tags(r);
			}
			p->preferred_read_replica = version >= 11 ? kr_i32(r) : -1;
			kr_bytes_f(r, flexible, &p->records);
			if (flexible)
				fetch_partition_data_tags(r, p);
		}
		if (flexible)
			kr_skip_tags(r);
	}
	if (flexible)
		kr_skip_tags(r);
	if (kr_ok(r))
		return 0;
	fetch_response_free(out);
	return -1;
}

/* With `holes`, the bytes of every non-empty record set are left out and
 * their positions recorded; returns how many. */
static size_t fetch_response_encode_impl(struct kwriter *w, int16_t version, const struct fetch_response *in,
					 size_t *holes)
{
	bool flexible = version >= FETCH_FLEXIBLE_VERSION;
	size_t nholes = 0;
	assert(fetch_in_range(version));
	kw_i32(w, in->throttle_time_ms);
	if (version >= 7) {
		kw_i16(w, in->error_code);
		kw_i32(w, in->session_id);
	}
	int32_t nt = fetch_nonneg(in->responses_count);
	kw_array_len_f(w, flexible, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct fetch_topic_response *t = &in->responses[i];
		kw_kstr_nonnull_f(w, flexible, t->topic);
		int32_t np = fetch_nonneg(t->partitions_count);
		kw_array_len_f(w, flexible, np);
		for (int32_t j = 0; j < np; j++) {
			const struct fetch_partition_data *p = &t->partitions[j];
			kw_i32(w, p->partition_index);
			kw_i16(w, p->error_code);
			kw_i64(w, p->high_watermark);
			kw_i64(w, p->last_stable_offset);
			if (version >= 5)
				kw_i64(w, p->log_start_offset);
			int32_t na = p->aborted_transactions_count < 0 ? -1 : p->aborted_transactions_count;
			kw_array_len_f(w, flexible, na);
			for (int32_t k = 0; k < na; k++) {
				kw_i64(w, p->aborted_transactions[k].producer_id);
				kw_i64(w, p->aborted_transactions[k].first_offset);
				kw_tags_f(w, flexible);
			}
			if (version >= 11)
				kw_i32(w, p->preferred_read_replica);
			if (holes != NULL && p->records.len > 0) {
				/* The size prefix only; the caller sends the bytes. */
				if (flexible)
					kw_uvarint(w, (uint32_t)p->records.len + 1);
				else
					kw_i32(w, p->records.len);
				holes[nholes++] = w->len;
			} else {
				kw_bytes_f(w, flexible, p->records.p, p->records.len);
			}
			if (flexible)
				fetch_partition_data_put_tags(w, p);
		}
		kw_tags_f(w, flexible);
	}
	kw_tags_f(w, flexible);
	return nholes;
}

void fetch_response_encode(struct kwriter *w, int16_t version, const struct fetch_response *in)
{
	(void)fetch_response_encode_impl(w, version, in, NULL);
}

size_t fetch_response_record_sets(const struct fetch_response *in)
{
	size_t n = 0;
	for (int32_t i = 0; i < in->responses_count; i++)
		for (int32_t j = 0; j < in->responses[i].partitions_count; j++)
			if (in->responses[i].partitions[j].records.len > 0)
				n++;
	return n;
}

size_t fetch_response_encode_holes(struct kwriter *w, int16_t version, const struct fetch_response *in,
				   size_t *holes)
{
	return fetch_response_encode_impl(w, version, in, holes);
}

void fetch_response_free(struct fetch_response *resp)
{
	for (int32_t i = 0; i < resp->responses_count; i++) {
		struct fetch_topic_response *t = &resp->responses[i];
		for (int32_t j = 0; j < t->partitions_count; j++)
			free(t->partitions[j].aborted_transactions);
		free(t->partitions);
	}
	free(resp->responses);
	resp->responses = NULL;
	resp->responses_count = 0;
}
