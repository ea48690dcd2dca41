/* tern consume: kafka-console-consumer.sh. Without --group it reads the
 * partitions itself with librdkafka's simple consumer API, so no group
 * coordinator is involved (the high-level consumer wants a group.id even to
 * assign partitions); with --group it joins the group and commits as
 * Kafka's tool does. Stops after --max-messages,
 * after --timeout-ms without a record, or on SIGINT/SIGTERM, then prints
 * "Processed a total of N messages" on stderr. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/tern/commands.h"
#include "cmd/tern/kafka_client.h"
#include "cmd/tern/opts.h"
#include "cmd/tern/record_format.h"

struct console_consume_opts {
	const char *bootstrap;
	const char *topic;
	const char *group;
	bool from_beginning;
	int64_t max_messages; /* -1: unlimited */
	int64_t timeout_ms;   /* -1: wait forever */
	int64_t partition;    /* -1: all */
	const char *offset;   /* earliest | latest | N; NULL: by --from-beginning */
	struct kv_list format_props; /* --property */
	struct kv_list client;       /* --consumer-property, --consumer.config */
};

static volatile sig_atomic_t console_consume_stop;

static void console_consume_signal(int sig)
{
	console_consume_stop = 1;
}

static void console_consume_usage(FILE *out)
{
	fputs("Usage: tern consume --bootstrap-server HOST:PORT --topic T [OPTIONS]\n"
	      "Print the records of a topic on stdout (as kafka-console-consumer.sh).\n"
	      "\n"
	      "  --bootstrap-server H:P     the broker(s) to connect to (required)\n"
	      "  --topic T                  the topic to read (required)\n"
	      "  --from-beginning           start at the earliest offset, not the end\n"
	      "  --partition P              read only partition P\n"
	      "  --offset O                 with --partition: earliest, latest or an offset\n"
	      "  --group G                  consume as member of group G (commits offsets);\n"
	      "                             without it partitions are assigned directly\n"
	      "  --max-messages N           exit after N records\n"
	      "  --timeout-ms MS            exit after MS ms without a record\n"
	      "  --property k=v             output: print.key, print.value, print.offset,\n"
	      "                             print.partition, print.headers, print.timestamp,\n"
	      "                             key.separator, line.separator, headers.separator,\n"
	      "                             null.literal\n"
	      "  --consumer-property k=v    client property (librdkafka names)\n"
	      "  --consumer.config FILE     client properties file\n"
	      "  --help                     this help\n",
	      out);
}

static int64_t console_consume_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum {
	OPT_BOOTSTRAP = 256,
	OPT_TOPIC,
	OPT_GROUP,
	OPT_FROM_BEGINNING,
	OPT_MAX_MESSAGES,
	OPT_TIMEOUT,
	OPT_PARTITION,
	OPT_OFFSET,
	OPT_PROPERTY,
	OPT_CONSUMER_PROPERTY,
	OPT_CONSUMER_CONFIG,
	OPT_HELP,
};

