/* Fetch: reads from partition logs, long-polling when there is not enough.
 *
 * A fetch that finds fewer than min_bytes and has max_wait_ms > 0 is parked:
 * it keeps its decoded request (views into its own frame, which stays alive
 * until we respond) and is re-evaluated whenever one of its partitions gets an
 * append, and answered at the latest when its timer fires. Parked fetches hold
 * topic names, never partition pointers, so a topic deleted meanwhile only
 * turns into UNKNOWN_TOPIC_OR_PARTITION.
 *
 * Size limits follow KIP-74: partition_max_bytes per partition and max_bytes
 * for the response, except that the first batch of the first partition with
 * data is returned whole even when larger, so a consumer is never stuck.
 *
 * Fetch sessions (KIP-227): we never create one (session_id 0 in the answer),
 * which clients accept by sending full fetch requests.
 *
 * Claim-check topics (claimcheck.fetch.mode=value): before answering a
 * consumer, the records read are rehydrated on the claim-check stage's
 * workers - referenced values fetched back and verified - and the answer goes
 * out when every such partition is done. A partition whose objects are
 * missing or corrupt answers KAFKA_STORAGE_ERROR: never wrong bytes. Replica
 * fetches (replica_id >= 0) always get the stored batches.
 *
 * Record bytes are not copied (DESIGN.md §6): a partition's batches are a
 * span of its segment file (log_read_span), the response is encoded around
 * them (fetch_response_encode_holes) and net sends them with sendfile from
 * the page cache, as Kafka's FileRecords.writeTo does. Only partitions that
 * are rehydrated are read into memory, since the claim-check stage rewrites
 * them.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "broker/net/net.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/fetch.h"
#include "broker/protocol/header.h"
#include "claimcheck/claimcheck.h"

/* A collected response: where each partition's records are. In memory
 * (records.p, malloc'd) for partitions the claim-check stage rehydrates; a
 * span of a segment file otherwise (spans[k], records.p NULL), k counting the
 * partitions in encoding order. */
struct fetch_result {
	struct fetch_response resp;
	struct log_span **spans;
	size_t nparts;
};

struct fetch_parked {
	struct fetch_parked *next;
	struct fetch_parked *prev;
	struct broker *broker;
	struct api_request *req;
	struct fetch_request fr;
	struct event *timer;
};

/* KIP-320: a fetcher (a follower, or a consumer from v12 on) names the epoch
 * of the last batch it has. When this log's history says that epoch ends
 * before the fetch offset - or this log never had it - the fetcher's suffix
 * diverges: answer where the epoch ends instead of records, and the fetcher
 * truncates there (replication/fetcher.c, broker/replica_manager.c) before it
 * fetches again. An epoch this log cannot place (no history) is left to the
 * offset range check. */
static bool fetch_diverging(struct partition *p, const struct fetch_partition *fp, struct fetch_partition_data *pd)
{
	if (fp->last_fetched_epoch < 0)
		return false;
	int32_t epoch;
	int64_t end;
	if (log_end_offset_for_epoch(p->log, fp->last_fetched_epoch, &epoch, &end) != 0)
		return false;
	if (epoch >= fp->last_fetched_epoch && end >= fp->fetch_offset)
		return false;
	pd->diverging_epoch.epoch = epoch;
	pd->diverging_epoch.end_offset = end;
	return true;
}

/* Whether a consumer's records of topic `t` go through the claim-check
 * stage before they are sent (claimcheck.fetch.mode=value). */
static bool fetch_hydrates(const struct broker *b, const struct fetch_request *fr, const struct topic *t)
{
	return fr->replica_id < 0 && b->cc && t && t->config.claimcheck_enable && !t->config.claimcheck_fetch_reference;
}

/* Builds the response; returns the number of record bytes gathered, or -1
 * when memory ran out. What *res holds is freed by fetch_result_release. */
