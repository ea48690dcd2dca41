/* tern topics: kafka-topics.sh's --create / --list / --describe / --delete
 * over librdkafka's admin API, with kafka-topics' messages and output. */
#include <getopt.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tern/commands.h"
#include "cmd/tern/kafka_client.h"
#include "cmd/tern/opts.h"
#include "cmd/tern/topic_describe.h"
#include "cmd/tern/topic_id.h"

enum topics_action {
	TOPICS_NONE = 0,
	TOPICS_CREATE = 1,
	TOPICS_LIST = 2,
	TOPICS_DESCRIBE = 4,
	TOPICS_DELETE = 8,
};

struct topics_opts {
	const char *bootstrap;
	const char *topic; /* a name for --create, a pattern otherwise */
	int actions;       /* enum topics_action bits */
	int64_t partitions;  /* -1: broker default */
	int64_t replication; /* -1: broker default */
	struct kv_list configs;
	struct kv_list client; /* --command-config */
	bool if_not_exists;
	bool if_exists;
	bool exclude_internal;
};

static void topics_usage(FILE *out)
{
	fputs("Usage: tern topics --bootstrap-server HOST:PORT ACTION [OPTIONS]\n"
	      "Create, list, describe or delete topics (as kafka-topics.sh).\n"
	      "\n"
	      "Actions (exactly one):\n"
	      "  --create                 create --topic\n"
	      "  --list                   list topic names (filtered by --topic, a regex)\n"
	      "  --describe               describe topics (all, or those matching --topic)\n"
	      "  --delete                 delete the topics matching --topic\n"
	      "\n"
	      "Options:\n"
	      "  --bootstrap-server H:P   the broker(s) to connect to (required)\n"
	      "  --topic T                topic name; a regex for list/describe/delete\n"
	      "  --partitions N           partitions of a new topic (default: broker's)\n"
	      "  --replication-factor R   replication factor of a new topic (default: broker's)\n"
	      "  --config k=v             topic config for --create (repeatable)\n"
	      "  --if-not-exists          --create does nothing if the topic exists\n"
	      "  --if-exists              --describe/--delete do nothing if no topic matches\n"
	      "  --exclude-internal       leave out internal topics (__consumer_offsets, ...)\n"
	      "  --command-config FILE    client properties file (librdkafka names)\n"
	      "  --help                   this help\n"
	      "\n"
	      "Environment: TERN_CONNECT_TIMEOUT_MS (default 10000) bounds the wait for the\n"
	      "broker; TERN_RDKAFKA_DEBUG=ctx,... prints librdkafka debug logs.\n",
	      out);
}

static bool topics_is_internal(const char *name)
{
	return strcmp(name, "__consumer_offsets") == 0 || strcmp(name, "__transaction_state") == 0;
}

/* Kafka's IncludeList: commas mean alternatives, blanks and surrounding
 * quotes are dropped, and the pattern must match the whole name. */
static int topics_compile(const char *pattern, regex_t *re)
{
	size_t n = strlen(pattern);
	char *buf = malloc(n + 8);
	if (!buf)
		return -1;
	size_t o = 0;
	buf[o++] = '^';
	buf[o++] = '(';
	size_t start = 0, end = n;
	while (start < end && (pattern[start] == '"' || pattern[start] == '\''))
		start++;
	while (end > start && (pattern[end - 1] == '"' || pattern[end - 1] == '\''))
		end--;
	for (size_t i = start; i < end; i++) {
		if (pattern[i] == ' ')
			continue;
		buf[o++] = pattern[i] == ',' ? '|' : pattern[i];
	}
	buf[o++] = ')';
	buf[o++] = '$';
	buf[o] = '\0';
	int rc = regcomp(re, buf, REG_EXTENDED | REG_NOSUB);
	free(buf);
	return rc == 0 ? 0 : -1;
}

static int topics_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted names of the cluster's topics that pass the filters, as views
 * into `md`. Returns the count (array owned by the caller, free()) or -1. */