static const struct option console_consume_options[] = {
	{"bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP},
	{"topic", required_argument, NULL, OPT_TOPIC},
	{"group", required_argument, NULL, OPT_GROUP},
	{"from-beginning", no_argument, NULL, OPT_FROM_BEGINNING},
	{"max-messages", required_argument, NULL, OPT_MAX_MESSAGES},
	{"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	{"partition", required_argument, NULL, OPT_PARTITION},
	{"offset", required_argument, NULL, OPT_OFFSET},
	{"property", required_argument, NULL, OPT_PROPERTY},
	{"consumer-property", required_argument, NULL, OPT_CONSUMER_PROPERTY},
	{"consumer.config", required_argument, NULL, OPT_CONSUMER_CONFIG},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int console_consume_parse(int argc, char **argv, struct console_consume_opts *o)
{
	char err[512];
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", console_consume_options, NULL)) != -1) {
		switch (c) {
		case OPT_BOOTSTRAP: o->bootstrap = optarg; break;
		case OPT_TOPIC: o->topic = optarg; break;
		case OPT_GROUP: o->group = optarg; break;
		case OPT_FROM_BEGINNING: o->from_beginning = true; break;
		case OPT_MAX_MESSAGES:
			if (opts_parse_i64(optarg, 1, INT64_MAX, &o->max_messages) != 0) {
				cli_error("--max-messages must be a positive number, not '%s'", optarg);
				return 1;
			}
			break;
		case OPT_TIMEOUT:
			if (opts_parse_i64(optarg, 0, INT32_MAX, &o->timeout_ms) != 0) {
				cli_error("--timeout-ms must be a number of milliseconds, not '%s'", optarg);
				return 1;
			}
			break;
		case OPT_PARTITION:
			if (opts_parse_i64(optarg, 0, INT32_MAX, &o->partition) != 0) {
				cli_error("--partition must be a partition number, not '%s'", optarg);
				return 1;
			}
			break;
		case OPT_OFFSET: o->offset = optarg; break;
		case OPT_PROPERTY:
		case OPT_CONSUMER_PROPERTY:
			if (kv_list_add(c == OPT_PROPERTY ? &o->format_props : &o->client, optarg) != 0) {
				cli_error("invalid property '%s': expected key=value", optarg);
				return 1;
			}
			break;
		case OPT_CONSUMER_CONFIG:
			if (opts_load_properties(optarg, &o->client, err, sizeof(err)) != 0) {
				cli_error("%s", err);
				return 1;
			}
			break;
		case OPT_HELP:
		case 'h':
			console_consume_usage(stdout);
			return 0;
		default:
			cli_error("unknown or incomplete option '%s' (see tern consume --help)", argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (see tern consume --help)", argv[optind]);
		return 1;
	}
	if (!o->bootstrap || !o->topic) {
		cli_error("Missing required argument \"[%s]\"", o->bootstrap ? "topic" : "bootstrap-server");
		return 1;
	}
	/* Kafka's ConsoleConsumer refuses the same combinations. */
	if (o->offset && o->partition < 0) {
		cli_error("The partition is required when offset is specified.");
		return 1;
	}
	if (o->offset && o->from_beginning) {
		cli_error("Options from-beginning and offset cannot be specified together.");
		return 1;
	}
	if (o->group && o->partition >= 0) {
		cli_error("Options group and partition cannot be specified together.");
		return 1;
	}
	return -1;
}

/* The start offset for assigned partitions. Returns 0 or -1. */
static int console_consume_start(const struct console_consume_opts *o, int64_t *start)
{
	if (!o->offset || strcmp(o->offset, "latest") == 0)
		*start = o->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
	else if (strcmp(o->offset, "earliest") == 0)
		*start = RD_KAFKA_OFFSET_BEGINNING;
	else if (opts_parse_i64(o->offset, 0, INT64_MAX, start) != 0) {
		cli_error("The offset must be 'earliest', 'latest' or a non-negative number, not '%s'", o->offset);
		return -1;
	}
	return 0;
}

static rd_kafka_t *console_consume_client(const struct console_consume_opts *o)
{
	rd_kafka_conf_t *conf = kafka_client_conf(o->bootstrap, NULL);
	if (!conf)
		return NULL;
	const char *reset = o->from_beginning ? "earliest" : "latest";
	int bad = kafka_client_set(conf, "auto.offset.reset", reset) || kafka_client_set(conf, "enable.partition.eof", "false");
	if (o->group)
		bad = bad || kafka_client_set(conf, "group.id", o->group);
	else
		/* No group: nothing to commit (the simple consumer's setting). */
		bad = bad || kafka_client_set(conf, "auto.commit.enable", "false");
	for (int i = 0; !bad && i < o->client.n; i++)
		bad = kafka_client_set(conf, o->client.keys[i], o->client.vals[i]);
	if (bad) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return kafka_client_new(RD_KAFKA_CONSUMER, conf);
}

/* How records are read: the group's subscription, or started partitions. */
struct console_consume_source {
	rd_kafka_topic_t *rkt; /* no group: the topic handle */
	rd_kafka_queue_t *q;   /* no group: where every started partition delivers */
	int32_t *started;      /* no group: the partitions started, [0, started_cnt) */
	int started_cnt;
};

/* Subscribes (group) or starts the partitions. Returns 0 or -1. */
static int console_consume_attach(rd_kafka_t *rk, const struct console_consume_opts *o,
				  struct console_consume_source *src)
{
	const struct rd_kafka_metadata *md;
	const struct rd_kafka_metadata_topic *t;
	if (kafka_client_topic_metadata(rk, o->topic, &md, &t) != 0)
		return -1;
	int rc = -1;
	int64_t start;
	if (console_consume_start(o, &start) != 0)
		goto out;
	if (o->group) {
		rd_kafka_topic_partition_list_t *tps = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(tps, o->topic, RD_KAFKA_PARTITION_UA);
		rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, tps);
		rd_kafka_topic_partition_list_destroy(tps);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			cli_error("cannot subscribe to '%s': %s", o->topic, rd_kafka_err2str(e));
			goto out;
		}
		rc = 0;
		goto out;
	}
	src->started = calloc((size_t)t->partition_cnt + 1, sizeof(*src->started));
	if (!src->started)
		goto out;
	src->rkt = rd_kafka_topic_new(rk, o->topic, NULL);
	src->q = rd_kafka_queue_new(rk);
	for (int i = 0; i < t->partition_cnt; i++) {
		int32_t p = t->partitions[i].id;
		if (o->partition >= 0 && p != o->partition)
			continue;
		if (rd_kafka_consume_start_queue(src->rkt, p, start, src->q) != 0) {
			cli_error("cannot read partition %" PRId32 " of '%s': %s", p, o->topic,
				  rd_kafka_err2str(rd_kafka_last_error()));
			goto out;
		}
		src->started[src->started_cnt++] = p;
	}
	if (src->started_cnt == 0) {
		cli_error("Topic '%s' has no partition %" PRId64, o->topic, o->partition);
		goto out;
	}
	rc = 0;
out:
	rd_kafka_metadata_destroy(md);
	return rc;
}

static void console_consume_detach(rd_kafka_t *rk, const struct console_consume_opts *o,
				   struct console_consume_source *src)
{
	if (o->group) {
		/* Leaves the group, committing what was consumed. */
		rd_kafka_consumer_close(rk);
		return;
	}
	for (int i = 0; i < src->started_cnt; i++)
		rd_kafka_consume_stop(src->rkt, src->started[i]);
	if (src->q)
		rd_kafka_queue_destroy(src->q);
	if (src->rkt)
		rd_kafka_topic_destroy(src->rkt);
	free(src->started);
}

static void console_consume_print(const struct record_format *f, const rd_kafka_message_t *m)
{
	struct record_header stack[16], *hv = stack;
	size_t hcnt = 0;
	rd_kafka_headers_t *hdrs = NULL;
	if (f->print_headers && rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		size_t n = rd_kafka_header_cnt(hdrs);
		if (n > sizeof(stack) / sizeof(stack[0]))
			hv = malloc(n * sizeof(*hv));
		for (size_t i = 0; hv && i < n; i++) {
			const char *name;
			const void *val;
			size_t size;
			if (rd_kafka_header_get_all(hdrs, i, &name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
				break;
			hv[hcnt++] = (struct record_header){name, val, size};
		}
	}
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);
	struct record_view r = {
		.partition = m->partition,
		.offset = m->offset,
		.ts_type = tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME	? RECORD_TS_CREATE_TIME
			   : tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? RECORD_TS_LOG_APPEND_TIME
									  : RECORD_TS_NONE,
		.timestamp = ts,
		.key = m->key,
		.key_len = m->key_len,
		.value = m->payload,
		.value_len = m->len,
		.headers = hv,
		.header_cnt = hcnt,
	};
	record_format_write(f, &r, stdout);
	if (hv != stack)
		free(hv);
}

/* Errors that will not go away by waiting. */
static bool console_consume_fatal(rd_kafka_t *rk, rd_kafka_resp_err_t e)
{
	char buf[256];
	switch (e) {
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR__FATAL:
		return true;
	default:
		return rd_kafka_fatal_error(rk, buf, sizeof(buf)) != RD_KAFKA_RESP_ERR_NO_ERROR;
	}
}

int console_consume_main(int argc, char **argv)
{
	struct console_consume_opts o = {.max_messages = -1, .timeout_ms = -1, .partition = -1};
	struct record_format fmt;
	rd_kafka_t *rk = NULL;
	struct console_consume_source src = {0};
	int64_t count = 0;

	int rc = console_consume_parse(argc, argv, &o);
	if (rc >= 0)
		goto out;
	rc = 1;
	record_format_init(&fmt);
	record_format_configure(&fmt, &o.format_props);
	rk = console_consume_client(&o);
	if (!rk || kafka_client_check_reachable(rk, o.bootstrap) != 0 || console_consume_attach(rk, &o, &src) != 0)
		goto out;

	signal(SIGINT, console_consume_signal);
	signal(SIGTERM, console_consume_signal);
	rc = 0;
	int64_t last = console_consume_now_ms();
	while (!console_consume_stop && (o.max_messages < 0 || count < o.max_messages)) {
		rd_kafka_message_t *m = o.group ? rd_kafka_consumer_poll(rk, 100) : rd_kafka_consume_queue(src.q, 100);
		int64_t now = console_consume_now_ms();
		if (!m) {
			fflush(stdout);
			if (o.timeout_ms >= 0 && now - last >= o.timeout_ms)
				break;
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			console_consume_print(&fmt, m);
			count++;
			last = now;
		} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && console_consume_fatal(rk, m->err)) {
			cli_error("%s", rd_kafka_message_errstr(m));
			rc = 1;
			rd_kafka_message_destroy(m);
			break;
		}
		rd_kafka_message_destroy(m);
	}
	fflush(stdout);
	fprintf(stderr, "Processed a total of %" PRId64 " messages\n", count);
out:
	if (rk) {
		console_consume_detach(rk, &o, &src);
		rd_kafka_destroy(rk);
	}
	kv_list_free(&o.format_props);
	kv_list_free(&o.client);
	return rc;
}
