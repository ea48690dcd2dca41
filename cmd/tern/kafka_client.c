#include "cmd/tern/kafka_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("tern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int kafka_client_connect_timeout_ms(void)
{
	int64_t v;
	const char *env = getenv("TERN_CONNECT_TIMEOUT_MS");
	if (env && opts_parse_i64(env, 1, 3600 * 1000, &v) == 0)
		return (int)v;
	return KAFKA_CLIENT_CONNECT_TIMEOUT_MS;
}

static void kafka_client_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	if (getenv("TERN_RDKAFKA_DEBUG"))
		fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

/* Errors also arrive here (all brokers down, ...); the tools detect those
 * through their own timeouts, so this only keeps librdkafka from logging. */
static void kafka_client_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	if (getenv("TERN_RDKAFKA_DEBUG"))
		fprintf(stderr, "rdkafka error %s: %s\n", rd_kafka_err2name(err), reason);
}

int kafka_client_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
	char err[512];
	if (rd_kafka_conf_set(conf, key, val, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		cli_error("invalid client property %s=%s: %s", key, val, err);
		return -1;
	}
	return 0;
}

rd_kafka_conf_t *kafka_client_conf(const char *bootstrap, const struct kv_list *extra)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, kafka_client_log_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_client_error_cb);
	const char *dbg = getenv("TERN_RDKAFKA_DEBUG");
	if (kafka_client_set(conf, "bootstrap.servers", bootstrap) != 0 ||
	    kafka_client_set(conf, "client.id", "tern") != 0 ||
	    (dbg && *dbg && kafka_client_set(conf, "debug", dbg) != 0))
		goto err;
	for (int i = 0; extra && i < extra->n; i++)
		if (kafka_client_set(conf, extra->keys[i], extra->vals[i]) != 0)
			goto err;
	return conf;
err:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

rd_kafka_t *kafka_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		cli_error("cannot create client: %s", err);
	}
	return rk;
}

int kafka_client_check_reachable(rd_kafka_t *rk, const char *bootstrap)
{
	const struct rd_kafka_metadata *md = NULL;
	int timeout = kafka_client_connect_timeout_ms();
	/* No topic and all_topics=0: a brokers-only Metadata request. */
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, NULL, &md, timeout);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		cli_error("cannot reach %s within %d ms: %s", bootstrap, timeout, rd_kafka_err2str(err));
		return -1;
	}
	rd_kafka_metadata_destroy(md);
	return 0;
}

int kafka_client_topic_metadata(rd_kafka_t *rk, const char *topic,
				const struct rd_kafka_metadata **out,
				const struct rd_kafka_metadata_topic **tmd)
{
	const struct rd_kafka_metadata *md = NULL;
	/* All topics rather than a topic handle: asking for one topic by name
	 * can make a broker with auto-creation enabled create it. */
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, kafka_client_connect_timeout_ms());
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		cli_error("cannot fetch metadata: %s", rd_kafka_err2str(err));
		return -1;
	}
	for (int i = 0; i < md->topic_cnt; i++) {
		const struct rd_kafka_metadata_topic *t = &md->topics[i];
		if (strcmp(t->topic, topic) != 0)
			continue;
		if (t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			break;
		if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			cli_error("topic '%s': %s", topic, rd_kafka_err2str(t->err));
			rd_kafka_metadata_destroy(md);
			return -1;
		}
		*out = md;
		*tmd = t;
		return 0;
	}
	rd_kafka_metadata_destroy(md);
	cli_error("Topic '%s' does not exist", topic);
	return -1;
}
