#include "broker/topic_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tc_type { TC_LONG, TC_INT, TC_BOOL, TC_STRING };

/* DescribeConfigs v3 config_type values. */
enum { CT_BOOLEAN = 1, CT_STRING = 2, CT_INT = 3, CT_LONG = 5, CT_LIST = 7 };

enum tc_id {
	TC_CLAIMCHECK_ENABLE,
	TC_CLAIMCHECK_FETCH_MODE,
	TC_CLAIMCHECK_MAX_VALUE_BYTES,
	TC_CLAIMCHECK_THRESHOLD_BYTES,
	TC_CLEANUP_POLICY,
	TC_COMPRESSION_TYPE,
	TC_DELETE_RETENTION_MS,
	TC_FLUSH_MESSAGES,
	TC_FLUSH_MS,
	TC_INDEX_INTERVAL_BYTES,
	TC_MAX_MESSAGE_BYTES,
	TC_MESSAGE_TIMESTAMP_TYPE,
	TC_MIN_CLEANABLE_DIRTY_RATIO,
	TC_MIN_COMPACTION_LAG_MS,
	TC_MIN_INSYNC_REPLICAS,
	TC_RETENTION_BYTES,
	TC_RETENTION_MS,
	TC_SEGMENT_BYTES,
	TC_SEGMENT_INDEX_BYTES,
	TC_SEGMENT_MS,
	TC_UNCLEAN_LEADER_ELECTION_ENABLE,
};

struct tc_row {
	enum tc_id id;
	const char *name;
	enum tc_type type;
	int64_t min, max;
	const char *kafka_default; /* Kafka 3.8's default, for the DEFAULT_CONFIG source */
	const char *doc;
};

/* Sorted by name, as Kafka lists them. Only what the broker acts on is accepted:
 * broker-side recompression does not exist yet, so compression.type other than
 * producer is refused rather than silently ignored. cleanup.policy takes
 * Kafka's list: delete, compact (broker/log/cleaner.h), or both. */
