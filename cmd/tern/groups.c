/* tern groups: kafka-consumer-groups.sh's --list / --describe / --delete /
 * --reset-offsets over librdkafka's admin API (KIP-222 ListGroups,
 * DescribeGroups and OffsetFetch, KIP-229 DeleteGroups, KIP-396
 * AlterConsumerGroupOffsets), with the tool's messages and output.
 *
 * Log-end and log-start offsets come from rd_kafka_query_watermark_offsets
 * (ListOffsets to each partition's leader): the librdkafka this builds
 * against (2.0) has no ListOffsets admin call. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/protocol/api_versions.h"
#include "broker/protocol/delete_groups.h"
#include "broker/protocol/header.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "cmd/tern/commands.h"
#include "cmd/tern/group_describe.h"
#include "cmd/tern/kafka_client.h"
#include "cmd/tern/raw_conn.h"
#include "cmd/tern/opts.h"

enum groups_action {
	GROUPS_LIST = 1,
	GROUPS_DESCRIBE = 2,
	GROUPS_DELETE = 4,
	GROUPS_RESET = 8,
};

enum groups_reset_to {
	RESET_NONE = 0,
	RESET_EARLIEST = 1,
	RESET_LATEST = 2,
	RESET_OFFSET = 4,
};

struct groups_opts {
	const char *bootstrap;
	const char *group;
	const char *topic; /* --reset-offsets: "T" or "T:0,1" */
	int actions;       /* enum groups_action bits */
	int reset_to;      /* enum groups_reset_to bits */
	int64_t to_offset;
	bool execute;
	bool dry_run;
	struct kv_list client; /* --command-config */
};

static void groups_usage(FILE *out)
{
	fputs("Usage: tern groups --bootstrap-server HOST:PORT ACTION [OPTIONS]\n"
	      "List, describe, delete consumer groups and reset their offsets\n"
	      "(as kafka-consumer-groups.sh).\n"
	      "\n"
	      "Actions (exactly one):\n"
	      "  --list                   list the consumer groups\n"
	      "  --describe               committed offset, log-end offset, lag and owner of each\n"
	      "                           partition of --group\n"
	      "  --delete                 delete --group (it must have no active members)\n"
	      "  --reset-offsets          plan (or with --execute, commit) new offsets for --group\n"
	      "                           on --topic; the group must have no active members\n"
	      "\n"
	      "Options:\n"
	      "  --bootstrap-server H:P   the broker(s) to connect to (required)\n"
	      "  --group G                the consumer group\n"
	      "  --topic T[:P,P...]       --reset-offsets: the topic, every partition or those listed\n"
	      "  --to-earliest            reset to each partition's log-start offset\n"
	      "  --to-latest              reset to each partition's log-end offset\n"
	      "  --to-offset N            reset to N (clamped into [log start, log end])\n"
	      "  --dry-run                print the plan only (the default)\n"
	      "  --execute                commit the plan\n"
	      "  --command-config FILE    client properties file (librdkafka names)\n"
	      "  --help                   this help\n"
	      "\n"
	      "Environment: TERN_CONNECT_TIMEOUT_MS (default 10000) bounds the wait for the\n"
	      "broker; TERN_RDKAFKA_DEBUG=ctx,... prints librdkafka debug logs.\n",
	      out);
}

/* Admin calls give up after 30 s. */
static rd_kafka_AdminOptions_t *groups_admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
	char err[256];
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, op);
	rd_kafka_AdminOptions_set_request_timeout(ao, 30000, err, sizeof(err));
	return ao;
}

/* Polls `q` for the result event of an admin call; NULL after printing why
 * it failed as a whole. */
