/* tern-perf e2e: end-to-end latency at a fixed rate.
 *
 * One process produces o->count records at o->rate records/s (pace.h) and
 * consumes them, so that send and receive times come from one clock. Each
 * value starts with a stamp (stamp.h): sequence number and send time. Two
 * latencies per record:
 *
 *   ack  send -> delivery report (the broker's answer under o->acks)
 *   e2e  send -> the consumer got it (for acks=all on a replicated
 *        partition: after the high watermark passed it)
 *
 * "Send" is the produce() call: it includes the client's batching
 * (linger.ms). The schedule is open loop; late_max_ms is how far the sender
 * ever fell behind it (a large value means the offered load was not the
 * requested rate). One summary line:
 *
 *   mode=e2e records=N bytes=B secs=S rec_per_s=R MB_per_s=M rate=R
 *   sent_per_s=A late_max_ms=L ack_p50_ms=.. ack_p99_ms=.. ack_p999_ms=..
 *   ack_max_ms=.. e2e_p50_ms=.. e2e_p99_ms=.. e2e_p999_ms=.. e2e_max_ms=..
 *   missing=M duplicates=D errors=E
 *
 * (records, bytes, secs, rec_per_s: what the consumer received, from the
 * first send on). Threads: this one sends; a poller serves delivery reports
 * as they arrive; a consumer stamps receptions as they arrive. Neither
 * report waits for the sender's next wake-up.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "cmd/tern-perf/latency.h"
#include "cmd/tern-perf/pace.h"
#include "cmd/tern-perf/perf.h"
#include "cmd/tern-perf/stamp.h"

struct perf_e2e {
	const struct perf_opts *o;
	atomic_bool stop_poller;
	atomic_bool stop_consumer; /* before it has all records: an error */
	atomic_bool probe_acked;  /* the warm-up probe was acknowledged */
	atomic_bool probe_seen;   /* ... and consumed */

	/* Delivery reports: the poller thread's until joined. */
	struct latency ack;
	int64_t acked;
	int64_t ack_errors;
	rd_kafka_resp_err_t first_ack_err;

	/* Receptions: the consumer thread's until joined. */
	rd_kafka_queue_t *q;
	struct latency e2e;
	uint8_t *seen; /* per sequence number */
	int64_t received;
	int64_t duplicates;
	int64_t bytes;
	int64_t consume_errors;
	int64_t last_us; /* latest reception */
};

static void perf_e2e_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct perf_e2e *e = opaque;
	int64_t now = perf_now_us();
	int64_t seq, sent;
	if (stamp_read(m->payload, m->len, &seq, &sent) != 0)
		return;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (e->ack_errors++ == 0)
			e->first_ack_err = m->err;
		return;
	}
	if (seq < 0) {
		atomic_store(&e->probe_acked, true);
		return;
	}
	e->acked++;
	latency_add(&e->ack, now - sent);
}

static void *perf_e2e_poller(void *arg)
{
	rd_kafka_t *rk = arg;
	struct perf_e2e *e = rd_kafka_opaque(rk);
	while (!atomic_load(&e->stop_poller))
		rd_kafka_poll(rk, 50);
	return NULL;
}

static void *perf_e2e_consumer(void *arg)
{
	struct perf_e2e *e = arg;
	const struct perf_opts *o = e->o;
	int64_t last = perf_now_us();
	while (e->received < o->count && !atomic_load(&e->stop_consumer)) {
		rd_kafka_message_t *m = rd_kafka_consume_queue(e->q, 50);
		int64_t now = perf_now_us();
		if (!m) {
			if (now - last > o->timeout_ms * 1000)
				break;
			continue;
		}
		int64_t seq, sent;
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (e->consume_errors++ == 0)
				perf_error("consume error: %s", rd_kafka_message_errstr(m));
		} else if (stamp_read(m->payload, m->len, &seq, &sent) == 0) {
			last = now;
			if (seq < 0) {
				atomic_store(&e->probe_seen, true);
			} else if (seq < o->count && !e->seen[seq]) {
				e->seen[seq] = 1;
				e->received++;
				e->bytes += (int64_t)m->len;
				e->last_us = now;
				latency_add(&e->e2e, now - sent);
			} else if (seq < o->count) {
				e->duplicates++;
			}
		}
		rd_kafka_message_destroy(m);
	}
	return NULL;
}