static const struct tc_row tc_rows[] = {
	{TC_CLAIMCHECK_ENABLE, "claimcheck.enable", TC_BOOL, 0, 0, "false",
	 "Tern: move values of at least claimcheck.threshold.bytes to the claim-check object store."},
	{TC_CLAIMCHECK_FETCH_MODE, "claimcheck.fetch.mode", TC_STRING, 0, 0, "value",
	 "Tern: value hands consumers the original values; reference returns the stored reference records."},
	{TC_CLAIMCHECK_MAX_VALUE_BYTES, "claimcheck.max.value.bytes", TC_LONG, 1, INT64_MAX, "104857600",
	 "Tern: largest value a claim-check topic accepts."},
	{TC_CLAIMCHECK_THRESHOLD_BYTES, "claimcheck.threshold.bytes", TC_LONG, 1, INT64_MAX, "1048576",
	 "Tern: values of at least this many bytes are moved to the object store."},
	{TC_CLEANUP_POLICY, "cleanup.policy", TC_STRING, 0, 0, "delete",
	 "delete removes old segments (retention); compact keeps the latest record per key; or both."},
	{TC_COMPRESSION_TYPE, "compression.type", TC_STRING, 0, 0, "producer",
	 "Final compression type: producer keeps the codec the producer chose."},
	{TC_DELETE_RETENTION_MS, "delete.retention.ms", TC_LONG, 0, INT64_MAX, "86400000",
	 "Milliseconds tombstones stay in a compacted log."},
	{TC_FLUSH_MESSAGES, "flush.messages", TC_LONG, 1, INT64_MAX, "9223372036854775807",
	 "Records appended between forced fsyncs."},
	{TC_FLUSH_MS, "flush.ms", TC_LONG, 0, INT64_MAX, "9223372036854775807",
	 "Milliseconds between forced fsyncs."},
	{TC_INDEX_INTERVAL_BYTES, "index.interval.bytes", TC_INT, 0, INT32_MAX, "4096",
	 "Bytes appended between offset index entries."},
	{TC_MAX_MESSAGE_BYTES, "max.message.bytes", TC_INT, 0, INT32_MAX, "1048588",
	 "Largest record batch size allowed."},
	{TC_MESSAGE_TIMESTAMP_TYPE, "message.timestamp.type", TC_STRING, 0, 0, "CreateTime",
	 "CreateTime or LogAppendTime."},
	{TC_MIN_CLEANABLE_DIRTY_RATIO, "min.cleanable.dirty.ratio", TC_STRING, 0, 0, "0.5",
	 "Share of a compacted log not yet cleaned that triggers cleaning (0 to 1)."},
	{TC_MIN_COMPACTION_LAG_MS, "min.compaction.lag.ms", TC_LONG, 0, INT64_MAX, "0",
	 "Records stay uncompacted for at least this many milliseconds (KIP-58)."},
	{TC_MIN_INSYNC_REPLICAS, "min.insync.replicas", TC_INT, 1, INT32_MAX, "1",
	 "Minimum in-sync replicas for acks=all."},
	{TC_RETENTION_BYTES, "retention.bytes", TC_LONG, -1, INT64_MAX, "-1",
	 "Bytes a partition keeps before old segments are deleted (-1: no limit)."},
	{TC_RETENTION_MS, "retention.ms", TC_LONG, -1, INT64_MAX, "604800000",
	 "Milliseconds a segment is kept (-1: no limit)."},
	{TC_SEGMENT_BYTES, "segment.bytes", TC_INT, 14, INT32_MAX, "1073741824", "Segment file size."},
	{TC_SEGMENT_INDEX_BYTES, "segment.index.bytes", TC_INT, 4, INT32_MAX, "10485760",
	 "Offset index size."},
	{TC_SEGMENT_MS, "segment.ms", TC_LONG, 1, INT64_MAX, "604800000",
	 "Milliseconds after which a segment is rolled."},
	{TC_UNCLEAN_LEADER_ELECTION_ENABLE, "unclean.leader.election.enable", TC_BOOL, 0, 0, "false",
	 "Allow an out-of-sync replica to become leader."},
};
#define TC_N ((int)(sizeof tc_rows / sizeof tc_rows[0]))

static const struct tc_row *tc_find(const char *name)
{
	for (int i = 0; i < TC_N; i++)
		if (strcmp(tc_rows[i].name, name) == 0)
			return &tc_rows[i];
	return NULL;
}

static int tc_parse_long(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* cleanup.policy: a comma-separated list of delete and compact (Kafka's
 * LIST type: spaces around items allowed), not empty. */
static int tc_parse_policy(const char *value, bool *compact, bool *del)
{
	bool c = false, d = false;
	const char *p = value;
	for (;;) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e != '\0' && *e != ',' && *e != ' ')
			e++;
		size_t n = (size_t)(e - p);
		if (n == 7 && strncmp(p, "compact", 7) == 0)
			c = true;
		else if (n == 6 && strncmp(p, "delete", 6) == 0)
			d = true;
		else
			return -1;
		while (*e == ' ')
			e++;
		if (*e == '\0')
			break;
		if (*e != ',')
			return -1;
		p = e + 1;
	}
	if (compact)
		*compact = c;
	if (del)
		*del = d;
	return 0;
}

static int tc_parse_ratio(const char *value, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !(d >= 0.0 && d <= 1.0))
		return -1;
	if (out)
		*out = d;
	return 0;
}

