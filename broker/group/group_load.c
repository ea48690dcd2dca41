/* Loading a __consumer_offsets partition into the coordinator (Kafka's
 * GroupMetadataManager.loadGroupsAndOffsets).
 *
 * The new leader reads its log from the log start to the log end offset it
 * had when it became leader (nothing else writes meanwhile: the group APIs
 * of the partition answer COORDINATOR_LOAD_IN_PROGRESS, and followers do not
 * append to a leader). Each step reads at most GROUP_LOAD_CHUNK bytes per
 * loading partition, then lets the event loop serve other requests. Control
 * and transactional batches are skipped (transactional offset commits are
 * not supported); a record that does not parse is skipped with a warning.
 */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_internal.h"
#include "broker/group/group_log.h"
#include "broker/group/group_topic_internal.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/record.h"

#define GROUP_LOAD_LOG "group"
/* Bytes read per partition and step: Kafka's offsets.load.buffer.size
 * default is 5 MiB; a smaller step keeps the loop responsive. */
#define GROUP_LOAD_CHUNK (1024 * 1024)
/* Bound on a batch's decompressed records (a compressed batch written by
 * another implementation). */
#define GROUP_LOAD_MAX_UNCOMPRESSED (256u * 1024 * 1024)

static void group_load_finish(struct group_topic *gt, int32_t p)
{
	struct group_topic_partition *st = &gt->parts[p];
	st->state = GROUP_TOPIC_LOADED;
	struct group_topic_match m = {gt, p};
	group_restore_done(gt->coord, group_topic_match_partition, &m);
	/* An empty partition (most of them, at first) is not news. */
	tlog(st->load_records > 0 ? TLOG_INFO : TLOG_DEBUG, GROUP_LOAD_LOG, "%s-%d: loaded %" PRId64 " record(s) up to offset %" PRId64 " in %" PRId64 " ms (leader epoch %d)",
	     GROUP_LOG_TOPIC, (int)p, st->load_records, st->load_end, broker_mono_ms() - st->load_started_ms,
	     (int)st->epoch);
}

void group_load_start(struct group_topic *gt, int32_t p, struct partition *local)
{
	struct group_topic_partition *st = &gt->parts[p];
	st->state = GROUP_TOPIC_LOADING;
	st->epoch = local->leader_epoch;
	st->load_next = log_start_offset(local->log);
	st->load_end = log_end_offset(local->log);
	st->load_started_ms = broker_mono_ms();
	st->load_records = 0;
	if (st->load_next >= st->load_end) {
		/* Nothing to read: no group of this partition exists yet. */
		group_load_finish(gt, p);
		return;
	}
	tlog(TLOG_INFO, GROUP_LOAD_LOG, "%s-%d: leader at epoch %d, loading offsets %" PRId64 "..%" PRId64,
	     GROUP_LOG_TOPIC, (int)p, (int)st->epoch, st->load_next, st->load_end);
	event_active(gt->load_ev, EV_TIMEOUT, 0);
}

/* Applies the records of one batch. */
static void group_load_batch(struct group_topic *gt, int32_t p, const uint8_t *batch, size_t size,
			     const struct batch_header *h)
{
	struct group_topic_partition *st = &gt->parts[p];
	struct batch_records recs;
	int rc = batch_records_open(batch, size, GROUP_LOAD_MAX_UNCOMPRESSED, &recs);
	if (rc != 0) {
		tlog(TLOG_WARN, GROUP_LOAD_LOG, "%s-%d: batch at offset %" PRId64 " cannot be read (error %d), skipped",
		     GROUP_LOG_TOPIC, (int)p, h->base_offset, rc);
		return;
	}
	struct kreader r;
	kr_init(&r, recs.p, recs.len);
	for (int32_t i = 0; i < h->records_count && kr_ok(&r) && r.left > 0; i++) {
		struct record rec;
		if (record_decode(&r, &rec) != RECORD_OK)
			break;
		struct group_log_record lr;
		if (group_log_decode(rec.key, rec.value, &lr) != 0) {
			tlog(TLOG_WARN, GROUP_LOAD_LOG, "%s-%d: record at offset %" PRId64 " does not parse, skipped",
			     GROUP_LOG_TOPIC, (int)p, h->base_offset + rec.offset_delta);
		} else if (lr.kind == GROUP_LOG_OFFSET) {
			if (group_restore_offset(gt->coord, &lr) != 0)
				tlog(TLOG_ERROR, GROUP_LOAD_LOG, "%s-%d: out of memory restoring an offset", GROUP_LOG_TOPIC,
				     (int)p);
			st->load_records++;
		} else if (lr.kind == GROUP_LOG_GROUP) {
			if (group_restore_group(gt->coord, &lr) != 0)
				tlog(TLOG_ERROR, GROUP_LOAD_LOG, "%s-%d: group record at offset %" PRId64 " not restored",
				     GROUP_LOG_TOPIC, (int)p, h->base_offset + rec.offset_delta);
			st->load_records++;
		}
		group_log_record_free(&lr);
	}
	batch_records_free(&recs);
}