static int64_t fetch_collect(struct broker *b, const struct fetch_request *fr, struct fetch_result *res)
{
	int64_t total = 0;
	int64_t budget = fr->max_bytes > 0 ? fr->max_bytes : 0;
	memset(res, 0, sizeof *res);
	struct fetch_response *resp = &res->resp;
	size_t nparts = 0;
	for (int32_t i = 0; i < fr->topics_count; i++)
		nparts += (size_t)fr->topics[i].partitions_count;
	res->spans = calloc(nparts + 1, sizeof *res->spans);
	if (!res->spans)
		return -1;
	res->nparts = nparts;
	resp->responses = calloc((size_t)fr->topics_count + 1, sizeof *resp->responses);
	if (!resp->responses)
		return -1;
	resp->responses_count = fr->topics_count;
	size_t k = 0; /* partitions so far, in encoding order */
	for (int32_t i = 0; i < fr->topics_count; i++) {
		const struct fetch_topic *ft = &fr->topics[i];
		struct fetch_topic_response *tr = &resp->responses[i];
		tr->topic = ft->topic;
		tr->partitions = calloc((size_t)ft->partitions_count + 1, sizeof *tr->partitions);
		if (!tr->partitions)
			return -1;
		tr->partitions_count = ft->partitions_count;
		for (int32_t j = 0; j < ft->partitions_count; j++, k++) {
			const struct fetch_partition *fp = &ft->partitions[j];
			struct fetch_partition_data *pd = &tr->partitions[j];
			pd->partition_index = fp->partition;
			pd->high_watermark = -1;
			pd->last_stable_offset = -1;
			pd->log_start_offset = -1;
			pd->diverging_epoch.epoch = -1;
			pd->diverging_epoch.end_offset = -1;
			pd->aborted_transactions = NULL;
			pd->aborted_transactions_count = fr->isolation_level == 1 ? 0 : -1;
			pd->preferred_read_replica = -1;
			pd->records.p = NULL;
			pd->records.len = 0;
			int16_t lookup_err = KERR_NONE;
			struct partition *p = broker_leader_partition(b, ft->topic, fp->partition, &lookup_err);
			if (!p) {
				pd->error_code = lookup_err;
				continue;
			}
			pd->error_code = broker_leader_epoch_check(p, fp->current_leader_epoch);
			if (pd->error_code != KERR_NONE)
				continue;
			if (fetch_diverging(p, fp, pd))
				continue;
			/* A follower's fetch offset is its log end: the leader's
			 * high watermark may move with it. Consumers read below
			 * the high watermark, followers up to the log end; without
			 * transactions the last stable offset is the high
			 * watermark. */
			bool follower = fr->replica_id >= 0;
			if (follower && broker_follower_fetched(b, p, fr->replica_id, fp->fetch_offset))
				p->hw_moved = true;
			int64_t hw = broker_partition_hw(b, p);
			int64_t limit = follower ? log_end_offset(p->log) : hw;
			pd->high_watermark = hw;
			pd->last_stable_offset = hw;
			pd->log_start_offset = log_start_offset(p->log);
			if (fp->fetch_offset >= limit && fp->fetch_offset <= log_end_offset(p->log))
				continue;
			size_t max = fp->partition_max_bytes > 0 ? (size_t)fp->partition_max_bytes : 0;
			if ((int64_t)max > budget)
				max = (size_t)budget;
			uint8_t *buf = NULL;
			struct log_span *span = NULL;
			size_t len = 0;
			int rc;
			if (fetch_hydrates(b, fr, p->topic))
				rc = log_read(p->log, fp->fetch_offset, limit, max, total == 0, &buf, &len);
			else
				rc = log_read_span(p->log, fp->fetch_offset, limit, max, total == 0, &span, &len);
			if (rc == -ERANGE) {
				pd->error_code = KERR_OFFSET_OUT_OF_RANGE;
				continue;
			}
			if (rc != 0) {
				tlog(TLOG_ERROR, "fetch", "%s-%d: read at %lld failed: %s", p->topic->name, p->index,
				     (long long)fp->fetch_offset, strerror(-rc));
				pd->error_code = KERR_KAFKA_STORAGE_ERROR;
				continue;
			}
			pd->records.p = buf;
			pd->records.len = (int32_t)len;
			res->spans[k] = span;
			total += (int64_t)len;
			budget -= (int64_t)len;
			if (budget < 0)
				budget = 0;
		}
	}
	return total;
}

static void fetch_result_release(struct fetch_result *res)
{
	struct fetch_response *resp = &res->resp;
	for (int32_t i = 0; i < resp->responses_count; i++) {
		struct fetch_topic_response *tr = &resp->responses[i];
		for (int32_t j = 0; tr->partitions && j < tr->partitions_count; j++)
			free((void *)tr->partitions[j].records.p);
		free(tr->partitions);
	}
	free(resp->responses);
	for (size_t k = 0; res->spans && k < res->nparts; k++)
		log_span_release(res->spans[k]);
	free(res->spans);
	memset(res, 0, sizeof *res);
}

/* An error or a diverging epoch: the fetcher has to act, answer at once. */
static bool fetch_has_error(const struct fetch_response *resp)
{
	for (int32_t i = 0; i < resp->responses_count; i++)
		for (int32_t j = 0; j < resp->responses[i].partitions_count; j++)
			if (resp->responses[i].partitions[j].error_code != KERR_NONE ||
			    resp->responses[i].partitions[j].diverging_epoch.epoch >= 0)
				return true;
	return false;
}