int topic_config_validate(const char *name, const char *value, char *errbuf, size_t errlen)
{
	const struct tc_row *row = tc_find(name);
	int64_t v;
	if (!row) {
		snprintf(errbuf, errlen, "Unknown topic config name: %s", name);
		return -1;
	}
	if (value == NULL) {
		snprintf(errbuf, errlen, "Null value not supported for topic configs: %s", name);
		return -1;
	}
	switch (row->type) {
	case TC_LONG:
	case TC_INT:
		if (tc_parse_long(value, &v) != 0 || v < row->min || v > row->max) {
			snprintf(errbuf, errlen, "Invalid value %s for configuration %s", value, name);
			return -1;
		}
		return 0;
	case TC_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(errbuf, errlen, "Invalid value %s for configuration %s: Expected value to be either true or false", value, name);
			return -1;
		}
		return 0;
	case TC_STRING:
		break;
	}
	switch (row->id) {
	case TC_CLAIMCHECK_FETCH_MODE:
		if (strcmp(value, "value") != 0 && strcmp(value, "reference") != 0) {
			snprintf(errbuf, errlen, "Invalid value %s for configuration claimcheck.fetch.mode: value or reference", value);
			return -1;
		}
		return 0;
	case TC_CLEANUP_POLICY:
		if (tc_parse_policy(value, NULL, NULL) != 0) {
			snprintf(errbuf, errlen,
				 "Invalid value %s for configuration cleanup.policy: a list of delete and compact", value);
			return -1;
		}
		return 0;
	case TC_MIN_CLEANABLE_DIRTY_RATIO:
		if (tc_parse_ratio(value, NULL) != 0) {
			snprintf(errbuf, errlen, "Invalid value %s for configuration min.cleanable.dirty.ratio: a number in [0, 1]",
				 value);
			return -1;
		}
		return 0;
	case TC_COMPRESSION_TYPE:
		if (strcmp(value, "producer") != 0) {
			snprintf(errbuf, errlen, "Invalid value %s for configuration compression.type: only producer is supported", value);
			return -1;
		}
		return 0;
	case TC_MESSAGE_TIMESTAMP_TYPE:
		if (strcmp(value, "CreateTime") != 0 && strcmp(value, "LogAppendTime") != 0) {
			snprintf(errbuf, errlen, "Invalid value %s for configuration message.timestamp.type", value);
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

/* The broker-level default of a topic config, as a string. */
static void tc_broker_default(enum tc_id id, const struct broker_config *b, char *buf, size_t n)
{
	switch (id) {
	case TC_CLAIMCHECK_ENABLE:
		snprintf(buf, n, "false");
		break;
	case TC_CLAIMCHECK_FETCH_MODE:
		snprintf(buf, n, "value");
		break;
	case TC_CLAIMCHECK_MAX_VALUE_BYTES:
		snprintf(buf, n, "104857600");
		break;
	case TC_CLAIMCHECK_THRESHOLD_BYTES:
		snprintf(buf, n, "1048576");
		break;
	case TC_CLEANUP_POLICY:
		snprintf(buf, n, "%s", b->log_cleanup_policy ? b->log_cleanup_policy : "delete");
		break;
	case TC_DELETE_RETENTION_MS:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_cleaner_delete_retention_ms);
		break;
	case TC_MIN_CLEANABLE_DIRTY_RATIO:
		snprintf(buf, n, "%s", b->log_cleaner_min_cleanable_ratio_str ? b->log_cleaner_min_cleanable_ratio_str : "0.5");
		break;
	case TC_MIN_COMPACTION_LAG_MS:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_cleaner_min_compaction_lag_ms);
		break;
	case TC_COMPRESSION_TYPE:
		snprintf(buf, n, "%s", b->compression_type ? b->compression_type : "producer");
		break;
	case TC_FLUSH_MESSAGES:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_flush_interval_messages);
		break;
	case TC_FLUSH_MS:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_flush_interval_ms);
		break;
	case TC_INDEX_INTERVAL_BYTES:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_index_interval_bytes);
		break;
	case TC_MAX_MESSAGE_BYTES:
		snprintf(buf, n, "%" PRId64, (int64_t)b->message_max_bytes);
		break;
	case TC_MESSAGE_TIMESTAMP_TYPE:
		snprintf(buf, n, "%s", b->log_message_timestamp_type ? b->log_message_timestamp_type : "CreateTime");
		break;
	case TC_MIN_INSYNC_REPLICAS:
		snprintf(buf, n, "%" PRId64, (int64_t)b->min_insync_replicas);
		break;
	case TC_RETENTION_BYTES:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_retention_bytes);
		break;
	case TC_RETENTION_MS:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_retention_ms);
		break;
	case TC_SEGMENT_BYTES:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_segment_bytes);
		break;
	case TC_SEGMENT_INDEX_BYTES:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_index_size_max_bytes);
		break;
	case TC_SEGMENT_MS:
		snprintf(buf, n, "%" PRId64, (int64_t)b->log_roll_ms);
		break;
	case TC_UNCLEAN_LEADER_ELECTION_ENABLE:
		snprintf(buf, n, "%s", b->unclean_leader_election_enable ? "true" : "false");
		break;
	}
}

