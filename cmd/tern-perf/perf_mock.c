/* The baseline: librdkafka's mock cluster, run in this process. It keeps
 * records in memory and answers Produce/Fetch/Metadata like a broker, so
 * broker/mock ratios show what Tern costs over a trivial in-memory server. */
#include <stdlib.h>

#include <librdkafka/rdkafka.h>
/* After rdkafka.h, which it requires. */
#include <librdkafka/rdkafka_mock.h>

#include "cmd/tern-perf/perf.h"

struct perf_mock {
	rd_kafka_t *rk; /* owns the mock cluster's thread */
	rd_kafka_mock_cluster_t *mc;
};

static void perf_quiet_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

struct perf_mock *perf_mock_start(int brokers, const struct perf_opts *o, const char **bootstrap)
{
	struct perf_mock *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, perf_quiet_log_cb);
	/* This handle never connects anywhere; it only hosts the mock. */
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!m->rk) {
		perf_error("cannot create mock host: %s", err);
		free(m);
		return NULL;
	}
	m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
	if (!m->mc) {
		perf_error("cannot start a mock cluster of %d brokers", brokers);
		rd_kafka_destroy(m->rk);
		free(m);
		return NULL;
	}
	int parts = o->partitions > 0 ? (int)o->partitions : 1;
	int rf = brokers < 3 ? brokers : 3;
	rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(m->mc, o->topic, parts, rf);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		perf_error("cannot create mock topic '%s': %s", o->topic, rd_kafka_err2str(e));
		perf_mock_stop(m);
		return NULL;
	}
	*bootstrap = rd_kafka_mock_cluster_bootstraps(m->mc);
	return m;
}

void perf_mock_stop(struct perf_mock *m)
{
	if (!m)
		return;
	rd_kafka_mock_cluster_destroy(m->mc);
	rd_kafka_destroy(m->rk);
	free(m);
}
