/* tern produce: kafka-console-producer.sh. Reads stdin line by line, sends
 * each line as one record, waits until every record is delivered, and fails
 * with one line naming the first delivery error. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/tern/commands.h"
#include "cmd/tern/kafka_client.h"
#include "cmd/tern/line_reader.h"
#include "cmd/tern/opts.h"

struct console_produce_opts {
	const char *bootstrap;
	const char *topic;
	const char *compression;
	const char *acks;
	struct kv_list reader_props; /* --property: line parsing */
	struct kv_list client;       /* --producer-property, --producer.config */
};

/* Delivery accounting, updated by the delivery callback (which runs inside
 * rd_kafka_poll/flush on this thread). */
struct console_produce_state {
	int64_t sent;
	int64_t delivered;
	int64_t failed;
	rd_kafka_resp_err_t first_err;
	char first_msg[512];
};

static volatile sig_atomic_t console_produce_stop;

static void console_produce_signal(int sig)
{
	console_produce_stop = 1;
}

static void console_produce_usage(FILE *out)
{
	fputs("Usage: tern produce --bootstrap-server HOST:PORT --topic T [OPTIONS] < lines\n"
	      "Send each line of stdin as one record (as kafka-console-producer.sh).\n"
	      "\n"
	      "  --bootstrap-server H:P        the broker(s) to connect to (required)\n"
	      "  --topic T                     the topic to write to (required)\n"
	      "  --property k=v                line parsing: parse.key, key.separator (TAB),\n"
	      "                                parse.headers, headers.delimiter (TAB),\n"
	      "                                headers.separator (,), headers.key.separator (:),\n"
	      "                                ignore.error, null.marker\n"
	      "  --producer-property k=v       client property (librdkafka names, e.g. acks=all)\n"
	      "  --producer.config FILE        client properties file\n"
	      "  --request-required-acks A     acks: 0, 1 or -1/all (default all)\n"
	      "  --compression-codec C         none, gzip, snappy, lz4 or zstd\n"
	      "  --help                        this help\n"
	      "\n"
	      "Exits 0 once every record is acknowledged; otherwise prints the first\n"
	      "delivery error and exits 1.\n",
	      out);
}

static void console_produce_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct console_produce_state *st = opaque;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		st->delivered++;
		return;
	}
	if (st->failed++ == 0) {
		st->first_err = m->err;
		snprintf(st->first_msg, sizeof(st->first_msg), "%s", rd_kafka_message_errstr(m));
	}
}

static int console_produce_send(rd_kafka_t *rk, const char *topic, const struct line_record *rec,
				struct console_produce_state *st)
{
	rd_kafka_headers_t *hdrs = NULL;
	if (rec->header_cnt > 0) {
		hdrs = rd_kafka_headers_new(rec->header_cnt);
		for (size_t i = 0; i < rec->header_cnt; i++)
			rd_kafka_header_add(hdrs, rec->headers[i].name.p, (ssize_t)rec->headers[i].name.len,
					    rec->headers[i].value.p, (ssize_t)rec->headers[i].value.len);
	}
	for (;;) {
		rd_kafka_resp_err_t e = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_KEY(rec->key.p, rec->key.len), RD_KAFKA_V_VALUE((void *)rec->value.p, rec->value.len),
			RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			st->sent++;
			return 0;
		}
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || console_produce_stop) {
			if (hdrs)
				rd_kafka_headers_destroy(hdrs);
			cli_error("cannot send record %lld: %s", (long long)st->sent + 1, rd_kafka_err2str(e));
			return -1;
		}
		/* The local queue is full: serve delivery reports to make room. */
		rd_kafka_poll(rk, 100);
	}
}

enum {
	OPT_BOOTSTRAP = 256,
	OPT_TOPIC,
	OPT_PROPERTY,
	OPT_PRODUCER_PROPERTY,
	OPT_PRODUCER_CONFIG,
	OPT_ACKS,
	OPT_COMPRESSION,
	OPT_HELP,
};

