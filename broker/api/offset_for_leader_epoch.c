/* OffsetForLeaderEpoch (API 23): where a leader epoch ends in a partition this
 * broker leads. A follower asks it to find the suffix of its log that diverges
 * from the leader's (KIP-101, KIP-279); a consumer asks it to validate its
 * position after a leader change (KIP-320). The answer comes from the log's
 * leader-epoch history (log_end_offset_for_epoch). */
#include <stdlib.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/log/log.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/offset_for_leader_epoch.h"

static void offset_for_leader_epoch_partition(struct broker *b, struct kstr topic,
					      const struct offset_for_leader_epoch_partition *in,
					      struct offset_for_leader_epoch_end_offset *out)
{
	int16_t lookup_err = KERR_NONE;
	struct partition *p = broker_leader_partition(b, topic, in->partition, &lookup_err);
	out->partition = in->partition;
	out->leader_epoch = -1;
	out->end_offset = -1;
	if (!p) {
		out->error_code = lookup_err;
		return;
	}
	out->error_code = broker_leader_epoch_check(p, in->current_leader_epoch);
	if (out->error_code != KERR_NONE)
		return;

	int32_t requested = in->leader_epoch;
	int32_t latest = log_latest_epoch(p->log);
	if (requested >= 0 && requested > latest && requested <= p->leader_epoch) {
		/* Kafka's leader records its epoch at the log end offset as it
		 * takes over (Partition.makeLeader); Tern's log records an epoch
		 * with its first batch. Until that batch, answer as if the current
		 * epoch started at the log end, so that a consumer whose position
		 * carries the current epoch (from ListOffsets) is not told its
		 * epoch is unknown and reset. */
		out->leader_epoch = requested == p->leader_epoch || latest < 0 ? requested : latest;
		out->end_offset = log_end_offset(p->log);
		return;
	}
	/* -ENOENT (epoch unknown) is no error: UNDEFINED_EPOCH and
	 * UNDEFINED_EPOCH_OFFSET (-1, -1), as Kafka answers. */
	int32_t epoch;
	int64_t end;
	if (log_end_offset_for_epoch(p->log, requested, &epoch, &end) == 0) {
		out->leader_epoch = epoch;
		out->end_offset = end;
	}
}

void api_offset_for_leader_epoch_handle(struct api_request *req)
{
	struct offset_for_leader_epoch_request lr;
	struct offset_for_leader_epoch_response resp = {0};
	int16_t v = req->hdr.api_version;
	if (offset_for_leader_epoch_request_decode(&req->body, v, &lr) != 0) {
		api_close(req);
		return;
	}
	/* Counts are bounded by the request's size (the codec checks them
	 * against the bytes left before allocating). */
	resp.topics = calloc((size_t)lr.topics_count + 1, sizeof *resp.topics);
	if (!resp.topics)
		goto oom;
	resp.topics_count = lr.topics_count;
	for (int32_t i = 0; i < lr.topics_count; i++) {
		struct offset_for_leader_epoch_topic *t = &lr.topics[i];
		struct offset_for_leader_epoch_topic_result *tr = &resp.topics[i];
		tr->topic = t->topic; /* a view into the request frame, valid until api_respond */
		tr->partitions = calloc((size_t)t->partitions_count + 1, sizeof *tr->partitions);
		if (!tr->partitions)
			goto oom;
		tr->partitions_count = t->partitions_count;
		for (int32_t j = 0; j < t->partitions_count; j++)
			offset_for_leader_epoch_partition(req->broker, t->topic, &t->partitions[j], &tr->partitions[j]);
	}
	struct kwriter w;
	kw_init(&w, 128);
	offset_for_leader_epoch_response_encode(&w, v, &resp);
	for (int32_t i = 0; i < resp.topics_count; i++)
		free(resp.topics[i].partitions);
	free(resp.topics);
	offset_for_leader_epoch_request_free(&lr);
	api_respond(req, &w);
	return;
oom:
	if (resp.topics)
		for (int32_t i = 0; i < resp.topics_count; i++)
			free(resp.topics[i].partitions);
	free(resp.topics);
	offset_for_leader_epoch_request_free(&lr);
	api_close(req);
}