static int fetch_span_locate(void *arg, size_t from, struct net_where *out)
{
	return log_span_locate(arg, from, &out->data, &out->fd, &out->offset) == 0 ? 0 : -1;
}

static void fetch_span_release(void *arg)
{
	log_span_release(arg);
}

/* Sends the response as pieces: the encoded bytes between the record sets,
 * and each record set from where it is (a span, or the rehydrated buffer).
 * Completes and frees req, or returns false when memory ran out. *res is
 * released either way. */
static bool fetch_send_pieces(struct api_request *req, struct fetch_result *res, size_t nsets)
{
	struct fetch_response *resp = &res->resp;
	size_t *holes = malloc(nsets * sizeof *holes);
	struct net_piece *pieces = calloc(2 * nsets + 1, sizeof *pieces);
	struct kwriter w, h;
	kw_init(&w, 256 + 64 * res->nparts);
	kw_init(&h, 8);
	/* Fetch is never ApiVersions: flexible versions get header v1. */
	response_header_encode(&h, req->flexible ? 1 : 0, req->hdr.correlation_id);
	bool ok = holes && pieces && fetch_response_encode_holes(&w, req->hdr.api_version, resp, holes) == nsets;
	if (!ok || !kw_ok(&w) || !kw_ok(&h) || h.len > NET_RESPONSE_HEADER_MAX) {
		free(holes);
		free(pieces);
		kw_free(&w);
		kw_free(&h);
		fetch_result_release(res);
		return false;
	}
	size_t n = 0, prev = 0, hole = 0, k = 0;
	for (int32_t i = 0; i < resp->responses_count; i++)
		for (int32_t j = 0; j < resp->responses[i].partitions_count; j++, k++) {
			struct fetch_partition_data *pd = &resp->responses[i].partitions[j];
			if (pd->records.len <= 0)
				continue;
			pieces[n++] = (struct net_piece){.len = holes[hole] - prev, .data = w.buf + prev};
			prev = holes[hole++];
			if (res->spans[k] != NULL) {
				pieces[n++] = (struct net_piece){.len = (size_t)pd->records.len,
								 .locate = fetch_span_locate,
								 .release = fetch_span_release,
								 .arg = res->spans[k]};
				res->spans[k] = NULL;
			} else {
				pieces[n++] = (struct net_piece){.len = (size_t)pd->records.len,
								 .data = pd->records.p,
								 .release = free,
								 .arg = (void *)pd->records.p};
				pd->records.p = NULL;
			}
		}
	pieces[n++] = (struct net_piece){.len = w.len - prev, .data = w.buf + prev};
	size_t body_len;
	uint8_t *body = kw_steal(&w, &body_len);
	net_request_respond_pieces(req->net, h.buf, h.len, pieces, n, body);
	kw_free(&h);
	free(pieces);
	free(holes);
	fetch_result_release(res);
	free(req);
	return true;
}

/* Encodes and sends the response, completing req; releases *res. */
static void fetch_encode_send(struct api_request *req, struct fetch_result *res)
{
	struct fetch_response *resp = &res->resp;
	resp->session_id = 0;
	size_t nsets = fetch_response_record_sets(resp);
	if (nsets == 0) {
		struct kwriter w;
		kw_init(&w, 256);
		fetch_response_encode(&w, req->hdr.api_version, resp);
		fetch_result_release(res);
		api_respond(req, &w);
		return;
	}
	if (!fetch_send_pieces(req, res, nsets)) {
		tlog(TLOG_ERROR, "api", "peer=%s api=%d corr=%d: out of memory building the response",
		     net_request_peer(req->net), req->hdr.api_key, req->hdr.correlation_id);
		net_request_close(req->net);
		free(req);
	}
}

/* A response waiting for the claim-check stage to rehydrate partitions. */
struct fetch_hydrate {
	struct api_request *req;
	struct fetch_result res;
	int pending;
};

struct fetch_hydrate_slot {
	struct fetch_hydrate *h;
	struct fetch_partition_data *pd;
	size_t limit; /* partition_max_bytes: batches past the first are kept within it */
	size_t max_value_bytes;
	char name[TOPIC_NAME_MAX + 1];
};

/* Keeps the first batch (KIP-74) and the following ones while they fit. */
static size_t fetch_trim(const uint8_t *data, size_t len, size_t limit)
{
	size_t pos = 0;
	struct batch_header h;
	while (pos < len && batch_header_parse(data + pos, len - pos, &h) == 0) {
		size_t n = batch_total_size(&h);
		if (pos + n > len || (pos > 0 && pos + n > limit))
			break;
		pos += n;
	}
	return pos;
}