static rd_kafka_event_t *groups_wait(rd_kafka_queue_t *q, const char *what)
{
	int timeout = kafka_client_connect_timeout_ms() + 35000;
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout);
	if (!ev) {
		cli_error("%s: no answer within %d ms", what, timeout);
		return NULL;
	}
	if (rd_kafka_event_error(ev)) {
		rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
		const char *msg = rd_kafka_event_error_string(ev);
		if (e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)
			cli_error("%s: the broker does not support this request (%s)", what,
				  msg && *msg ? msg : rd_kafka_err2str(e));
		else
			cli_error("%s: %s", what, msg && *msg ? msg : rd_kafka_err2str(e));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

static int groups_str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int groups_list(rd_kafka_t *rk)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = groups_admin_options(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
	rd_kafka_ListConsumerGroups(rk, ao, q);
	rd_kafka_AdminOptions_destroy(ao);
	int rc = 1;
	rd_kafka_event_t *ev = groups_wait(q, "list consumer groups");
	if (ev) {
		const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
		size_t n = 0, nerr = 0;
		const rd_kafka_ConsumerGroupListing_t **valid = rd_kafka_ListConsumerGroups_result_valid(res, &n);
		const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
		const char **names = calloc(n + 1, sizeof(*names));
		if (names) {
			for (size_t i = 0; i < n; i++)
				names[i] = rd_kafka_ConsumerGroupListing_group_id(valid[i]);
			qsort(names, n, sizeof(*names), groups_str_cmp);
			for (size_t i = 0; i < n; i++)
				puts(names[i]);
			free(names);
			rc = 0;
		}
		/* A broker that did not answer leaves its groups out: say so
		 * rather than print a partial list as if it were whole. */
		for (size_t i = 0; i < nerr; i++) {
			cli_error("list consumer groups: %s", rd_kafka_error_string(errs[i]));
			rc = 1;
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	return rc;
}

/* Describes one group: its state (Kafka's name, malloc'd into *state) and
 * its description *desc, which lives in the event *ev_out (the caller
 * destroys it). Returns 0; 1 when the coordinator answers GROUP_ID_NOT_FOUND
 * (nothing set, nothing printed); -1 after printing an error. */
static int groups_describe_group(rd_kafka_t *rk, const char *group, char **state,
				 const rd_kafka_ConsumerGroupDescription_t **desc, rd_kafka_event_t **ev_out)
{
	*state = NULL;
	*desc = NULL;
	*ev_out = NULL;
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = groups_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
	const char *groups[] = {group};
	rd_kafka_DescribeConsumerGroups(rk, groups, 1, ao, q);
	rd_kafka_AdminOptions_destroy(ao);
	int rc = -1;
	rd_kafka_event_t *ev = groups_wait(q, "describe consumer group");
	rd_kafka_queue_destroy(q);
	if (!ev)
		return -1;
	size_t n = 0;
	const rd_kafka_ConsumerGroupDescription_t **d =
		rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
	if (n < 1) {
		cli_error("describe consumer group '%s': empty answer", group);
		goto out;
	}
	const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(d[0]);
	if (e && rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
		rc = 1;
		goto out;
	}
	if (e) {
		cli_error("cannot describe consumer group '%s': %s", group, rd_kafka_error_string(e));
		goto out;
	}
	*state = strdup(rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d[0])));
	if (!*state)
		goto out;
	*desc = d[0];
	*ev_out = ev;
	return 0;
out:
	rd_kafka_event_destroy(ev);
	return rc;
}

/* The group's committed offsets (OffsetFetch for every partition). Returns
 * the event holding them (destroy it) with *parts pointing inside, or NULL
 * after printing an error. */
static rd_kafka_event_t *groups_committed(rd_kafka_t *rk, const char *group,
					  const rd_kafka_topic_partition_list_t **parts)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = groups_admin_options(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
	/* No partitions: every partition the group has committed. */
	rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
	rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, ao, q);
	rd_kafka_ListConsumerGroupOffsets_destroy(req);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_event_t *ev = groups_wait(q, "list committed offsets");
	rd_kafka_queue_destroy(q);
	if (!ev)
		return NULL;
	size_t n = 0;
	const rd_kafka_group_result_t **res =
		rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
	const rd_kafka_error_t *e = n ? rd_kafka_group_result_error(res[0]) : NULL;
	if (n < 1 || e) {
		cli_error("cannot list committed offsets of group '%s': %s", group,
			  e ? rd_kafka_error_string(e) : "empty answer");
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	*parts = rd_kafka_group_result_partitions(res[0]);
	return ev;
}

/* Both watermarks of a partition; -1 each when its leader does not answer. */
static void groups_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t *low, int64_t *high)
{
	int64_t lo = -1, hi = -1;
	if (rd_kafka_query_watermark_offsets(rk, topic, partition, &lo, &hi, kafka_client_connect_timeout_ms()) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		lo = -1;
		hi = -1;
	}
	*low = lo;
	*high = hi;
}

