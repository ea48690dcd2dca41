/* Produce: socket frame -> validated batch -> offsets assigned -> segment.
 *
 * Per partition: look the partition up, up-convert a legacy message set
 * (Produce v0-v2, magic 0/1) to one v2 batch, check the record set is exactly
 * one magic-2 batch within max.message.bytes, validate it fully (CRC, records,
 * codec) before anything is written, assign offsets in place (base offset,
 * leader epoch; never re-compressed) and append. A partition's failure never
 * appends part of a batch and does not affect the other partitions.
 *
 * Claim-check topics: a batch that may hold a value of at least
 * claimcheck.threshold.bytes goes through the claim-check stage first (on its
 * worker pool), which stores the large values and returns the batch with
 * references; it is appended when that completes. Appends to one partition
 * keep the order in which requests arrived: while a partition has a batch in
 * the stage, later batches for it wait in its queue (struct partition's
 * pending list). The response goes out when every partition is done.
 *
 * Idempotent producers: just before its append, a batch with a producer id
 * meets the partition's producer state (broker/log/producer_state.h): a retry
 * of an appended batch gets its original offset back, a gap or a fenced epoch
 * an error, and nothing is appended for either.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/group/group_log.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "broker/net/net.h"
#include "broker/offload.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/legacy.h"
#include "broker/protocol/produce.h"
#include "claimcheck/claimcheck.h"

/* Produce v7 is the first that may carry zstd (KIP-110). */
#define PRODUCE_ZSTD_MIN_VERSION 7

/* One produce request in flight: answered when `pending` reaches zero. */
struct produce_ctx {
	struct api_request *req;
	struct produce_request pr;
	struct produce_response resp;
	int pending; /* partitions not done yet, +1 while the request is being dispatched */
	struct produce_waiter *waiters; /* its acks=all partitions still waiting (ctx_next) */
	struct event *timer;            /* their timeout_ms */
};

/* acks=all with followers: a partition's answer waits until the high
 * watermark reaches the end of its batch - every in-sync replica has it -
 * or the request's timeout passes (REQUEST_TIMED_OUT), or the broker stops
 * leading (NOT_LEADER_OR_FOLLOWER): Kafka's DelayedProduce. */
struct produce_waiter {
	struct produce_waiter *next;     /* in its partition's list */
	struct produce_waiter *ctx_next; /* in its request's list */
	struct produce_ctx *ctx;
	struct partition *partition;
	struct produce_partition_response *out;
	int64_t required; /* the high watermark that completes it */
};

enum produce_job_state {
	PRODUCE_JOB_QUEUED,   /* waits behind an earlier job of its partition */
	PRODUCE_JOB_IN_STAGE, /* in the claim-check stage */
	PRODUCE_JOB_READY,    /* stage done: append (or fail) when it reaches the head */
};

/* One partition's batch waiting in its partition's queue. */
struct produce_job {
	struct produce_job *next;
	struct produce_ctx *ctx;
	struct produce_partition_response *out;
	struct partition *partition; /* NULL once its topic was deleted */
	enum produce_job_state state;
	bool needs_stage;
	uint8_t *batch; /* the request's batch (in the frame) */
	size_t total;
	struct batch_info info;
	uint8_t *stored;  /* the rewritten batch from the stage (owned), or NULL */
	size_t stored_len;
	int16_t error_code; /* the stage's verdict */
};

static void produce_finish(struct produce_ctx *ctx);

static void produce_timeout_cb(evutil_socket_t fd, short what, void *arg);

/* Parks `out` until p's high watermark reaches `required`. Returns false
 * when memory ran out (the caller answers at once). */
