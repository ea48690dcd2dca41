/* Shared plumbing of the tern-perf runs: client configuration, topic
 * readiness, the summary line. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/tern-perf/perf.h"

void perf_error(const char *fmt, ...)
{
	va_list ap;
	fputs("tern-perf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int64_t perf_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void perf_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	if (getenv("TERN_RDKAFKA_DEBUG"))
		fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

static void perf_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	if (getenv("TERN_RDKAFKA_DEBUG"))
		fprintf(stderr, "rdkafka error %s: %s\n", rd_kafka_err2name(err), reason);
}

int perf_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
	char err[512];
	if (rd_kafka_conf_set(conf, key, val, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		perf_error("invalid client property %s=%s: %s", key, val, err);
		return -1;
	}
	return 0;
}

rd_kafka_conf_t *perf_conf(const struct perf_opts *o)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, perf_log_cb);
	rd_kafka_conf_set_error_cb(conf, perf_error_cb);
	const char *dbg = getenv("TERN_RDKAFKA_DEBUG");
	int bad = perf_set(conf, "bootstrap.servers", o->bootstrap) || perf_set(conf, "client.id", "tern-perf") ||
		  (dbg && *dbg && perf_set(conf, "debug", dbg));
	for (int i = 0; !bad && i < o->prop_cnt; i++)
		bad = perf_set(conf, o->prop_keys[i], o->prop_vals[i]);
	if (bad) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

int perf_wait_topic(rd_kafka_t *rk, const struct perf_opts *o, int timeout_ms)
{
	int64_t deadline = perf_now_us() + (int64_t)timeout_ms * 1000;
	rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR__TIMED_OUT;
	do {
		const struct rd_kafka_metadata *md = NULL;
		int left = (int)((deadline - perf_now_us()) / 1000);
		last = rd_kafka_metadata(rk, 1, NULL, &md, left > 100 ? left : 100);
		if (last == RD_KAFKA_RESP_ERR_NO_ERROR) {
			int cnt = -1;
			last = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
			for (int i = 0; i < md->topic_cnt; i++) {
				const struct rd_kafka_metadata_topic *t = &md->topics[i];
				if (strcmp(t->topic, o->topic) != 0)
					continue;
				last = t->err;
				if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partition_cnt == 0)
					break;
				cnt = t->partition_cnt;
				for (int p = 0; p < t->partition_cnt; p++)
					if (t->partitions[p].leader < 0) {
						cnt = -1;
						last = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
					}
			}
			rd_kafka_metadata_destroy(md);
			if (cnt > 0)
				return cnt;
		}
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	} while (perf_now_us() < deadline);
	perf_error("topic '%s' not ready on %s within %d ms: %s", o->topic, o->bootstrap, timeout_ms,
		   rd_kafka_err2str(last));
	return -1;
}

int perf_ensure_topic(const struct perf_opts *o)
{
	rd_kafka_conf_t *conf = perf_conf(o);
	if (!conf)
		return -1;
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		perf_error("cannot create client: %s", err);
		return -1;
	}
	int rc = -1;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		perf_error("cannot reach %s: %s", o->bootstrap, rd_kafka_err2str(e));
		goto out;
	}
	bool exists = false;
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, o->topic) == 0 && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
			exists = true;
	rd_kafka_metadata_destroy(md);
	if (exists) {
		rc = 0;
		goto out;
	}
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, (int)o->partitions, -1, err, sizeof(err));
	if (!nt) {
		perf_error("%s", err);
		goto out;
	}
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
	if (!ev) {
		perf_error("create topic '%s': no answer", o->topic);
	} else {
		size_t cnt = 0;
		const rd_kafka_topic_result_t **res =
			rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
		e = rd_kafka_event_error(ev);
		if (!e && cnt)
			e = rd_kafka_topic_result_error(res[0]);
		if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
			perf_error("create topic '%s': %s", o->topic, rd_kafka_err2str(e));
		else
			rc = 0;
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
out:
	rd_kafka_destroy(rk);
	return rc;
}

void perf_print(const struct perf_result *r)
{
	double secs = r->secs > 0 ? r->secs : 1e-9;
	printf("mode=%s records=%" PRId64 " bytes=%" PRId64 " secs=%.3f rec_per_s=%.0f MB_per_s=%.1f", r->mode,
	       r->records, r->bytes, r->secs, (double)r->records / secs,
	       (double)r->bytes / secs / (1024.0 * 1024.0));
	if (r->p50_ms >= 0)
		printf(" p50_ms=%.2f p99_ms=%.2f", r->p50_ms, r->p99_ms);
	printf(" errors=%" PRId64 "\n", r->errors);
	fflush(stdout);
}