static void fetch_hydrate_cb(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len)
{
	struct fetch_hydrate_slot *slot = arg;
	struct fetch_hydrate *h = slot->h;
	struct fetch_partition_data *pd = slot->pd;
	free((void *)pd->records.p);
	pd->records.p = NULL;
	pd->records.len = 0;
	if (err != 0) {
		tlog(TLOG_ERROR, "claimcheck", "%s-%d: cannot hand back referenced values: %s", slot->name,
		     pd->partition_index, errmsg ? errmsg : "stage error");
		pd->error_code = KERR_KAFKA_STORAGE_ERROR;
		free(out);
	} else if (out) {
		pd->records.p = out;
		pd->records.len = (int32_t)fetch_trim(out, out_len, slot->limit);
	}
	free(slot);
	if (--h->pending == 0) {
		fetch_encode_send(h->req, &h->res);
		free(h);
	}
}

/* partition_max_bytes the request gave for a partition (SIZE_MAX if none). */
static size_t fetch_partition_limit(const struct fetch_request *fr, struct kstr topic, int32_t partition)
{
	for (int32_t k = 0; k < fr->topics_count; k++) {
		const struct fetch_topic *t = &fr->topics[k];
		if (t->topic.len != topic.len || memcmp(t->topic.p, topic.p, (size_t)topic.len) != 0)
			continue;
		for (int32_t m = 0; m < t->partitions_count; m++)
			if (t->partitions[m].partition == partition && t->partitions[m].partition_max_bytes > 0)
				return (size_t)t->partitions[m].partition_max_bytes;
	}
	return SIZE_MAX;
}

static void fetch_send(struct api_request *req, const struct fetch_request *fr, struct fetch_result *res)
{
	struct broker *b = req->broker;
	struct fetch_response *resp = &res->resp;
	struct fetch_hydrate_slot **slots = NULL;
	int nslots = 0;
	if (fr->replica_id < 0 && b->cc) {
		for (int32_t i = 0; i < resp->responses_count; i++) {
			struct fetch_topic_response *tr = &resp->responses[i];
			struct topic *t = topics_find(&b->topics, tr->topic);
			if (!t || !t->config.claimcheck_enable || t->config.claimcheck_fetch_reference)
				continue;
			for (int32_t j = 0; j < tr->partitions_count; j++) {
				struct fetch_partition_data *pd = &tr->partitions[j];
				/* Only records read into memory (fetch_hydrates). */
				if (pd->error_code != KERR_NONE || pd->records.len <= 0 || pd->records.p == NULL)
					continue;
				struct fetch_hydrate_slot *slot = calloc(1, sizeof *slot);
				struct fetch_hydrate_slot **grown = realloc(slots, sizeof *slots * (size_t)(nslots + 1));
				if (grown)
					slots = grown;
				if (!slot || !grown) {
					free(slot);
					pd->error_code = KERR_KAFKA_STORAGE_ERROR;
					free((void *)pd->records.p);
					pd->records.p = NULL;
					pd->records.len = 0;
					continue;
				}
				slot->pd = pd;
				slot->limit = fetch_partition_limit(fr, tr->topic, pd->partition_index);
				slot->max_value_bytes = (size_t)t->config.claimcheck_max_value_bytes;
				snprintf(slot->name, sizeof slot->name, "%s", t->name);
				slots[nslots++] = slot;
			}
		}
	}
	struct fetch_hydrate *h = nslots ? calloc(1, sizeof *h) : NULL;
	if (!h) {
		for (int i = 0; i < nslots; i++) {
			slots[i]->pd->error_code = KERR_KAFKA_STORAGE_ERROR;
			free((void *)slots[i]->pd->records.p);
			slots[i]->pd->records.p = NULL;
			slots[i]->pd->records.len = 0;
			free(slots[i]);
		}
		free(slots);
		fetch_encode_send(req, res);
		return;
	}
	/* The response moves into the holder (its arrays, which the slots point
	 * into, stay where they are). One extra count keeps a synchronous
	 * completion from answering before every slot is submitted. */
	h->req = req;
	h->res = *res;
	memset(res, 0, sizeof *res);
	h->pending = nslots + 1;
	for (int i = 0; i < nslots; i++) {
		struct fetch_hydrate_slot *slot = slots[i];
		slot->h = h;
		claimcheck_stage_fetch(b->cc, slot->pd->records.p, (size_t)slot->pd->records.len, slot->max_value_bytes,
				       fetch_hydrate_cb, slot);
	}
	free(slots);
	if (--h->pending == 0) {
		fetch_encode_send(h->req, &h->res);
		free(h);
	}
}