static bool produce_wait(struct produce_ctx *ctx, struct partition *p, struct produce_partition_response *out,
			 int64_t required)
{
	struct produce_waiter *w = calloc(1, sizeof *w);
	if (!w)
		return false;
	if (!ctx->timer) {
		ctx->timer = evtimer_new(ctx->req->broker->base, produce_timeout_cb, ctx);
		int32_t ms = ctx->pr.timeout_ms > 0 ? ctx->pr.timeout_ms : 0;
		struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
		if (!ctx->timer || evtimer_add(ctx->timer, &tv) != 0) {
			free(w);
			return false;
		}
	}
	w->ctx = ctx;
	w->partition = p;
	w->out = out;
	w->required = required;
	w->next = p->hw_waiters;
	p->hw_waiters = w;
	w->ctx_next = ctx->waiters;
	ctx->waiters = w;
	ctx->pending++;
	return true;
}

/* Takes `w` off its request's list and completes it with `err`. */
static void produce_waiter_done(struct produce_waiter *w, int16_t err)
{
	struct produce_ctx *ctx = w->ctx;
	for (struct produce_waiter **pp = &ctx->waiters; *pp; pp = &(*pp)->ctx_next)
		if (*pp == w) {
			*pp = w->ctx_next;
			break;
		}
	w->out->error_code = err;
	free(w);
	if (--ctx->pending == 0)
		produce_finish(ctx);
}

static void produce_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct produce_ctx *ctx = arg;
	/* Holds the request while its waiters go. */
	ctx->pending++;
	while (ctx->waiters) {
		struct produce_waiter *w = ctx->waiters;
		struct partition *p = w->partition;
		for (struct produce_waiter **pp = &p->hw_waiters; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		produce_waiter_done(w, KERR_REQUEST_TIMED_OUT);
	}
	if (--ctx->pending == 0)
		produce_finish(ctx);
}

void api_produce_hw_advanced(struct partition *p)
{
	struct produce_waiter **pp = &p->hw_waiters;
	while (*pp) {
		struct produce_waiter *w = *pp;
		if (w->required <= p->high_watermark) {
			*pp = w->next;
			produce_waiter_done(w, KERR_NONE);
		} else {
			pp = &w->next;
		}
	}
}

void api_produce_hw_fail(struct partition *p, int16_t err)
{
	while (p->hw_waiters) {
		struct produce_waiter *w = p->hw_waiters;
		p->hw_waiters = w->next;
		produce_waiter_done(w, err);
	}
}

/* Idempotent producers (KIP-98): a batch with a producer id is checked
 * against the partition's producer state, in append order. A retry of a
 * batch already in the log is acknowledged with its original offset and not
 * appended again (with acks=all, once the high watermark passes it, as the
 * original); a sequence gap or an older epoch is refused. Returns KERR_NONE
 * with *handled true when the answer is complete without an append. */
static int16_t produce_idempotence(struct produce_ctx *ctx, struct partition *p, const uint8_t *batch, size_t total,
				   const struct batch_info *info, struct produce_partition_response *out, bool *handled)
{
	*handled = false;
	struct producer_state_verdict v;
	if (info->producer_id < 0 || log_producer_check(p->log, batch, total, &v) != 0)
		return KERR_NONE;
	switch (v.result) {
	case PRODUCER_STATE_NEW:
		return KERR_NONE;
	case PRODUCER_STATE_OUT_OF_ORDER:
		tlog(TLOG_DEBUG, "produce", "%s-%d: producer %lld epoch %d: sequence %d after %d", p->topic->name, p->index,
		     (long long)info->producer_id, info->producer_epoch, info->base_sequence, v.known_last_seq);
		return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	case PRODUCER_STATE_INVALID_EPOCH:
		return KERR_INVALID_PRODUCER_EPOCH;
	case PRODUCER_STATE_DUPLICATE:
		break;
	}
	*handled = true;
	tlog(TLOG_DEBUG, "produce", "%s-%d: producer %lld epoch %d: batch at sequence %d is already at offset %lld",
	     p->topic->name, p->index, (long long)info->producer_id, info->producer_epoch, info->base_sequence,
	     (long long)v.first_offset);
	struct broker *b = ctx->req->broker;
	out->base_offset = v.first_offset;
	out->log_append_time_ms = -1;
	out->log_start_offset = log_start_offset(p->log);
	if (ctx->pr.acks == -1 && b->metadata != NULL && p->high_watermark <= v.last_offset &&
	    !produce_wait(ctx, p, out, v.last_offset + 1))
		return KERR_REQUEST_TIMED_OUT;
	return KERR_NONE;
}