static int topics_select(const struct topics_opts *o, const struct rd_kafka_metadata *md, const char ***out)
{
	regex_t re;
	bool filter = o->topic && o->topic[0] != '\0';
	if (filter && topics_compile(o->topic, &re) != 0) {
		cli_error("invalid topic pattern '%s'", o->topic);
		return -1;
	}
	const char **names = calloc((size_t)md->topic_cnt + 1, sizeof(*names));
	if (!names) {
		if (filter)
			regfree(&re);
		return -1;
	}
	int n = 0;
	for (int i = 0; i < md->topic_cnt; i++) {
		const char *t = md->topics[i].topic;
		if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			continue;
		if (o->exclude_internal && topics_is_internal(t))
			continue;
		if (filter && regexec(&re, t, 0, NULL, 0) != 0)
			continue;
		names[n++] = t;
	}
	if (filter)
		regfree(&re);
	qsort(names, (size_t)n, sizeof(*names), topics_name_cmp);
	*out = names;
	return n;
}

/* Admin calls give up after 30 s, the operation (a controller waiting
 * for the topic to exist everywhere) as well as the request. */
static rd_kafka_AdminOptions_t *topics_admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
	char err[256];
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, op);
	rd_kafka_AdminOptions_set_request_timeout(ao, 30000, err, sizeof(err));
	if (op != RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS)
		rd_kafka_AdminOptions_set_operation_timeout(ao, 30000, err, sizeof(err));
	return ao;
}

/* Polls `q` for the result event of an admin call. */
static rd_kafka_event_t *topics_wait(rd_kafka_queue_t *q, const char *what)
{
	int timeout = kafka_client_connect_timeout_ms() + 35000;
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout);
	if (!ev) {
		cli_error("%s: no answer within %d ms", what, timeout);
		return NULL;
	}
	if (rd_kafka_event_error(ev)) {
		cli_error("%s: %s", what, rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

static int topics_create(rd_kafka_t *rk, const struct topics_opts *o)
{
	char err[512];
	if (strchr(o->topic, '.') && strchr(o->topic, '_'))
		puts("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore "
		     "('_') could collide. To avoid issues it is best to use either, but not both.");
	rd_kafka_NewTopic_t *nt =
		rd_kafka_NewTopic_new(o->topic, (int)o->partitions, (int)o->replication, err, sizeof(err));
	if (!nt) {
		cli_error("%s", err);
		return 1;
	}
	for (int i = 0; i < o->configs.n; i++) {
		if (rd_kafka_NewTopic_set_config(nt, o->configs.keys[i], o->configs.vals[i]) != 0) {
			cli_error("invalid topic config %s", o->configs.keys[i]);
			rd_kafka_NewTopic_destroy(nt);
			return 1;
		}
	}
	rd_kafka_AdminOptions_t *ao = topics_admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_AdminOptions_destroy(ao);

	int rc = 1;
	rd_kafka_event_t *ev = topics_wait(q, "create topic");
	if (ev) {
		size_t cnt = 0;
		const rd_kafka_topic_result_t **res =
			rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
		rd_kafka_resp_err_t e = cnt ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			printf("Created topic %s.\n", o->topic);
			rc = 0;
		} else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && o->if_not_exists) {
			rc = 0;
		} else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			cli_error("Topic '%s' already exists.", o->topic);
		} else {
			const char *msg = cnt ? rd_kafka_topic_result_error_string(res[0]) : NULL;
			cli_error("cannot create topic '%s': %s", o->topic,
				  msg && *msg ? msg : rd_kafka_err2str(e));
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	return rc;
}

static int topics_fetch_selection(rd_kafka_t *rk, const struct topics_opts *o,
				  const struct rd_kafka_metadata **md, const char ***names)
{
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, md, kafka_client_connect_timeout_ms());
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		cli_error("cannot list topics: %s", rd_kafka_err2str(e));
		return -1;
	}
	int n = topics_select(o, *md, names);
	if (n < 0)
		rd_kafka_metadata_destroy(*md);
	return n;
}

