/* tern-perf produce: sends o->count records of o->size bytes as fast as the
 * client allows, or at o->rate records/s, and measures throughput and
 * per-record delivery latency. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/tern-perf/latency.h"
#include "cmd/tern-perf/pace.h"
#include "cmd/tern-perf/perf.h"

struct perf_produce_state {
	struct latency lat;
	int64_t delivered;
	int64_t bytes;
	int64_t errors;
	int64_t last_us; /* time of the latest delivery report */
	rd_kafka_resp_err_t first_err;
};

static void perf_produce_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct perf_produce_state *st = opaque;
	st->last_us = perf_now_us();
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (st->errors++ == 0)
			st->first_err = m->err;
		return;
	}
	st->delivered++;
	st->bytes += (int64_t)m->len;
	/* librdkafka measures from the produce() call to the broker's ack. */
	latency_add(&st->lat, rd_kafka_message_latency(m));
}

/* A payload that compresses like typical data would not: pseudo-random
 * bytes from a fixed seed, so runs are comparable. */
void perf_produce_fill(uint8_t *p, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)('a' + x % 26);
	}
}

rd_kafka_t *perf_produce_client(const struct perf_opts *o,
				void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque)
{
	rd_kafka_conf_t *conf = perf_conf(o);
	if (!conf)
		return NULL;
	/* perf_conf applied --property already: set the options, then apply
	 * the properties again so that they win. A minute bounds a delivery,
	 * so a stuck broker fails the run instead of hanging it. */
	if (perf_set(conf, "acks", o->acks) != 0 || perf_set(conf, "message.timeout.ms", "60000") != 0 ||
	    perf_set(conf, "compression.codec", o->compression ? o->compression : "none") != 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	for (int i = 0; i < o->prop_cnt; i++)
		perf_set(conf, o->prop_keys[i], o->prop_vals[i]);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, opaque);
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk)
		perf_error("cannot create producer: %s", err);
	return rk;
}

/* Serves delivery reports until record i of the schedule is due. */
static void perf_produce_wait_due(rd_kafka_t *rk, const struct pace *p, int64_t i)
{
	for (;;) {
		int64_t wait = pace_wait_us(p, i, perf_now_us());
		if (wait == 0)
			return;
		if (wait >= 2000) {
			/* Long waits block in poll, which returns early for a
			 * delivery report: reports are timed when they arrive. */
			rd_kafka_poll(rk, (int)(wait / 1000) - 1);
		} else {
			rd_kafka_poll(rk, 0);
			struct timespec ts = {0, (long)wait * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

int perf_produce(const struct perf_opts *o, struct perf_result *r)
{
	struct perf_produce_state st = {0};
	uint8_t *payload = malloc((size_t)o->size + 1);
	if (!payload || latency_init(&st.lat, (size_t)o->count) != 0) {
		perf_error("out of memory for %lld samples", (long long)o->count);
		free(payload);
		return 1;
	}
	perf_produce_fill(payload, (size_t)o->size);

	int rc = 1;
	rd_kafka_topic_t *rkt = NULL;
	rd_kafka_t *rk = perf_produce_client(o, perf_produce_dr_cb, &st);
	if (!rk)
		goto out;
	/* Connections and metadata before the clock starts. */
	if (perf_wait_topic(rk, o, 15000) < 0)
		goto out;
	rkt = rd_kafka_topic_new(rk, o->topic, NULL);

	int64_t t0 = perf_now_us();
	struct pace pace;
	pace_init(&pace, o->rate, t0);
	for (int64_t i = 0; i < o->count; i++) {
		if (o->rate > 0)
			perf_produce_wait_due(rk, &pace, i);
		/* No copy flag: every record points at the same payload, which
		 * outlives the producer. */
		while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, payload, (size_t)o->size, NULL, 0, NULL) != 0) {
			rd_kafka_resp_err_t e = rd_kafka_last_error();
			if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				perf_error("produce failed: %s", rd_kafka_err2str(e));
				goto out;
			}
			rd_kafka_poll(rk, 1);
		}
		if ((i & 1023) == 0)
			rd_kafka_poll(rk, 0);
	}
	while (rd_kafka_outq_len(rk) > 0)
		rd_kafka_poll(rk, 5);

	*r = (struct perf_result){
		.mode = "produce",
		.records = st.delivered,
		.bytes = st.bytes,
		.secs = (double)(st.last_us - t0) / 1e6,
		.p50_ms = (double)latency_percentile(&st.lat, 50) / 1000.0,
		.p99_ms = (double)latency_percentile(&st.lat, 99) / 1000.0,
		.errors = st.errors,
	};
	if (st.errors > 0)
		perf_error("%lld records failed, first: %s", (long long)st.errors, rd_kafka_err2str(st.first_err));
	rc = st.errors > 0 ? 1 : 0;
out:
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	if (rk)
		rd_kafka_destroy(rk);
	latency_free(&st.lat);
	free(payload);
	return rc;
}