/* Assigns offsets and appends one validated batch; an acks=all batch of a
 * replicated partition then waits for the high watermark. */
static int16_t produce_append(struct produce_ctx *ctx, struct partition *p, uint8_t *batch, size_t total,
			      const struct batch_info *info, struct produce_partition_response *out)
{
	struct api_request *req = ctx->req;
	bool duplicate;
	int16_t idem = produce_idempotence(ctx, p, batch, total, info, out, &duplicate);
	if (idem != KERR_NONE || duplicate)
		return idem;
	const struct topic_config *tc = &p->topic->config;
	int64_t base = log_end_offset(p->log);
	int64_t now = broker_now_ms();
	int64_t append_time = tc->log_append_time ? now : -1;
	/* CreateTime: the header's max timestamp is the largest record
	 * timestamp, as Kafka's LogValidator rewrites it. */
	if (append_time < 0 && batch_set_max_timestamp(batch, info->max_timestamp))
		batch_update_crc(batch, total);
	batch_assign_offsets(batch, total, base, p->leader_epoch, append_time);
	int rc = log_append(p->log, batch, total, now);
	if (rc != 0) {
		tlog(TLOG_ERROR, "produce", "%s-%d: append at offset %lld failed: %s", p->topic->name, p->index,
		     (long long)base, strerror(-rc));
		return KERR_KAFKA_STORAGE_ERROR;
	}
	out->base_offset = base;
	out->log_append_time_ms = append_time;
	out->log_start_offset = log_start_offset(p->log);
	offload_appended(req->broker, p, batch, total);
	broker_partition_appended(req->broker, p);
	int64_t end = log_end_offset(p->log);
	if (ctx->pr.acks == -1 && req->broker->metadata != NULL && p->high_watermark < end &&
	    !produce_wait(ctx, p, out, end))
		return KERR_REQUEST_TIMED_OUT; /* no memory to wait: appended, not known replicated */
	return KERR_NONE;
}

/* The bound on a batch's decompressed records: the request limit, or more on
 * a claim-check topic, whose values may each reach claimcheck.max.value.bytes. */
static size_t produce_max_uncompressed(const struct broker *b, const struct topic_config *tc)
{
	size_t max_uncompressed = (size_t)b->cfg->socket_request_max_bytes;
	if (tc->claimcheck_enable && (uint64_t)tc->claimcheck_max_value_bytes * 2 > max_uncompressed)
		max_uncompressed = (size_t)tc->claimcheck_max_value_bytes * 2;
	return max_uncompressed;
}

/* Produce v0-v2: a legacy message set becomes one v2 batch (Kafka's
 * LogValidator converts on append too), which then takes the checks of a v3+
 * batch. It replaces pd->records and is owned by pd until the request is
 * freed. A magic-2 batch, which Kafka accepts in these versions, stays. */
static int16_t produce_upconvert(struct api_request *req, struct partition *p, struct produce_partition_data *pd)
{
	if (req->hdr.api_version >= 3 || pd->records.len < 0 || pd->records.p == NULL)
		return KERR_NONE; /* produce_check answers a null record set */
	uint8_t *batch;
	size_t len;
	int err = legacy_upconvert(pd->records.p, (size_t)pd->records.len,
				   produce_max_uncompressed(req->broker, &p->topic->config), &batch, &len);
	if (err != KERR_NONE || batch == NULL)
		return (int16_t)err;
	pd->converted = batch;
	pd->records.p = batch;
	pd->records.len = (int32_t)len; /* batch_builder keeps it within INT32_MAX */
	return KERR_NONE;
}