static void perf_e2e_sleep_until(int64_t at_us)
{
	struct timespec ts = {(time_t)(at_us / 1000000), (long)(at_us % 1000000) * 1000};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
	}
}

/* Produces a copy of value (its stamp rewritten); retries while the
 * client's queue is full. Returns 0 or -1. */
static int perf_e2e_send(rd_kafka_topic_t *rkt, uint8_t *value, size_t len, int64_t seq)
{
	stamp_write(value, len, seq, perf_now_us());
	while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value, len, NULL, 0, NULL) != 0) {
		rd_kafka_resp_err_t err = rd_kafka_last_error();
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			perf_error("produce failed: %s", rd_kafka_err2str(err));
			return -1;
		}
		struct timespec ts = {0, 100 * 1000};
		nanosleep(&ts, NULL);
		/* The record goes when there is room: its time is then. */
		stamp_write(value, len, seq, perf_now_us());
	}
	return 0;
}

static double perf_e2e_ms(struct latency *l, double q)
{
	return (double)latency_percentile(l, q) / 1000.0;
}

int perf_e2e(const struct perf_opts *o)
{
	if (o->size < STAMP_SIZE) {
		perf_error("e2e needs --size of at least %d (the stamp)", STAMP_SIZE);
		return 1;
	}
	int rc = 1;
	struct perf_e2e e = {.o = o};
	rd_kafka_t *prod = NULL, *cons = NULL;
	rd_kafka_topic_t *prkt = NULL, *crkt = NULL;
	pthread_t poller, consumer;
	bool poller_on = false, consumer_on = false;
	int parts = 0, started = 0;
	uint8_t *value = malloc((size_t)o->size);
	e.seen = calloc((size_t)o->count, 1);
	if (!value || !e.seen || latency_init(&e.ack, (size_t)o->count) != 0 ||
	    latency_init(&e.e2e, (size_t)o->count) != 0) {
		perf_error("out of memory for %lld samples", (long long)o->count);
		goto out;
	}
	perf_produce_fill(value, (size_t)o->size);

	/* The consumer first, positioned at each partition's end before
	 * anything is sent: it then sees every record of the run. */
	cons = perf_consume_client(o);
	if (!cons)
		goto out;
	parts = perf_wait_topic(cons, o, 15000);
	if (parts < 0)
		goto out;
	crkt = rd_kafka_topic_new(cons, o->topic, NULL);
	e.q = rd_kafka_queue_new(cons);
	for (; started < parts; started++) {
		int64_t lo, hi;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(cons, o->topic, started, &lo, &hi, 10000);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			perf_error("cannot read the offsets of partition %d: %s", started, rd_kafka_err2str(err));
			goto out;
		}
		if (rd_kafka_consume_start_queue(crkt, started, hi, e.q) != 0) {
			perf_error("cannot start partition %d: %s", started, rd_kafka_err2str(rd_kafka_last_error()));
			goto out;
		}
	}
	prod = perf_produce_client(o, perf_e2e_dr_cb, &e);
	if (!prod || perf_wait_topic(prod, o, 15000) < 0)
		goto out;
	prkt = rd_kafka_topic_new(prod, o->topic, NULL);
	if (pthread_create(&poller, NULL, perf_e2e_poller, prod) != 0)
		goto out;
	poller_on = true;
	if (pthread_create(&consumer, NULL, perf_e2e_consumer, &e) != 0)
		goto out;
	consumer_on = true;

	/* Warm-up, off the clock: one probe through both clients, so that
	 * connections, metadata and the first fetch are in place. */
	if (perf_e2e_send(prkt, value, (size_t)o->size, -1) != 0)
		goto out;
	int64_t deadline = perf_now_us() + 15000000;
	while (!(atomic_load(&e.probe_acked) && atomic_load(&e.probe_seen)) && perf_now_us() < deadline)
		perf_e2e_sleep_until(perf_now_us() + 1000);
	if (!atomic_load(&e.probe_seen)) {
		perf_error("the warm-up record was %s within 15 s",
			   atomic_load(&e.probe_acked) ? "not consumed" : "not acknowledged");
		goto out;
	}

	/* Sub-millisecond sleeps: the default timer slack (50 us) would make
	 * every wake-up late at 10,000 records/s. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	int64_t t0 = perf_now_us(), t_last = t0, late_max = 0;
	struct pace pace;
	pace_init(&pace, o->rate, t0);
	for (int64_t i = 0; i < o->count; i++) {
		if (o->rate > 0) {
			perf_e2e_sleep_until(pace_due_at(&pace, i));
			int64_t late = pace_late_us(&pace, i, perf_now_us());
			if (late > late_max)
				late_max = late;
		}
		if (perf_e2e_send(prkt, value, (size_t)o->size, i) != 0)
			goto out;
		t_last = perf_now_us();
	}
	/* Not rd_kafka_flush: it would serve delivery reports on this thread
	 * too, beside the poller. message.timeout.ms bounds the wait. */
	while (rd_kafka_outq_len(prod) > 0)
		perf_e2e_sleep_until(perf_now_us() + 1000);
	atomic_store(&e.stop_poller, true);
	pthread_join(poller, NULL);
	poller_on = false;
	/* The consumer stops when it has every record, or after
	 * o->timeout_ms without one. */
	pthread_join(consumer, NULL);
	consumer_on = false;

	int64_t missing = o->count - e.received;
	int64_t errors = e.ack_errors + e.consume_errors;
	double secs = (double)((e.last_us > t0 ? e.last_us : t0) - t0) / 1e6;
	double span = (double)(t_last - t0) / 1e6;
	printf("mode=e2e records=%" PRId64 " bytes=%" PRId64 " secs=%.3f rec_per_s=%.0f MB_per_s=%.1f"
	       " rate=%" PRId64 " sent_per_s=%.0f late_max_ms=%.2f",
	       e.received, e.bytes, secs, secs > 0 ? (double)e.received / secs : 0,
	       secs > 0 ? (double)e.bytes / secs / (1024.0 * 1024.0) : 0, o->rate,
	       span > 0 ? (double)(o->count - 1) / span : 0, (double)late_max / 1000.0);
	printf(" ack_p50_ms=%.2f ack_p99_ms=%.2f ack_p999_ms=%.2f ack_max_ms=%.2f", perf_e2e_ms(&e.ack, 50),
	       perf_e2e_ms(&e.ack, 99), perf_e2e_ms(&e.ack, 99.9), perf_e2e_ms(&e.ack, 100));
	printf(" e2e_p50_ms=%.2f e2e_p99_ms=%.2f e2e_p999_ms=%.2f e2e_max_ms=%.2f", perf_e2e_ms(&e.e2e, 50),
	       perf_e2e_ms(&e.e2e, 99), perf_e2e_ms(&e.e2e, 99.9), perf_e2e_ms(&e.e2e, 100));
	printf(" missing=%" PRId64 " duplicates=%" PRId64 " errors=%" PRId64 "\n", missing, e.duplicates, errors);
	fflush(stdout);
	if (e.ack_errors > 0)
		perf_error("%lld records failed, first: %s", (long long)e.ack_errors, rd_kafka_err2str(e.first_ack_err));
	if (missing > 0)
		perf_error("%lld of %lld records never reached the consumer (%lld ms without one)%s", (long long)missing,
			   (long long)o->count, (long long)o->timeout_ms,
			   o->mock_brokers ? "; the mock keeps only the last 5 MiB of a partition: a consumer that "
					     "falls that far behind misses records" : "");
	rc = missing == 0 && errors == 0 ? 0 : 1;
out:
	atomic_store(&e.stop_poller, true);
	atomic_store(&e.stop_consumer, true);
	if (poller_on)
		pthread_join(poller, NULL);
	if (consumer_on)
		pthread_join(consumer, NULL);
	for (int p = 0; p < started; p++)
		rd_kafka_consume_stop(crkt, p);
	if (e.q)
		rd_kafka_queue_destroy(e.q);
	if (crkt)
		rd_kafka_topic_destroy(crkt);
	if (cons)
		rd_kafka_destroy(cons);
	if (prkt)
		rd_kafka_topic_destroy(prkt);
	if (prod)
		rd_kafka_destroy(prod);
	latency_free(&e.ack);
	latency_free(&e.e2e);
	free(e.seen);
	free(value);
	return rc;
}