/* Reads and applies one chunk. Returns 1 when more remains, 0 when the load
 * reached its end, or a negative errno. */
static int group_load_chunk(struct group_topic *gt, int32_t p, struct partition *local)
{
	struct group_topic_partition *st = &gt->parts[p];
	int64_t start = log_start_offset(local->log);
	if (st->load_next < start)
		st->load_next = start;
	if (st->load_next >= st->load_end)
		return 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = log_read(local->log, st->load_next, st->load_end, GROUP_LOAD_CHUNK, true, &buf, &len);
	if (rc == -ERANGE) {
		/* Retention moved the log start meanwhile: go on from there. */
		st->load_next = log_start_offset(local->log);
		return st->load_next < st->load_end ? 1 : 0;
	}
	if (rc != 0)
		return rc;
	if (len == 0) {
		free(buf);
		return 0; /* nothing more below the end */
	}
	struct batch_iter it;
	batch_iter_init(&it, buf, len);
	const uint8_t *batch;
	size_t size;
	while (batch_iter_next(&it, &batch, &size)) {
		struct batch_header h;
		if (batch_header_parse(batch, size, &h) != 0 || h.magic != 2)
			continue;
		int64_t next = h.base_offset + h.last_offset_delta + 1;
		if (next <= st->load_next)
			continue;
		if (!(h.attributes & (BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL)))
			group_load_batch(gt, p, batch, size, &h);
		st->load_next = next;
	}
	free(buf);
	return st->load_next < st->load_end ? 1 : 0;
}

/* One chunk per step, over the loading partitions in turn: a broker that
 * becomes leader of many partitions at once still answers requests between
 * the reads. */
void group_load_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct group_topic *gt = arg;
	(void)fd;
	(void)what;
	bool more = false, read = false;
	for (int32_t i = 0; i < gt->n; i++) {
		int32_t p = (gt->load_cursor + i) % gt->n;
		struct group_topic_partition *st = &gt->parts[p];
		if (st->state != GROUP_TOPIC_LOADING)
			continue;
		if (read) {
			more = true; /* a chunk was read this step: the rest waits a turn */
			break;
		}
		struct partition *local = group_topic_local_leader(gt, p);
		if (local == NULL || local->leader_epoch != st->epoch) {
			group_topic_unload(gt, p, "leadership lost while loading");
			continue;
		}
		int rc = group_load_chunk(gt, p, local);
		read = true;
		gt->load_cursor = p + 1;
		if (rc > 0) {
			more = true;
		} else if (rc == 0) {
			group_load_finish(gt, p);
		} else {
			tlog(TLOG_ERROR, GROUP_LOAD_LOG, "%s-%d: reading at offset %" PRId64 " failed: %s", GROUP_LOG_TOPIC,
			     (int)p, st->load_next, strerror(-rc));
			/* Unloaded: the next request for one of its groups tries again. */
			group_topic_unload(gt, p, "the load failed");
		}
	}
	if (more)
		event_active(gt->load_ev, EV_TIMEOUT, 0);
}