static const struct option console_produce_options[] = {
	{"bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP},
	{"broker-list", required_argument, NULL, OPT_BOOTSTRAP},
	{"topic", required_argument, NULL, OPT_TOPIC},
	{"property", required_argument, NULL, OPT_PROPERTY},
	{"producer-property", required_argument, NULL, OPT_PRODUCER_PROPERTY},
	{"producer.config", required_argument, NULL, OPT_PRODUCER_CONFIG},
	{"request-required-acks", required_argument, NULL, OPT_ACKS},
	{"compression-codec", required_argument, NULL, OPT_COMPRESSION},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int console_produce_parse(int argc, char **argv, struct console_produce_opts *o)
{
	char err[512];
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", console_produce_options, NULL)) != -1) {
		switch (c) {
		case OPT_BOOTSTRAP: o->bootstrap = optarg; break;
		case OPT_TOPIC: o->topic = optarg; break;
		case OPT_PROPERTY:
		case OPT_PRODUCER_PROPERTY:
			if (kv_list_add(c == OPT_PROPERTY ? &o->reader_props : &o->client, optarg) != 0) {
				cli_error("invalid property '%s': expected key=value", optarg);
				return 1;
			}
			break;
		case OPT_PRODUCER_CONFIG:
			if (opts_load_properties(optarg, &o->client, err, sizeof(err)) != 0) {
				cli_error("%s", err);
				return 1;
			}
			break;
		case OPT_ACKS: o->acks = optarg; break;
		case OPT_COMPRESSION: o->compression = optarg; break;
		case OPT_HELP:
		case 'h':
			console_produce_usage(stdout);
			return 0;
		default:
			cli_error("unknown or incomplete option '%s' (see tern produce --help)", argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (see tern produce --help)", argv[optind]);
		return 1;
	}
	if (!o->bootstrap || !o->topic) {
		cli_error("Missing required argument \"[%s]\"", o->bootstrap ? "topic" : "bootstrap-server");
		return 1;
	}
	return -1;
}

static rd_kafka_t *console_produce_client(const struct console_produce_opts *o, struct console_produce_state *st)
{
	rd_kafka_conf_t *conf = kafka_client_conf(o->bootstrap, NULL);
	if (!conf)
		return NULL;
	/* Command-line options first, explicit client properties last, so
	 * --producer-property wins as it does in Kafka's tool. */
	if ((o->acks && kafka_client_set(conf, "acks", o->acks) != 0) ||
	    (o->compression && kafka_client_set(conf, "compression.codec", o->compression) != 0)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	for (int i = 0; i < o->client.n; i++) {
		if (kafka_client_set(conf, o->client.keys[i], o->client.vals[i]) != 0) {
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	}
	rd_kafka_conf_set_dr_msg_cb(conf, console_produce_dr_cb);
	rd_kafka_conf_set_opaque(conf, st);
	return kafka_client_new(RD_KAFKA_PRODUCER, conf);
}

int console_produce_main(int argc, char **argv)
{
	struct console_produce_opts o = {0};
	struct console_produce_state st = {0};
	struct line_reader lr;
	char err[1024];
	rd_kafka_t *rk = NULL;
	char *line = NULL;
	size_t cap = 0;

	int rc = console_produce_parse(argc, argv, &o);
	if (rc >= 0)
		goto out;
	rc = 1;
	if (line_reader_configure(&lr, &o.reader_props, err, sizeof(err)) != 0) {
		cli_error("%s", err);
		goto out;
	}
	rk = console_produce_client(&o, &st);
	if (!rk || kafka_client_check_reachable(rk, o.bootstrap) != 0)
		goto out;

	signal(SIGINT, console_produce_signal);
	signal(SIGTERM, console_produce_signal);
	/* Kafka prompts only when both ends are a terminal (System.console()). */
	bool prompt = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	bool failed = false;
	for (;;) {
		if (prompt) {
			fputs(">", stdout);
			fflush(stdout);
		}
		ssize_t len = getline(&line, &cap, stdin);
		if (len < 0 || console_produce_stop)
			break;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		struct line_record rec;
		int prc = line_reader_parse(&lr, line, (size_t)len, &rec, err, sizeof(err));
		if (prc != 0) {
			cli_error("%s", prc == -2 ? "out of memory" : err);
			failed = true;
			break;
		}
		int src = console_produce_send(rk, o.topic, &rec, &st);
		line_record_free(&rec);
		if (src != 0) {
			failed = true;
			break;
		}
		rd_kafka_poll(rk, 0);
	}

	/* Wait for every delivery report; message.timeout.ms bounds each one. */
	while (rd_kafka_outq_len(rk) > 0 && !console_produce_stop)
		rd_kafka_flush(rk, 1000);
	if (rd_kafka_outq_len(rk) > 0) {
		cli_error("interrupted with %d records not yet acknowledged", rd_kafka_outq_len(rk));
		rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(rk, 0);
		failed = true;
	} else if (st.failed > 0) {
		cli_error("%lld of %lld records were not delivered; first error: %s (%s)",
			  (long long)st.failed, (long long)st.sent, st.first_msg, rd_kafka_err2name(st.first_err));
		failed = true;
	}
	rc = failed ? 1 : 0;
out:
	free(line);
	if (rk)
		rd_kafka_destroy(rk);
	kv_list_free(&o.reader_props);
	kv_list_free(&o.client);
	return rc;
}
