/* tern-perf consume: reads o->count records of o->topic from the beginning
 * of every partition, without a consumer group, and measures throughput.
 *
 * librdkafka's high-level consumer wants a group.id even for assign(), and
 * then looks for a group coordinator; the simple consumer API
 * (rd_kafka_consume_start_queue) fetches partitions with no group at all. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/tern-perf/perf.h"

rd_kafka_t *perf_consume_client(const struct perf_opts *o)
{
	rd_kafka_conf_t *conf = perf_conf(o);
	if (!conf)
		return NULL;
	/* No group, so nothing to commit; then apply the properties again so
	 * that --property wins. */
	if (perf_set(conf, "auto.commit.enable", "false") != 0 ||
	    perf_set(conf, "enable.partition.eof", "false") != 0 ||
	    /* Rewinding: a fetch parked at the log end would hold the next
	     * one (after the seek) for the broker's max wait. */
	    (o->rewind_at_eof && perf_set(conf, "fetch.wait.max.ms", "1") != 0)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	for (int i = 0; i < o->prop_cnt; i++)
		perf_set(conf, o->prop_keys[i], o->prop_vals[i]);
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk)
		perf_error("cannot create consumer: %s", err);
	return rk;
}

int perf_consume(const struct perf_opts *o, struct perf_result *r)
{
	int rc = 1;
	rd_kafka_topic_t *rkt = NULL;
	rd_kafka_queue_t *q = NULL;
	int64_t *lo = NULL, *hi = NULL;
	int parts = -1, started = 0;
	rd_kafka_t *rk = perf_consume_client(o);
	if (!rk)
		return 1;
	parts = perf_wait_topic(rk, o, 15000);
	if (parts < 0)
		goto out;
	rkt = rd_kafka_topic_new(rk, o->topic, NULL);
	q = rd_kafka_queue_new(rk);
	/* The window to rewind over, per partition: [lo, hi). */
	lo = calloc((size_t)parts, sizeof(*lo));
	hi = calloc((size_t)parts, sizeof(*hi));
	if (!lo || !hi)
		goto out;
	for (int p = 0; o->rewind_at_eof && p < parts; p++) {
		rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo[p], &hi[p], 10000);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			perf_error("cannot read the offsets of partition %d: %s", p, rd_kafka_err2str(e));
			goto out;
		}
	}

	int64_t records = 0, bytes = 0, errors = 0;
	int64_t t0 = perf_now_us(), last = t0;
	for (; started < parts; started++) {
		if (rd_kafka_consume_start_queue(rkt, started, RD_KAFKA_OFFSET_BEGINNING, q) != 0) {
			perf_error("cannot start partition %d: %s", started, rd_kafka_err2str(rd_kafka_last_error()));
			goto out;
		}
	}
	while (records < o->count) {
		rd_kafka_message_t *m = rd_kafka_consume_queue(q, 100);
		int64_t now = perf_now_us();
		if (!m) {
			if (now - last > o->timeout_ms * 1000) {
				perf_error("only %lld of %lld records after %lld ms without one", (long long)records,
					   (long long)o->count, (long long)o->timeout_ms);
				break;
			}
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			records++;
			bytes += (int64_t)m->len;
			last = now;
			if (o->rewind_at_eof && m->partition < parts && m->offset + 1 >= hi[m->partition])
				rd_kafka_seek(rkt, m->partition, lo[m->partition], 0);
		} else if (errors++ == 0) {
			perf_error("consume error: %s", rd_kafka_message_errstr(m));
		}
		rd_kafka_message_destroy(m);
	}
	*r = (struct perf_result){
		.mode = "consume",
		.records = records,
		.bytes = bytes,
		.secs = (double)(last - t0) / 1e6,
		.p50_ms = -1,
		.p99_ms = -1,
		.errors = errors,
	};
	rc = records >= o->count ? 0 : 1;
out:
	free(lo);
	free(hi);
	for (int p = 0; p < started; p++)
		rd_kafka_consume_stop(rkt, p);
	if (q)
		rd_kafka_queue_destroy(q);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return rc;
}
