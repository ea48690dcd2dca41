/* tern-perf: a produce/consume load client, after librdkafka's
 * rdkafka_performance, that prints one machine-readable summary line:
 *
 *   mode=produce records=100000 bytes=102400000 secs=1.23 rec_per_s=81300
 *   MB_per_s=79.4 p50_ms=1.2 p99_ms=5.3 errors=0
 *
 * (one line; MB = 2^20 bytes; latency = delivery report time - produce time).
 * Runs against a cluster (--bootstrap-server) or librdkafka's in-process
 * mock cluster (--mock N), the baseline the benchmark compares Tern with.
 * The e2e mode produces at a fixed rate and consumes in the same process:
 * see perf_e2e.c for its line.
 */
#ifndef TERN_PERF_PERF_H
#define TERN_PERF_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct perf_opts {
	const char *bootstrap; /* the cluster, or the mock's bootstraps */
	int mock_brokers;      /* 0: real cluster */
	const char *topic;
	int64_t count;       /* records */
	int64_t size;        /* value bytes per record */
	const char *acks;    /* "0", "1", "all"/"-1" */
	const char *compression;
	int64_t partitions;  /* for topic creation; -1: leave as is */
	int64_t timeout_ms;  /* consume, e2e: give up after this long without a record */
	int64_t rate;        /* produce, e2e: records per second (see pace.h), 0: no limit */
	/* consume: start over at the log start on reaching the end. The mock
	 * keeps only the last 5 MiB of each partition, so a consume run
	 * against it re-reads that window until it has seen count records. */
	bool rewind_at_eof;
	/* -X style librdkafka properties, applied last: keys[i]=vals[i]. */
	const char **prop_keys;
	const char **prop_vals;
	int prop_cnt;
};

/* A summary of one run. */
struct perf_result {
	const char *mode;
	int64_t records;
	int64_t bytes;
	double secs;
	double p50_ms; /* produce only; < 0: not measured */
	double p99_ms;
	int64_t errors;
};

void perf_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Monotonic clock, in microseconds. */
int64_t perf_now_us(void);
/* A configuration with bootstrap.servers, quiet logs and o's properties.
 * Returns an owned conf or NULL after printing why. */
rd_kafka_conf_t *perf_conf(const struct perf_opts *o);
int perf_set(rd_kafka_conf_t *conf, const char *key, const char *val);
/* Waits for the cluster's metadata of o->topic: it must exist and every
 * partition have a leader. Returns the partition count or -1. */
int perf_wait_topic(rd_kafka_t *rk, const struct perf_opts *o, int timeout_ms);
/* Creates o->topic with o->partitions partitions when it does not exist
 * (real clusters only). Returns 0 or -1. */
int perf_ensure_topic(const struct perf_opts *o);
void perf_print(const struct perf_result *r);

/* The runs. Return the process exit status. */
int perf_produce(const struct perf_opts *o, struct perf_result *r);
int perf_consume(const struct perf_opts *o, struct perf_result *r);
/* Prints its own summary line (two latency distributions). */
int perf_e2e(const struct perf_opts *o);

/* The producer of the produce and e2e runs: o's acks, compression and
 * properties, delivery reports to dr_cb with opaque. NULL after printing why. */
rd_kafka_t *perf_produce_client(const struct perf_opts *o,
				void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque);
/* The record value of the runs: pseudo-random letters from a fixed seed,
 * which compress like typical data would not; runs are comparable. */
void perf_produce_fill(uint8_t *p, size_t n);
/* The simple consumer (no group) of the consume and e2e runs, with o's
 * properties. NULL after printing why. */
rd_kafka_t *perf_consume_client(const struct perf_opts *o);

/* The in-process mock cluster: started once per process, stopped at exit. */
struct perf_mock;
/* Starts `brokers` mock brokers with o->topic created (o->partitions, or 1).
 * Returns the mock or NULL; *bootstrap is a view valid while it runs. */
struct perf_mock *perf_mock_start(int brokers, const struct perf_opts *o, const char **bootstrap);
void perf_mock_stop(struct perf_mock *m);

#endif