/* Checks a partition's record set; fills *info. */
static int16_t produce_check(struct api_request *req, struct partition *p, struct kbytes records,
			     int16_t acks, struct batch_info *info, bool *needs_stage)
{
	struct broker *b = req->broker;
	const struct topic_config *tc = &p->topic->config;
	*needs_stage = false;
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
	 * RecordTooLargeException), checked before spending CPU on it. On a
	 * claim-check topic the stored batch is the rewritten one: the incoming
	 * batch may be larger, each value up to claimcheck.max.value.bytes
	 * (and the request up to socket.request.max.bytes). */
	if (!tc->claimcheck_enable && total > (size_t)tc->max_message_bytes)
		return KERR_MESSAGE_TOO_LARGE;
	size_t max_uncompressed = produce_max_uncompressed(b, tc);
	/* Magic 0/1 in v3+ answers UNSUPPORTED_FOR_MESSAGE_FORMAT
	 * (batch_validate), a bad CRC CORRUPT_MESSAGE. */
	int err = batch_validate(records.p, total, max_uncompressed, info);
	if (err != KERR_NONE)
		return (int16_t)err;
	if (info->codec == BATCH_COMPRESSION_ZSTD && req->hdr.api_version < PRODUCE_ZSTD_MIN_VERSION)
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	/* Compaction keeps the latest record per key: a record without one has
	 * no place in a compacted topic (Kafka's LogValidator). */
	if (tc->log.compact && info->has_null_key)
		return KERR_INVALID_RECORD;
	/* acks=all needs min.insync.replicas in sync; a single broker is an ISR
	 * of one. Checked before appending: nothing is written. */
	if (acks == -1 && tc->min_insync_replicas > p->isr_count)
		return KERR_NOT_ENOUGH_REPLICAS;
	/* Any value of at least the threshold makes the records area at least
	 * that large: smaller batches need no stage. */
	if (tc->claimcheck_enable && b->cc && (int64_t)info->records_size >= tc->claimcheck_threshold_bytes)
		*needs_stage = true;
	else if (tc->claimcheck_enable && total > (size_t)tc->max_message_bytes)
		return KERR_MESSAGE_TOO_LARGE;
	return KERR_NONE;
}

static int16_t produce_stage_error(int err)
{
	switch (err) {
	case CLAIMCHECK_ETOOBIG:
		return KERR_MESSAGE_TOO_LARGE;
	case CLAIMCHECK_EINVALID:
		return KERR_INVALID_RECORD;
	default:
		/* The object store failed: retriable, the producer tries again. */
		return KERR_KAFKA_STORAGE_ERROR;
	}
}

static void produce_job_done(struct produce_job *job, int16_t error_code)
{
	job->out->error_code = error_code;
	if (error_code != KERR_NONE)
		job->out->base_offset = -1;
	free(job->stored);
	struct produce_ctx *ctx = job->ctx;
	free(job);
	if (--ctx->pending == 0)
		produce_finish(ctx);
}

static void produce_stage_cb(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len);

/* Moves a partition's queue forward: appends ready jobs at its head, sends the
 * next one to the stage, and stops at a job still in the stage. */
static void produce_drain(struct partition *p)
{
	while (p->pending_head) {
		struct produce_job *job = p->pending_head;
		if (job->state == PRODUCE_JOB_IN_STAGE)
			return;
		if (job->state == PRODUCE_JOB_QUEUED && job->needs_stage) {
			struct broker *b = job->ctx->req->broker;
			/* A delete of the same content-addressed key must not
			 * overtake our put: wait for the partition's deletes. */
			if (p->cc_deletes_inflight > 0)
				return;
			struct claimcheck_policy policy = {
				.threshold_bytes = p->topic->config.claimcheck_threshold_bytes,
				.max_value_bytes = p->topic->config.claimcheck_max_value_bytes,
			};
			job->state = PRODUCE_JOB_IN_STAGE;
			claimcheck_stage_produce(b->cc, p->topic->name, p->index, &policy, job->batch, job->total,
						 produce_stage_cb, job);
			return;
		}
		p->pending_head = job->next;
		if (!p->pending_head)
			p->pending_tail = NULL;
		int16_t err = job->error_code;
		if (err == KERR_NONE) {
			uint8_t *batch = job->stored ? job->stored : job->batch;
			size_t len = job->stored ? job->stored_len : job->total;
			/* What is stored must fit max.message.bytes. */
			if (len > (size_t)p->topic->config.max_message_bytes)
				err = KERR_MESSAGE_TOO_LARGE;
			else
				err = produce_append(job->ctx, p, batch, len, &job->info, job->out);
		}
		produce_job_done(job, err);
	}
	/* Nothing of p is in the stage now: deletes that waited may go. */
	offload_flush_deletes(p);
}

