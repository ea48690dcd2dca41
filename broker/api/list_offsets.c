/* ListOffsets: earliest (-2), latest (-1), max timestamp (-3, KIP-734), or
 * the first offset at or after a timestamp (through the time index). */
#include <errno.h>
#include <stdlib.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/log/log.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/list_offsets.h"

static void list_offsets_partition(struct broker *b, struct kstr topic, const struct list_offsets_partition *in,
				   int16_t version, struct list_offsets_partition_response *out)
{
	int16_t lookup_err = KERR_NONE;
	struct partition *p = broker_leader_partition(b, topic, in->partition_index, &lookup_err);
	out->partition_index = in->partition_index;
	out->timestamp = -1;
	out->offset = -1;
	out->leader_epoch = -1;
	if (!p) {
		out->error_code = lookup_err;
		return;
	}
	out->error_code = broker_leader_epoch_check(p, in->current_leader_epoch);
	if (out->error_code != KERR_NONE)
		return;
	out->leader_epoch = p->leader_epoch;
	int64_t off, ts;
	int rc;
	switch (in->timestamp) {
	case LIST_OFFSETS_EARLIEST_TIMESTAMP:
		out->offset = log_start_offset(p->log);
		return;
	case LIST_OFFSETS_LATEST_TIMESTAMP:
		out->offset = log_end_offset(p->log);
		return;
	case LIST_OFFSETS_MAX_TIMESTAMP:
		rc = log_max_timestamp(p->log, &off, &ts);
		break;
	default:
		if (in->timestamp < 0) {
			out->error_code = KERR_INVALID_REQUEST;
			return;
		}
		rc = log_offset_for_timestamp(p->log, in->timestamp, &off, &ts);
		break;
	}
	if (rc == 0) {
		out->offset = off;
		out->timestamp = ts;
	} else if (rc != -ENOENT) {
		out->error_code = KERR_KAFKA_STORAGE_ERROR;
	}
	(void)version;
}

void api_list_offsets_handle(struct api_request *req)
{
	struct list_offsets_request lr;
	struct list_offsets_response resp = {0};
	int16_t v = req->hdr.api_version;
	if (list_offsets_request_decode(&req->body, v, &lr) != 0) {
		api_close(req);
		return;
	}
	resp.topics = calloc((size_t)lr.topics_count + 1, sizeof *resp.topics);
	if (!resp.topics)
		goto oom;
	resp.topics_count = lr.topics_count;
	for (int32_t i = 0; i < lr.topics_count; i++) {
		struct list_offsets_topic *t = &lr.topics[i];
		struct list_offsets_topic_response *tr = &resp.topics[i];
		tr->name = t->name;
		tr->partitions = calloc((size_t)t->partitions_count + 1, sizeof *tr->partitions);
		if (!tr->partitions)
			goto oom;
		tr->partitions_count = t->partitions_count;
		for (int32_t j = 0; j < t->partitions_count; j++)
			list_offsets_partition(req->broker, t->name, &t->partitions[j], v, &tr->partitions[j]);
	}
	struct kwriter w;
	kw_init(&w, 128);
	list_offsets_response_encode(&w, v, &resp);
	for (int32_t i = 0; i < resp.topics_count; i++)
		free(resp.topics[i].partitions);
	free(resp.topics);
	list_offsets_request_free(&lr);
	api_respond(req, &w);
	return;
oom:
	if (resp.topics)
		for (int32_t i = 0; i < resp.topics_count; i++)
			free(resp.topics[i].partitions);
	free(resp.topics);
	list_offsets_request_free(&lr);
	api_close(req);
}