static int topics_list(rd_kafka_t *rk, const struct topics_opts *o)
{
	const struct rd_kafka_metadata *md;
	const char **names;
	int n = topics_fetch_selection(rk, o, &md, &names);
	if (n < 0)
		return 1;
	for (int i = 0; i < n; i++)
		puts(names[i]);
	free(names);
	rd_kafka_metadata_destroy(md);
	return 0;
}

/* The configs of each named topic whose source is the topic itself, into
 * cfgs[i] (n lists, zeroed by the caller). */
static int topics_configs(rd_kafka_t *rk, const char **names, int n, struct kv_list *cfgs)
{
	rd_kafka_ConfigResource_t **res = calloc((size_t)n, sizeof(*res));
	if (!res)
		return -1;
	for (int i = 0; i < n; i++)
		res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, names[i]);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = topics_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
	rd_kafka_DescribeConfigs(rk, res, (size_t)n, ao, q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_ConfigResource_destroy_array(res, (size_t)n);
	free(res);

	int rc = -1;
	rd_kafka_event_t *ev = topics_wait(q, "describe configs");
	if (ev) {
		size_t cnt = 0;
		const rd_kafka_ConfigResource_t **out =
			rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &cnt);
		rc = 0;
		for (size_t r = 0; r < cnt && rc == 0; r++) {
			const char *name = rd_kafka_ConfigResource_name(out[r]);
			int idx = -1;
			for (int i = 0; i < n; i++)
				if (strcmp(names[i], name) == 0)
					idx = i;
			if (idx < 0)
				continue;
			if (rd_kafka_ConfigResource_error(out[r]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
				cli_error("cannot describe configs of '%s': %s", name,
					  rd_kafka_ConfigResource_error_string(out[r]));
				rc = -1;
				break;
			}
			size_t ecnt = 0;
			const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(out[r], &ecnt);
			for (size_t k = 0; k < ecnt; k++) {
				if (rd_kafka_ConfigEntry_source(e[k]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
					continue;
				const char *v = rd_kafka_ConfigEntry_value(e[k]);
				if (kv_list_put(&cfgs[idx], rd_kafka_ConfigEntry_name(e[k]), v ? v : "null") != 0)
					rc = -1;
			}
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	return rc;
}

static const struct rd_kafka_metadata_topic *topics_find(const struct rd_kafka_metadata *md, const char *name)
{
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, name) == 0)
			return &md->topics[i];
	return NULL;
}

static int topics_describe(rd_kafka_t *rk, const struct topics_opts *o)
{
	const struct rd_kafka_metadata *md;
	const char **names;
	int n = topics_fetch_selection(rk, o, &md, &names);
	if (n < 0)
		return 1;
	int rc = 1;
	struct kv_list *cfgs = calloc((size_t)n + 1, sizeof(*cfgs));
	uint8_t(*ids)[16] = calloc((size_t)n + 1, sizeof(*ids));
	if (!cfgs || !ids)
		goto out;
	if (n == 0) {
		if (o->topic && !o->if_exists) {
			cli_error("Topic '%s' does not exist as expected", o->topic);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (topics_configs(rk, names, n, cfgs) != 0)
		goto out;
	/* Best effort: without an answer the TopicId column is left out, as
	 * kafka-topics does for a topic without an id. */
	topic_id_fetch(o->bootstrap, names, n, ids, kafka_client_connect_timeout_ms());

	for (int i = 0; i < n; i++) {
		const struct rd_kafka_metadata_topic *t = topics_find(md, names[i]);
		struct topic_describe_partition *parts = calloc((size_t)t->partition_cnt + 1, sizeof(*parts));
		if (!parts)
			goto out;
		for (int p = 0; p < t->partition_cnt; p++) {
			const struct rd_kafka_metadata_partition *mp = &t->partitions[p];
			parts[p] = (struct topic_describe_partition){
				.partition = mp->id,
				.leader = mp->leader,
				.replicas = mp->replicas,
				.replica_cnt = mp->replica_cnt,
				.isr = mp->isrs,
				.isr_cnt = mp->isr_cnt,
			};
		}
		struct topic_describe d = {
			.name = names[i],
			.partitions = parts,
			.partition_cnt = t->partition_cnt,
			.configs = &cfgs[i],
		};
		memcpy(d.id, ids[i], 16);
		topic_describe_print(&d, stdout);
		free(parts);
	}
	rc = 0;
out:
	for (int i = 0; cfgs && i < n; i++)
		kv_list_free(&cfgs[i]);
	free(cfgs);
	free(ids);
	free(names);
	rd_kafka_metadata_destroy(md);
	return rc;
}

static int topics_delete(rd_kafka_t *rk, const struct topics_opts *o)
{
	const struct rd_kafka_metadata *md;
	const char **names;
	int n = topics_fetch_selection(rk, o, &md, &names);
	if (n < 0)
		return 1;
	int rc = 1;
	if (n == 0) {
		if (o->if_exists)
			rc = 0;
		else
			cli_error("Topic '%s' does not exist as expected", o->topic);
		goto out;
	}
	rd_kafka_DeleteTopic_t **dt = calloc((size_t)n, sizeof(*dt));
	if (!dt)
		goto out;
	for (int i = 0; i < n; i++)
		dt[i] = rd_kafka_DeleteTopic_new(names[i]);
	rd_kafka_AdminOptions_t *ao = topics_admin_options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_DeleteTopics(rk, dt, (size_t)n, ao, q);
	rd_kafka_DeleteTopic_destroy_array(dt, (size_t)n);
	free(dt);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_event_t *ev = topics_wait(q, "delete topics");
	if (ev) {
		size_t cnt = 0;
		const rd_kafka_topic_result_t **res =
			rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
		rc = 0;
		for (size_t i = 0; i < cnt; i++) {
			rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
			if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
				continue;
			const char *msg = rd_kafka_topic_result_error_string(res[i]);
			cli_error("cannot delete topic '%s': %s", rd_kafka_topic_result_name(res[i]),
				  msg && *msg ? msg : rd_kafka_err2str(e));
			rc = 1;
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
out:
	free(names);
	rd_kafka_metadata_destroy(md);
	return rc;
}

enum {
	OPT_BOOTSTRAP = 256,
	OPT_TOPIC,
	OPT_CREATE,
	OPT_LIST,
	OPT_DESCRIBE,
	OPT_DELETE,
	OPT_PARTITIONS,
	OPT_REPLICATION,
	OPT_CONFIG,
	OPT_IF_NOT_EXISTS,
	OPT_IF_EXISTS,
	OPT_EXCLUDE_INTERNAL,
	OPT_COMMAND_CONFIG,
	OPT_HELP,
};

static const struct option topics_options[] = {
	{"bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP},
	{"topic", required_argument, NULL, OPT_TOPIC},
	{"create", no_argument, NULL, OPT_CREATE},
	{"list", no_argument, NULL, OPT_LIST},
	{"describe", no_argument, NULL, OPT_DESCRIBE},
	{"delete", no_argument, NULL, OPT_DELETE},
	{"partitions", required_argument, NULL, OPT_PARTITIONS},
	{"replication-factor", required_argument, NULL, OPT_REPLICATION},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"if-not-exists", no_argument, NULL, OPT_IF_NOT_EXISTS},
	{"if-exists", no_argument, NULL, OPT_IF_EXISTS},
	{"exclude-internal", no_argument, NULL, OPT_EXCLUDE_INTERNAL},
	{"command-config", required_argument, NULL, OPT_COMMAND_CONFIG},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else the exit status (help, or a usage error). */
static int topics_parse(int argc, char **argv, struct topics_opts *o)
{
	char err[512];
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", topics_options, NULL)) != -1) {
		switch (c) {
		case OPT_BOOTSTRAP: o->bootstrap = optarg; break;
		case OPT_TOPIC: o->topic = optarg; break;
		case OPT_CREATE: o->actions |= TOPICS_CREATE; break;
		case OPT_LIST: o->actions |= TOPICS_LIST; break;
		case OPT_DESCRIBE: o->actions |= TOPICS_DESCRIBE; break;
		case OPT_DELETE: o->actions |= TOPICS_DELETE; break;
		case OPT_PARTITIONS:
			if (opts_parse_i64(optarg, 1, INT32_MAX, &o->partitions) != 0) {
				cli_error("The partitions must be greater than 0");
				return 1;
			}
			break;
		case OPT_REPLICATION:
			if (opts_parse_i64(optarg, 1, INT16_MAX, &o->replication) != 0) {
				cli_error("The replication factor must be between 1 and %d inclusive", INT16_MAX);
				return 1;
			}
			break;
		case OPT_CONFIG:
			if (kv_list_add_trimmed(&o->configs, optarg) != 0) {
				cli_error("Invalid topic config: all configs to be added must be in the format "
					  "\"key=val\".");
				return 1;
			}
			break;
		case OPT_IF_NOT_EXISTS: o->if_not_exists = true; break;
		case OPT_IF_EXISTS: o->if_exists = true; break;
		case OPT_EXCLUDE_INTERNAL: o->exclude_internal = true; break;
		case OPT_COMMAND_CONFIG:
			if (opts_load_properties(optarg, &o->client, err, sizeof(err)) != 0) {
				cli_error("%s", err);
				return 1;
			}
			break;
		case OPT_HELP:
		case 'h':
			topics_usage(stdout);
			return 0;
		default:
			cli_error("unknown or incomplete option '%s' (see tern topics --help)", argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (see tern topics --help)", argv[optind]);
		return 1;
	}
	int a = o->actions;
	if (a == 0 || (a & (a - 1)) != 0) {
		cli_error("Command must include exactly one action: --list, --describe, --create or --delete");
		return 1;
	}
	if (!o->bootstrap) {
		cli_error("Missing required argument \"[bootstrap-server]\"");
		return 1;
	}
	if ((a & (TOPICS_CREATE | TOPICS_DELETE)) && !o->topic) {
		cli_error("Missing required argument \"[topic]\"");
		return 1;
	}
	if (!(a & TOPICS_CREATE) && (o->configs.n || o->partitions > 0 || o->replication > 0 || o->if_not_exists)) {
		cli_error("--partitions, --replication-factor, --config and --if-not-exists go with --create only");
		return 1;
	}
	return -1;
}

int topics_main(int argc, char **argv)
{
	struct topics_opts o = {.partitions = -1, .replication = -1};
	int rc = topics_parse(argc, argv, &o);
	if (rc >= 0)
		goto out;
	rc = 1;
	rd_kafka_conf_t *conf = kafka_client_conf(o.bootstrap, &o.client);
	if (!conf)
		goto out;
	rd_kafka_t *rk = kafka_client_new(RD_KAFKA_PRODUCER, conf);
	if (!rk)
		goto out;
	if (kafka_client_check_reachable(rk, o.bootstrap) == 0) {
		switch (o.actions) {
		case TOPICS_CREATE: rc = topics_create(rk, &o); break;
		case TOPICS_LIST: rc = topics_list(rk, &o); break;
		case TOPICS_DESCRIBE: rc = topics_describe(rk, &o); break;
		case TOPICS_DELETE: rc = topics_delete(rk, &o); break;
		}
	}
	rd_kafka_destroy(rk);
out:
	kv_list_free(&o.configs);
	kv_list_free(&o.client);
	return rc;
}