static const char *tc_value(const struct tc_row *row, const struct broker_config *b,
			    const struct topic_overrides *ov, char *buf, size_t n, int *source)
{
	const char *v = ov ? topic_overrides_get(ov, row->name) : NULL;
	if (v) {
		if (source)
			*source = TOPIC_CONFIG_SOURCE_TOPIC;
		snprintf(buf, n, "%s", v);
		return buf;
	}
	tc_broker_default(row->id, b, buf, n);
	if (source)
		*source = strcmp(buf, row->kafka_default) == 0 ? TOPIC_CONFIG_SOURCE_DEFAULT
							       : TOPIC_CONFIG_SOURCE_STATIC_BROKER;
	return buf;
}

static int64_t tc_long(enum tc_id id, const struct broker_config *b, const struct topic_overrides *ov)
{
	char buf[64];
	int64_t v = 0;
	for (int i = 0; i < TC_N; i++) {
		if (tc_rows[i].id == id) {
			tc_value(&tc_rows[i], b, ov, buf, sizeof buf, NULL);
			(void)tc_parse_long(buf, &v);
			break;
		}
	}
	return v;
}

static bool tc_str_is(enum tc_id id, const struct broker_config *b, const struct topic_overrides *ov,
		      const char *want)
{
	char buf[64];
	for (int i = 0; i < TC_N; i++)
		if (tc_rows[i].id == id)
			return strcmp(tc_value(&tc_rows[i], b, ov, buf, sizeof buf, NULL), want) == 0;
	return false;
}

static const char *tc_value(const struct tc_row *row, const struct broker_config *b,
			    const struct topic_overrides *ov, char *buf, size_t n, int *source);

/* cleanup.policy and the cleaner's settings. Without delete in the policy
 * neither retention.ms nor retention.bytes removes anything (Kafka's
 * LogConfig: deletion applies only to logs whose policy includes delete). */
static void tc_resolve_compaction(const struct broker_config *b, const struct topic_overrides *ov,
				  struct topic_config *out)
{
	char buf[256];
	bool compact = false, del = true;
	for (int i = 0; i < TC_N; i++) {
		if (tc_rows[i].id == TC_CLEANUP_POLICY) {
			if (tc_parse_policy(tc_value(&tc_rows[i], b, ov, buf, sizeof buf, NULL), &compact, &del) != 0) {
				compact = false;
				del = true;
			}
		} else if (tc_rows[i].id == TC_MIN_CLEANABLE_DIRTY_RATIO) {
			out->log.min_cleanable_dirty_ratio = LOG_DEFAULT_MIN_CLEANABLE_DIRTY_RATIO;
			(void)tc_parse_ratio(tc_value(&tc_rows[i], b, ov, buf, sizeof buf, NULL),
					     &out->log.min_cleanable_dirty_ratio);
		}
	}
	out->log.compact = compact;
	out->log.delete_retention_ms = tc_long(TC_DELETE_RETENTION_MS, b, ov);
	out->log.min_compaction_lag_ms = tc_long(TC_MIN_COMPACTION_LAG_MS, b, ov);
	if (!del) {
		out->log.retention_ms = -1;
		out->log.retention_bytes = -1;
	}
}