static void fetch_unpark(struct fetch_parked *fp)
{
	struct broker *b = fp->broker;
	if (fp->prev)
		fp->prev->next = fp->next;
	else
		b->parked = fp->next;
	if (fp->next)
		fp->next->prev = fp->prev;
	if (fp->timer)
		event_free(fp->timer);
	fetch_request_free(&fp->fr);
	free(fp);
}

/* Answers a parked fetch with whatever is there now. */
static void fetch_complete(struct fetch_parked *fp)
{
	struct fetch_result res;
	struct api_request *req = fp->req;
	if (fetch_collect(fp->broker, &fp->fr, &res) < 0) {
		fetch_result_release(&res);
		fetch_unpark(fp);
		api_close(req);
		return;
	}
	fetch_send(req, &fp->fr, &res);
	fetch_unpark(fp);
}

static void fetch_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	fetch_complete(arg);
}

static bool fetch_wants(const struct fetch_request *fr, const struct partition *p)
{
	size_t n = strlen(p->topic->name);
	for (int32_t i = 0; i < fr->topics_count; i++) {
		const struct fetch_topic *t = &fr->topics[i];
		if ((size_t)t->topic.len != n || memcmp(t->topic.p, p->topic->name, n) != 0)
			continue;
		for (int32_t j = 0; j < t->partitions_count; j++)
			if (t->partitions[j].partition == p->index)
				return true;
	}
	return false;
}

void api_fetch_wake(struct broker *b, struct partition *p)
{
	struct fetch_parked *fp = b->parked, *next;
	for (; fp; fp = next) {
		next = fp->next;
		if (!fetch_wants(&fp->fr, p))
			continue;
		if (!net_request_conn_alive(fp->req->net)) {
			fetch_complete(fp);
			continue;
		}
		/* Enough now? Re-collect; cheap compared with the wait. */
		struct fetch_result res;
		int64_t got = fetch_collect(b, &fp->fr, &res);
		if (got < 0 || got >= fp->fr.min_bytes || fetch_has_error(&res.resp)) {
			struct api_request *req = fp->req;
			if (got < 0) {
				fetch_result_release(&res);
				fetch_unpark(fp);
				api_close(req);
			} else {
				fetch_send(req, &fp->fr, &res);
				fetch_unpark(fp);
			}
		} else {
			fetch_result_release(&res);
		}
	}
}

void api_fetch_shutdown(struct broker *b)
{
	while (b->parked)
		fetch_complete(b->parked);
}

void api_fetch_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	struct fetch_request fr;
	struct fetch_result res;

	if (fetch_request_decode(&req->body, req->hdr.api_version, &fr) != 0) {
		api_close(req);
		return;
	}
	int64_t got = fetch_collect(b, &fr, &res);
	/* A follower's fetch may have moved high watermarks: consumers
	 * parked on those partitions can read more now. */
	for (int32_t i = 0; fr.replica_id >= 0 && i < fr.topics_count; i++)
		for (int32_t j = 0; j < fr.topics[i].partitions_count; j++) {
			struct partition *p = topics_partition(&b->topics, fr.topics[i].topic,
							       fr.topics[i].partitions[j].partition);
			if (p && p->hw_moved) {
				p->hw_moved = false;
				api_fetch_wake(b, p);
			}
		}
	if (got < 0) {
		fetch_result_release(&res);
		fetch_request_free(&fr);
		api_close(req);
		return;
	}
	if (got >= fr.min_bytes || fr.max_wait_ms <= 0 || fetch_has_error(&res.resp)) {
		fetch_send(req, &fr, &res);
		fetch_request_free(&fr);
		return;
	}
	fetch_result_release(&res);
	struct fetch_parked *fp = calloc(1, sizeof *fp);
	if (!fp) {
		fetch_request_free(&fr);
		api_close(req);
		return;
	}
	fp->broker = b;
	fp->req = req;
	fp->fr = fr;
	fp->next = b->parked;
	if (b->parked)
		b->parked->prev = fp;
	b->parked = fp;
	fp->timer = evtimer_new(b->base, fetch_timeout_cb, fp);
	struct timeval tv = {.tv_sec = fr.max_wait_ms / 1000, .tv_usec = (fr.max_wait_ms % 1000) * 1000};
	if (!fp->timer || evtimer_add(fp->timer, &tv) != 0)
		fetch_complete(fp);
}