bool api_produce_in_stage(const struct partition *p)
{
	return p->pending_head && p->pending_head->state == PRODUCE_JOB_IN_STAGE;
}

void api_produce_resume(struct partition *p)
{
	produce_drain(p);
}

static void produce_stage_cb(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len)
{
	struct produce_job *job = arg;
	struct partition *p = job->partition;
	job->state = PRODUCE_JOB_READY;
	if (err != 0) {
		tlog(TLOG_WARN, "claimcheck", "%s-%d: batch refused: %s", p ? p->topic->name : "(deleted)",
		     p ? p->index : -1, errmsg ? errmsg : "stage error");
		job->error_code = produce_stage_error(err);
		free(out);
	} else {
		job->stored = out; /* NULL: nothing qualified, append the original */
		job->stored_len = out_len;
	}
	if (!p) {
		/* The topic went away meanwhile; the job was unlinked. */
		produce_job_done(job, KERR_UNKNOWN_TOPIC_OR_PARTITION);
		return;
	}
	produce_drain(p);
}

void api_produce_abandon(struct partition *p)
{
	if (!p)
		return;
	api_produce_hw_fail(p, KERR_UNKNOWN_TOPIC_OR_PARTITION);
	struct produce_job *job = p->pending_head, *next;
	p->pending_head = p->pending_tail = NULL;
	for (; job; job = next) {
		next = job->next;
		job->partition = NULL;
		/* A job in the stage finishes in its callback. */
		if (job->state != PRODUCE_JOB_IN_STAGE)
			produce_job_done(job, KERR_UNKNOWN_TOPIC_OR_PARTITION);
	}
}

static void produce_finish(struct produce_ctx *ctx)
{
	struct api_request *req = ctx->req;
	struct produce_response *resp = &ctx->resp;
	if (ctx->pr.acks == 0) {
		/* acks=0: no response at all; on an error Kafka closes the
		 * connection so the producer notices. */
		bool failed = false;
		for (int32_t i = 0; i < resp->responses_count; i++)
			for (int32_t j = 0; j < resp->responses[i].partition_responses_count; j++)
				failed |= resp->responses[i].partition_responses[j].error_code != KERR_NONE;
		if (failed) {
			net_request_close(req->net);
			free(req);
		} else {
			api_respond_none(req);
		}
	} else {
		struct kwriter w;
		kw_init(&w, 128);
		produce_response_encode(&w, req->hdr.api_version, resp);
		api_respond(req, &w);
	}
	for (int32_t i = 0; i < resp->responses_count; i++)
		free(resp->responses[i].partition_responses);
	free(resp->responses);
	produce_request_free(&ctx->pr);
	if (ctx->timer)
		event_free(ctx->timer);
	free(ctx);
}

/* Handles one partition of the request: now, or queued behind the stage. */
static void produce_partition(struct produce_ctx *ctx, struct produce_topic_data *td,
			      struct produce_partition_data *pd, struct produce_partition_response *out)
{
	struct api_request *req = ctx->req;
	struct batch_info info;
	bool needs_stage = false;
	int16_t err;
	int16_t lookup_err = KERR_NONE;
	struct partition *p = broker_leader_partition(req->broker, td->name, pd->index, &lookup_err);