void topic_config_resolve(const struct broker_config *b, const struct topic_overrides *ov,
			  struct topic_config *out)
{
	memset(out, 0, sizeof *out);
	out->log.segment_bytes = tc_long(TC_SEGMENT_BYTES, b, ov);
	out->log.segment_ms = tc_long(TC_SEGMENT_MS, b, ov);
	out->log.retention_ms = tc_long(TC_RETENTION_MS, b, ov);
	out->log.retention_bytes = tc_long(TC_RETENTION_BYTES, b, ov);
	out->log.index_interval_bytes = (int32_t)tc_long(TC_INDEX_INTERVAL_BYTES, b, ov);
	out->log.flush_messages = tc_long(TC_FLUSH_MESSAGES, b, ov);
	out->log.flush_ms = tc_long(TC_FLUSH_MS, b, ov);
	out->max_message_bytes = (int32_t)tc_long(TC_MAX_MESSAGE_BYTES, b, ov);
	out->min_insync_replicas = (int32_t)tc_long(TC_MIN_INSYNC_REPLICAS, b, ov);
	out->log_append_time = tc_str_is(TC_MESSAGE_TIMESTAMP_TYPE, b, ov, "LogAppendTime");
	out->unclean_leader_election_enable = tc_str_is(TC_UNCLEAN_LEADER_ELECTION_ENABLE, b, ov, "true");
	out->claimcheck_enable = tc_str_is(TC_CLAIMCHECK_ENABLE, b, ov, "true");
	out->claimcheck_threshold_bytes = tc_long(TC_CLAIMCHECK_THRESHOLD_BYTES, b, ov);
	out->claimcheck_max_value_bytes = tc_long(TC_CLAIMCHECK_MAX_VALUE_BYTES, b, ov);
	out->claimcheck_fetch_reference = tc_str_is(TC_CLAIMCHECK_FETCH_MODE, b, ov, "reference");
	tc_resolve_compaction(b, ov, out);
}

int topic_config_count(void)
{
	return TC_N;
}

bool topic_config_describe(int i, const struct broker_config *b, const struct topic_overrides *ov,
			   const char **name, char *valbuf, size_t vallen, int *source, int8_t *config_type,
			   const char **doc)
{
	if (i < 0 || i >= TC_N)
		return false;
	const struct tc_row *row = &tc_rows[i];
	*name = row->name;
	tc_value(row, b, ov, valbuf, vallen, source);
	switch (row->type) {
	case TC_LONG:
		*config_type = CT_LONG;
		break;
	case TC_INT:
		*config_type = CT_INT;
		break;
	case TC_BOOL:
		*config_type = CT_BOOLEAN;
		break;
	case TC_STRING:
		*config_type = row->id == TC_CLEANUP_POLICY ? CT_LIST : CT_STRING;
		break;
	}
	if (doc)
		*doc = row->doc;
	return true;
}

int topic_overrides_set(struct topic_overrides *ov, const char *name, const char *value)
{
	for (int i = 0; i < ov->count; i++) {
		if (strcmp(ov->items[i].name, name) == 0) {
			char *v = strdup(value);
			if (!v)
				return -ENOMEM;
			free(ov->items[i].value);
			ov->items[i].value = v;
			return 0;
		}
	}
	struct topic_override *items = realloc(ov->items, sizeof *items * (size_t)(ov->count + 1));
	if (!items)
		return -ENOMEM;
	ov->items = items;
	items[ov->count].name = strdup(name);
	items[ov->count].value = strdup(value);
	if (!items[ov->count].name || !items[ov->count].value) {
		free(items[ov->count].name);
		free(items[ov->count].value);
		return -ENOMEM;
	}
	ov->count++;
	return 0;
}

void topic_overrides_remove(struct topic_overrides *ov, const char *name)
{
	for (int i = 0; i < ov->count; i++) {
		if (strcmp(ov->items[i].name, name) == 0) {
			free(ov->items[i].name);
			free(ov->items[i].value);
			ov->items[i] = ov->items[ov->count - 1];
			ov->count--;
			return;
		}
	}
}

const char *topic_overrides_get(const struct topic_overrides *ov, const char *name)
{
	for (int i = 0; i < ov->count; i++)
		if (strcmp(ov->items[i].name, name) == 0)
			return ov->items[i].value;
	return NULL;
}

void topic_overrides_free(struct topic_overrides *ov)
{
	for (int i = 0; i < ov->count; i++) {
		free(ov->items[i].name);
		free(ov->items[i].value);
	}
	free(ov->items);
	ov->items = NULL;
	ov->count = 0;
}
