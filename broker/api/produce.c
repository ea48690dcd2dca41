/* Produce: socket frame -> validated batch -> offsets assigned -> segment.
 *
 * Per partition: look the partition up, check the record set is exactly one
 * magic-2 batch within max.message.bytes, validate it fully (CRC, records,
 * codec) before anything is written, assign offsets in place (base offset,
 * leader epoch, CRC; never re-compressed) and append. A partition's failure
 * never appends part of a batch and does not affect the other partitions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "broker/net/net.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/produce.h"

/* Produce v7 is the first that may carry zstd (KIP-110). */
#define PRODUCE_ZSTD_MIN_VERSION 7

struct produce_result {
	int16_t error_code;
	int64_t base_offset;
	int64_t log_append_time_ms;
	int64_t log_start_offset;
};

static int16_t produce_partition(struct api_request *req, struct partition *p, struct kbytes records,
				 int16_t acks, struct produce_result *res)
{
	struct broker *b = req->broker;
	const struct topic_config *tc = &p->topic->config;
	struct batch_info info;

	res->log_start_offset = log_start_offset(p->log);
	if (records.len < 0 || records.p == NULL)
		return KERR_INVALID_RECORD;
	size_t total = (size_t)records.len;
	/* Produce v3+ carries exactly one batch per partition (Kafka's
	 * ProduceRequest.validateRecords: INVALID_RECORD otherwise). */
	if (total >= BATCH_LOG_OVERHEAD) {
		int64_t first = (int64_t)BATCH_LOG_OVERHEAD + batch_get_i32(records.p + BATCH_OFF_LENGTH);
		if (first >= BATCH_LOG_OVERHEAD && first < (int64_t)total)
			return KERR_INVALID_RECORD;
	}
	/* max.message.bytes bounds the batch as stored (Kafka's
	 * RecordTooLargeException), checked before spending CPU on it. */
	if (total > (size_t)tc->max_message_bytes)
		return KERR_MESSAGE_TOO_LARGE;
	/* Magic 0/1 answers UNSUPPORTED_FOR_MESSAGE_FORMAT (batch_validate), a
	 * bad CRC CORRUPT_MESSAGE; a decompressed batch may not exceed what a
	 * request may carry. */
	int err = batch_validate(records.p, total, (size_t)b->cfg->socket_request_max_bytes, &info);
	if (err != KERR_NONE)
		return (int16_t)err;
	if (info.codec == BATCH_COMPRESSION_ZSTD && req->hdr.api_version < PRODUCE_ZSTD_MIN_VERSION)
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	/* acks=all needs min.insync.replicas in sync; a single broker is an ISR
	 * of one. Checked before appending: nothing is written. */
	if (acks == -1 && tc->min_insync_replicas > 1)
		return KERR_NOT_ENOUGH_REPLICAS;

	/* The frame belongs to this request (net allocated it for us); offsets
	 * are assigned in place instead of copying the batch. */
	uint8_t *batch = (uint8_t *)(uintptr_t)records.p;
	int64_t base = log_end_offset(p->log);
	int64_t now = broker_now_ms();
	int64_t append_time = tc->log_append_time ? now : -1;
	/* CreateTime: the header's max timestamp is the largest record
	 * timestamp, as Kafka's LogValidator rewrites it. */
	if (append_time < 0 && batch_set_max_timestamp(batch, info.max_timestamp))
		batch_update_crc(batch, total);
	batch_assign_offsets(batch, total, base, p->leader_epoch, append_time);
	int rc = log_append(p->log, batch, total, now);
	if (rc != 0) {
		tlog(TLOG_ERROR, "produce", "%s-%d: append at offset %lld failed: %s", p->topic->name, p->index,
		     (long long)base, strerror(-rc));
		return KERR_KAFKA_STORAGE_ERROR;
	}
	res->base_offset = base;
	res->log_append_time_ms = append_time;
	res->log_start_offset = log_start_offset(p->log);
	broker_partition_appended(b, p);
	return KERR_NONE;
}

void api_produce_handle(struct api_request *req)
{
	struct produce_request pr;
	struct produce_response resp = {0};
	int16_t v = req->hdr.api_version;

	if (produce_request_decode(&req->body, v, &pr) != 0) {
		api_close(req);
		return;
	}
	bool bad_acks = pr.acks != 0 && pr.acks != 1 && pr.acks != -1;
	resp.responses = calloc((size_t)pr.topic_data_count + 1, sizeof *resp.responses);
	if (!resp.responses)
		goto oom;
	resp.responses_count = pr.topic_data_count;
	for (int32_t i = 0; i < pr.topic_data_count; i++) {
		struct produce_topic_data *td = &pr.topic_data[i];
		struct produce_topic_response *tr = &resp.responses[i];
		tr->name = td->name;
		tr->partition_responses = calloc((size_t)td->partition_data_count + 1, sizeof *tr->partition_responses);
		if (!tr->partition_responses)
			goto oom;
		tr->partition_responses_count = td->partition_data_count;
		for (int32_t j = 0; j < td->partition_data_count; j++) {
			struct produce_partition_data *pd = &td->partition_data[j];
			struct produce_partition_response *out = &tr->partition_responses[j];
			struct produce_result res = {KERR_NONE, -1, -1, -1};
			struct partition *p = topics_partition(&req->broker->topics, td->name, pd->index);
			if (bad_acks)
				res.error_code = KERR_INVALID_REQUIRED_ACKS;
			else if (!p)
				res.error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			else
				res.error_code = produce_partition(req, p, pd->records, pr.acks, &res);
			if (res.error_code != KERR_NONE)
				tlog(TLOG_DEBUG, "produce", "peer=%s %.*s-%d: error %d", net_request_peer(req->net),
				     td->name.len, td->name.p, pd->index, res.error_code);
			out->index = pd->index;
			out->error_code = res.error_code;
			out->base_offset = res.base_offset;
			out->log_append_time_ms = res.log_append_time_ms;
			out->log_start_offset = res.log_start_offset;
			out->error_message.len = -1;
		}
	}

	if (pr.acks == 0) {
		/* acks=0: no response at all, whatever happened (Kafka closes the
		 * connection on an error so the producer notices; do the same). */
		bool failed = false;
		for (int32_t i = 0; i < resp.responses_count; i++)
			for (int32_t j = 0; j < resp.responses[i].partition_responses_count; j++)
				failed |= resp.responses[i].partition_responses[j].error_code != KERR_NONE;
		for (int32_t i = 0; i < resp.responses_count; i++)
			free(resp.responses[i].partition_responses);
		free(resp.responses);
		produce_request_free(&pr);
		if (failed)
			net_request_close(req->net), free(req);
		else
			api_respond_none(req);
		return;
	}

	struct kwriter w;
	kw_init(&w, 128);
	produce_response_encode(&w, v, &resp);
	for (int32_t i = 0; i < resp.responses_count; i++)
		free(resp.responses[i].partition_responses);
	free(resp.responses);
	produce_request_free(&pr);
	api_respond(req, &w);
	return;
oom:
	if (resp.responses) {
		for (int32_t i = 0; i < resp.responses_count; i++)
			free(resp.responses[i].partition_responses);
		free(resp.responses);
	}
	produce_request_free(&pr);
	api_close(req);
}