	out->index = pd->index;
	out->base_offset = -1;
	out->log_append_time_ms = -1;
	out->log_start_offset = -1;
	out->error_message.len = -1;
	if (ctx->pr.acks != 0 && ctx->pr.acks != 1 && ctx->pr.acks != -1)
		err = KERR_INVALID_REQUIRED_ACKS;
	else if (td->name.len == (int32_t)strlen(GROUP_LOG_TOPIC) &&
		 memcmp(td->name.p, GROUP_LOG_TOPIC, strlen(GROUP_LOG_TOPIC)) == 0)
		err = KERR_INVALID_TOPIC_EXCEPTION; /* internal: written by the group coordinator only (Kafka's
						      * ReplicaManager refuses clients the same way) */
	else if (!p)
		err = lookup_err;
	else {
		out->log_start_offset = log_start_offset(p->log);
		err = produce_upconvert(req, p, pd);
		if (err == KERR_NONE)
			err = produce_check(req, p, pd->records, ctx->pr.acks, &info, &needs_stage);
	}
	if (err != KERR_NONE) {
		tlog(TLOG_DEBUG, "produce", "peer=%s %.*s-%d: error %d", net_request_peer(req->net), td->name.len,
		     td->name.p, pd->index, err);
		out->error_code = err;
		return;
	}
	/* The frame belongs to this request (net allocated it for us): offsets
	 * are assigned in place instead of copying the batch. */
	uint8_t *batch = (uint8_t *)(uintptr_t)pd->records.p;
	size_t total = (size_t)pd->records.len;
	if (!needs_stage && !p->pending_head) {
		out->error_code = produce_append(ctx, p, batch, total, &info, out);
		return;
	}
	struct produce_job *job = calloc(1, sizeof *job);
	if (!job) {
		out->error_code = KERR_UNKNOWN_SERVER_ERROR;
		return;
	}
	job->ctx = ctx;
	job->out = out;
	job->partition = p;
	job->state = PRODUCE_JOB_QUEUED;
	job->needs_stage = needs_stage;
	job->batch = batch;
	job->total = total;
	job->info = info;
	ctx->pending++;
	if (p->pending_tail)
		p->pending_tail->next = job;
	else
		p->pending_head = job;
	p->pending_tail = job;
	produce_drain(p);
}

void api_produce_handle(struct api_request *req)
{
	struct produce_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx) {
		api_close(req);
		return;
	}
	ctx->req = req;
	if (produce_request_decode(&req->body, req->hdr.api_version, &ctx->pr) != 0) {
		free(ctx);
		api_close(req);
		return;
	}
	struct produce_request *pr = &ctx->pr;
	struct produce_response *resp = &ctx->resp;
	resp->responses = calloc((size_t)pr->topic_data_count + 1, sizeof *resp->responses);
	if (!resp->responses)
		goto oom;
	resp->responses_count = pr->topic_data_count;
	for (int32_t i = 0; i < pr->topic_data_count; i++) {
		struct produce_topic_data *td = &pr->topic_data[i];
		resp->responses[i].name = td->name;
		resp->responses[i].partition_responses =
			calloc((size_t)td->partition_data_count + 1, sizeof *resp->responses[i].partition_responses);
		if (!resp->responses[i].partition_responses)
			goto oom;
		resp->responses[i].partition_responses_count = td->partition_data_count;
	}
	/* Holds the request open while partitions are dispatched: a stage job
	 * completing synchronously must not answer before the rest is done. */
	ctx->pending = 1;
	for (int32_t i = 0; i < pr->topic_data_count; i++) {
		struct produce_topic_data *td = &pr->topic_data[i];
		for (int32_t j = 0; j < td->partition_data_count; j++)
			produce_partition(ctx, td, &td->partition_data[j], &resp->responses[i].partition_responses[j]);
	}
	if (--ctx->pending == 0)
		produce_finish(ctx);
	return;
oom:
	for (int32_t i = 0; i < resp->responses_count; i++)
		free(resp->responses[i].partition_responses);
	free(resp->responses);
	produce_request_free(&ctx->pr);
	free(ctx);
	api_close(req);
}