static int groups_describe(rd_kafka_t *rk, const struct groups_opts *o)
{
	char *state = NULL;
	const rd_kafka_ConsumerGroupDescription_t *desc = NULL;
	rd_kafka_event_t *dev = NULL, *oev = NULL;
	struct group_describe_member *members = NULL;
	struct group_describe_offset *committed = NULL;
	struct group_describe_row *rows = NULL;
	int rc = 1;

	int found = groups_describe_group(rk, o->group, &state, &desc, &dev);
	if (found < 0)
		goto out;
	if (found == 1) {
		cli_error("Consumer group '%s' does not exist.", o->group);
		goto out;
	}
	const rd_kafka_topic_partition_list_t *cparts = NULL;
	oev = groups_committed(rk, o->group, &cparts);
	if (!oev)
		goto out;

	size_t mcnt = rd_kafka_ConsumerGroupDescription_member_count(desc);
	members = calloc(mcnt + 1, sizeof(*members));
	committed = calloc((size_t)(cparts ? cparts->cnt : 0) + 1, sizeof(*committed));
	if (!members || !committed)
		goto out;
	for (size_t i = 0; i < mcnt; i++) {
		const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(desc, i);
		const rd_kafka_topic_partition_list_t *a =
			rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
		struct group_describe_tp *tps = calloc((size_t)(a ? a->cnt : 0) + 1, sizeof(*tps));
		if (!tps)
			goto out;
		for (int k = 0; a && k < a->cnt; k++)
			tps[k] = (struct group_describe_tp){a->elems[k].topic, a->elems[k].partition};
		members[i] = (struct group_describe_member){
			.consumer_id = rd_kafka_MemberDescription_consumer_id(m),
			.host = rd_kafka_MemberDescription_host(m),
			.client_id = rd_kafka_MemberDescription_client_id(m),
			.assigned = tps,
			.assigned_cnt = a ? a->cnt : 0,
		};
	}
	int ccnt = 0;
	for (int i = 0; cparts && i < cparts->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &cparts->elems[i];
		/* librdkafka reports "no commit" as RD_KAFKA_OFFSET_INVALID. */
		if (p->err != RD_KAFKA_RESP_ERR_NO_ERROR || p->offset < 0)
			continue;
		committed[ccnt++] = (struct group_describe_offset){p->topic, p->partition, p->offset};
	}
	int n = group_describe_rows(members, (int)mcnt, committed, ccnt, &rows);
	if (n < 0) {
		cli_error("out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int64_t low;
		groups_watermarks(rk, rows[i].topic, rows[i].partition, &low, &rows[i].log_end);
	}
	if (group_describe_print(o->group, state, rows, n, stdout, stderr) == GROUP_DESCRIBE_NOT_FOUND) {
		cli_error("Consumer group '%s' does not exist.", o->group);
		goto out;
	}
	rc = 0;
out:
	if (members)
		for (size_t i = 0; desc && i < rd_kafka_ConsumerGroupDescription_member_count(desc); i++)
			free((void *)members[i].assigned);
	free(members);
	free(committed);
	free(rows);
	free(state);
	if (dev)
		rd_kafka_event_destroy(dev);
	if (oev)
		rd_kafka_event_destroy(oev);
	return rc;
}

/* ---- Does the broker serve an API at all? ----
 *
 * librdkafka 2.0 aborts the process (assertion `eonce->refcnt > 0` in
 * rd_kafka_enq_once_del_source_return) when a coordinator admin request is
 * made for an API the broker does not advertise: its error path frees the
 * request twice (librdkafka issue #3663). So before DeleteGroups the tool
 * asks the bootstrap server's ApiVersions itself (v0: every broker answers
 * it), over a plain socket with the project's codec. */

#define GROUPS_PROBE_MAX_RESPONSE (1 << 20) /* ApiVersions is a few hundred bytes */

/* One ApiVersions v0 round trip. Returns 1 when the broker lists
 * `api_key`, 0 when it does not, -1 when it did not answer properly. */
static int groups_ask_api(int fd, int16_t api_key, int64_t deadline)
{
	const int32_t corr = 1;
	struct request_header h = {
		.api_key = 18, /* ApiVersions */
		.api_version = 0,
		.correlation_id = corr,
		.client_id = {"tern", 4},
	};
	struct kwriter w;
	kw_init(&w, 64);
	size_t size_at = kw_reserve(&w, 4);
	request_header_encode(&w, 1, &h);
	struct api_versions_request req = {{NULL, -1}, {NULL, -1}};
	api_versions_request_encode(&w, 0, &req);
	kw_put_i32_at(&w, size_at, (int32_t)(w.len - 4));
	int rc = -1;
	uint8_t *body = NULL;
	size_t size = 0;
	if (!kw_ok(&w) || raw_conn_round_trip(fd, w.buf, w.len, GROUPS_PROBE_MAX_RESPONSE, &body, &size, deadline) != 0)
		goto out;
	struct kreader r;
	kr_init(&r, body, size);
	int32_t got = 0;
	struct api_versions_response resp;
	if (response_header_decode(&r, 0, &got) != 0 || got != corr || api_versions_response_decode(&r, 0, &resp) != 0)
		goto out;
	if (resp.error_code == 0) {
		rc = 0;
		for (int32_t i = 0; i < resp.api_keys_count; i++)
			if (resp.api_keys[i].api_key == api_key)
				rc = 1;
	}
	api_versions_response_free(&resp);
out:
	free(body);
	kw_free(&w);
	return rc;
}

struct groups_probe {
	int16_t api_key;
	int64_t deadline;
};

static int groups_ask_api_cb(int fd, void *arg)
{
	struct groups_probe *q = arg;
	return groups_ask_api(fd, q->api_key, q->deadline);
}

/* Asks the first server of `bootstrap` that answers. */
static int groups_broker_has_api(const char *bootstrap, int16_t api_key, int timeout_ms)
{
	struct groups_probe q = {api_key, raw_conn_now_ms() + timeout_ms};
	return raw_conn_each_server(bootstrap, q.deadline, groups_ask_api_cb, &q);
}

static int groups_delete(rd_kafka_t *rk, const struct groups_opts *o)
{
	/* Unknown (no answer) goes on: librdkafka then reports what it finds. */
	if (groups_broker_has_api(o->bootstrap, DELETE_GROUPS_API_KEY, kafka_client_connect_timeout_ms()) == 0) {
		cli_error("Consumer group '%s' could not be deleted: the broker does not support deleting consumer "
			  "groups (DeleteGroups, API key %d)",
			  o->group, DELETE_GROUPS_API_KEY);
		return 1;
	}

	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = groups_admin_options(rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
	rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new(o->group);
	rd_kafka_DeleteGroups(rk, &dg, 1, ao, q);
	rd_kafka_DeleteGroup_destroy(dg);
	rd_kafka_AdminOptions_destroy(ao);
	int rc = 1;
	rd_kafka_event_t *ev = groups_wait(q, "delete consumer group");
	if (ev) {
		size_t n = 0;
		const rd_kafka_group_result_t **res =
			rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
		const rd_kafka_error_t *e = n ? rd_kafka_group_result_error(res[0]) : NULL;
		if (n < 1) {
			cli_error("delete consumer group '%s': empty answer", o->group);
		} else if (!e) {
			printf("Deletion of requested consumer groups ('%s') was successful.\n", o->group);
			rc = 0;
		} else if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP) {
			cli_error("Consumer group '%s' could not be deleted: it has active members (NON_EMPTY_GROUP).",
				  o->group);
		} else if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
			cli_error("Consumer group '%s' does not exist.", o->group);
		} else {
			cli_error("Consumer group '%s' could not be deleted: %s", o->group, rd_kafka_error_string(e));
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	return rc;
}

/* Commits `plan` for the group (OffsetCommit outside group membership, as
 * Kafka's AdminClient.alterConsumerGroupOffsets). Returns 0 or 1. */
static int groups_alter_offsets(rd_kafka_t *rk, const char *group, const struct group_describe_offset *plan, int n)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
	for (int i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, plan[i].topic, plan[i].partition)->offset = plan[i].offset;
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = groups_admin_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
	rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(group, l);
	rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, ao, q);
	rd_kafka_AlterConsumerGroupOffsets_destroy(req);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_topic_partition_list_destroy(l);
	int rc = 1;
	rd_kafka_event_t *ev = groups_wait(q, "reset offsets");
	if (ev) {
		size_t cnt = 0;
		const rd_kafka_group_result_t **res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
			rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &cnt);
		const rd_kafka_error_t *e = cnt ? rd_kafka_group_result_error(res[0]) : NULL;
		if (cnt < 1) {
			cli_error("reset offsets of group '%s': empty answer", group);
		} else if (e) {
			cli_error("cannot reset offsets of group '%s': %s", group, rd_kafka_error_string(e));
		} else {
			rc = 0;
			const rd_kafka_topic_partition_list_t *parts = rd_kafka_group_result_partitions(res[0]);
			for (int i = 0; parts && i < parts->cnt; i++) {
				const rd_kafka_topic_partition_t *p = &parts->elems[i];
				if (p->err == RD_KAFKA_RESP_ERR_NO_ERROR)
					continue;
				cli_error("cannot reset the offset of group '%s' on %s-%d: %s", group, p->topic,
					  (int)p->partition, rd_kafka_err2str(p->err));
				rc = 1;
			}
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	return rc;
}

static int groups_reset(rd_kafka_t *rk, const struct groups_opts *o)
{
	char err[512];
	char *topic = NULL, *state = NULL;
	int32_t *want = NULL;
	int want_cnt = 0;
	struct group_describe_offset *plan = NULL;
	const struct rd_kafka_metadata *md = NULL;
	const rd_kafka_ConsumerGroupDescription_t *desc = NULL;
	rd_kafka_event_t *dev = NULL;
	int rc = 1;

	if (group_describe_parse_topic(o->topic, &topic, &want, &want_cnt, err, sizeof(err)) != 0) {
		cli_error("%s", err);
		return 1;
	}
	/* Kafka resets only a group nobody consumes in (Empty, Dead, or not
	 * known at all): members would overwrite the new offsets with their
	 * own next commit. */
	int found = groups_describe_group(rk, o->group, &state, &desc, &dev);
	if (found < 0)
		goto out;
	if (found == 0 && strcmp(state, "Empty") != 0 && strcmp(state, "Dead") != 0) {
		cli_error("Assignments can only be reset if the group '%s' is inactive, but the current state is %s.",
			  o->group, state);
		goto out;
	}
	const struct rd_kafka_metadata_topic *tmd;
	if (kafka_client_topic_metadata(rk, topic, &md, &tmd) != 0)
		goto out;
	int n = want_cnt ? want_cnt : tmd->partition_cnt;
	plan = calloc((size_t)n + 1, sizeof(*plan));
	if (!plan)
		goto out;
	for (int i = 0; i < n; i++) {
		int32_t p = want_cnt ? want[i] : tmd->partitions[i].id;
		bool exists = false;
		for (int k = 0; k < tmd->partition_cnt; k++)
			exists = exists || tmd->partitions[k].id == p;
		if (!exists) {
			cli_error("Partition %s-%d does not exist", topic, (int)p);
			goto out;
		}
		int64_t low, high;
		groups_watermarks(rk, topic, p, &low, &high);
		plan[i] = (struct group_describe_offset){topic, p, -1};
		if (o->reset_to == RESET_EARLIEST && low < 0) {
			cli_error("Error getting starting offset of topic partition: %s-%d", topic, (int)p);
			goto out;
		}
		if (o->reset_to == RESET_LATEST && high < 0) {
			cli_error("Error getting ending offset of topic partition: %s-%d", topic, (int)p);
			goto out;
		}
		if (o->reset_to == RESET_EARLIEST) {
			plan[i].offset = low;
		} else if (o->reset_to == RESET_LATEST) {
			plan[i].offset = high;
		} else {
			bool clamped;
			plan[i].offset = group_describe_reset_clamp(o->to_offset, low, high, &clamped);
			if (clamped)
				fprintf(stderr,
					"WARN New offset (%lld) is %s than %s offset for topic partition %s-%d. Value "
					"will be set to %lld.\n",
					(long long)o->to_offset, o->to_offset > plan[i].offset ? "higher" : "lower",
					o->to_offset > plan[i].offset ? "latest" : "earliest", topic, (int)p,
					(long long)plan[i].offset);
		}
	}
	if (o->execute && groups_alter_offsets(rk, o->group, plan, n) != 0)
		goto out;
	group_describe_reset_print(o->group, plan, n, stdout);
	rc = 0;
out:
	free(plan);
	free(topic);
	free(want);
	free(state);
	if (md)
		rd_kafka_metadata_destroy(md);
	if (dev)
		rd_kafka_event_destroy(dev);
	return rc;
}

enum {
	OPT_BOOTSTRAP = 256,
	OPT_GROUP,
	OPT_TOPIC,
	OPT_LIST,
	OPT_DESCRIBE,
	OPT_DELETE,
	OPT_RESET,
	OPT_TO_EARLIEST,
	OPT_TO_LATEST,
	OPT_TO_OFFSET,
	OPT_EXECUTE,
	OPT_DRY_RUN,
	OPT_COMMAND_CONFIG,
	OPT_HELP,
};

static const struct option groups_options[] = {
	{"bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP},
	{"group", required_argument, NULL, OPT_GROUP},
	{"topic", required_argument, NULL, OPT_TOPIC},
	{"list", no_argument, NULL, OPT_LIST},
	{"describe", no_argument, NULL, OPT_DESCRIBE},
	{"delete", no_argument, NULL, OPT_DELETE},
	{"reset-offsets", no_argument, NULL, OPT_RESET},
	{"to-earliest", no_argument, NULL, OPT_TO_EARLIEST},
	{"to-latest", no_argument, NULL, OPT_TO_LATEST},
	{"to-offset", required_argument, NULL, OPT_TO_OFFSET},
	{"execute", no_argument, NULL, OPT_EXECUTE},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"command-config", required_argument, NULL, OPT_COMMAND_CONFIG},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else the exit status (help, or a usage error). */
static int groups_parse(int argc, char **argv, struct groups_opts *o)
{
	char err[512];
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", groups_options, NULL)) != -1) {
		switch (c) {
		case OPT_BOOTSTRAP: o->bootstrap = optarg; break;
		case OPT_GROUP: o->group = optarg; break;
		case OPT_TOPIC: o->topic = optarg; break;
		case OPT_LIST: o->actions |= GROUPS_LIST; break;
		case OPT_DESCRIBE: o->actions |= GROUPS_DESCRIBE; break;
		case OPT_DELETE: o->actions |= GROUPS_DELETE; break;
		case OPT_RESET: o->actions |= GROUPS_RESET; break;
		case OPT_TO_EARLIEST: o->reset_to |= RESET_EARLIEST; break;
		case OPT_TO_LATEST: o->reset_to |= RESET_LATEST; break;
		case OPT_TO_OFFSET:
			if (opts_parse_i64(optarg, 0, INT64_MAX, &o->to_offset) != 0) {
				cli_error("--to-offset needs an offset >= 0, not '%s'", optarg);
				return 1;
			}
			o->reset_to |= RESET_OFFSET;
			break;
		case OPT_EXECUTE: o->execute = true; break;
		case OPT_DRY_RUN: o->dry_run = true; break;
		case OPT_COMMAND_CONFIG:
			if (opts_load_properties(optarg, &o->client, err, sizeof(err)) != 0) {
				cli_error("%s", err);
				return 1;
			}
			break;
		case OPT_HELP:
		case 'h':
			groups_usage(stdout);
			return 0;
		default:
			cli_error("unknown or incomplete option '%s' (see tern groups --help)", argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (see tern groups --help)", argv[optind]);
		return 1;
	}
	int a = o->actions;
	if (a == 0 || (a & (a - 1)) != 0) {
		cli_error("Command must include exactly one action: --list, --describe, --delete, --reset-offsets");
		return 1;
	}
	if (!o->bootstrap) {
		cli_error("Missing required argument \"[bootstrap-server]\"");
		return 1;
	}
	if ((a & (GROUPS_DESCRIBE | GROUPS_DELETE | GROUPS_RESET)) && !o->group) {
		cli_error("Option --%s takes the option --group",
			  a == GROUPS_DESCRIBE ? "describe" : a == GROUPS_DELETE ? "delete" : "reset-offsets");
		return 1;
	}
	if (a != GROUPS_RESET && (o->reset_to || o->execute || o->dry_run || o->topic)) {
		cli_error("--topic, --to-earliest, --to-latest, --to-offset, --execute and --dry-run go with "
			  "--reset-offsets only");
		return 1;
	}
	if (a == GROUPS_RESET) {
		if (!o->topic) {
			cli_error("One of the reset scopes should be defined: --topic.");
			return 1;
		}
		int r = o->reset_to;
		if (r == 0 || (r & (r - 1)) != 0) {
			cli_error("Option --reset-offsets takes exactly one of --to-earliest, --to-latest, --to-offset");
			return 1;
		}
		if (o->execute && o->dry_run) {
			cli_error("Option --execute and --dry-run cannot be used together");
			return 1;
		}
	}
	return -1;
}

int groups_main(int argc, char **argv)
{
	struct groups_opts o = {0};
	int rc = groups_parse(argc, argv, &o);
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
		case GROUPS_LIST: rc = groups_list(rk); break;
		case GROUPS_DESCRIBE: rc = groups_describe(rk, &o); break;
		case GROUPS_DELETE: rc = groups_delete(rk, &o); break;
		case GROUPS_RESET: rc = groups_reset(rk, &o); break;
		}
	}
	rd_kafka_destroy(rk);
out:
	kv_list_free(&o.client);
	return rc;
}
