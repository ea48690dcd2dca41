/* config: the server.properties table, parser and validation. See config.h. */
#include "broker/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The value kinds the table knows. SHORT is stored in an int32_t field and
 * range-checked to int16; LIST is a comma-separated string. */
enum config_kind {
	CONFIG_KIND_INT,
	CONFIG_KIND_SHORT,
	CONFIG_KIND_LONG,
	CONFIG_KIND_BOOL,
	CONFIG_KIND_STRING,
	CONFIG_KIND_LIST,
};

struct config_key {
	const char *name;
	enum config_kind kind;
	const char *def; /* default as it would be written in the file; NULL = null */
	int64_t min;     /* numbers only, inclusive */
	int64_t max;
	size_t offset;               /* of the field in struct broker_config */
	const char *const *choices;  /* strings only: NULL-terminated allowed values, or NULL */
	const char *doc;
};

#define CONFIG_FIELD(f) offsetof(struct broker_config, f)
#define CONFIG_INT(n, f, d, lo, hi, doc) {n, CONFIG_KIND_INT, d, lo, hi, CONFIG_FIELD(f), NULL, doc}
#define CONFIG_SHORT(n, f, d, lo, hi, doc) {n, CONFIG_KIND_SHORT, d, lo, hi, CONFIG_FIELD(f), NULL, doc}
#define CONFIG_LONG(n, f, d, lo, hi, doc) {n, CONFIG_KIND_LONG, d, lo, hi, CONFIG_FIELD(f), NULL, doc}
#define CONFIG_BOOL(n, f, d, doc) {n, CONFIG_KIND_BOOL, d, 0, 1, CONFIG_FIELD(f), NULL, doc}
#define CONFIG_STRING(n, f, d, ch, doc) {n, CONFIG_KIND_STRING, d, 0, 0, CONFIG_FIELD(f), ch, doc}
#define CONFIG_LIST(n, f, d, doc) {n, CONFIG_KIND_LIST, d, 0, 0, CONFIG_FIELD(f), NULL, doc}

#define I32MAX INT32_MAX
#define I64MAX INT64_MAX

static const char *const config_claimcheck_backends[] = {"fs", "s3", "plugin", NULL};
static const char *const config_s3_protocols[] = {"http", "https", NULL};
static const char *const config_s3_uri_styles[] = {"path", "virtual", NULL};
static const char *const config_timestamp_types[] = {"CreateTime", "LogAppendTime", NULL};
static const char *const config_compression_types[] = {"uncompressed", "zstd",     "lz4", "snappy",
						       "gzip",         "producer", NULL};

/* Defaults are Kafka 3.8's unless the doc says "Tern:". Kafka's null defaults
 * are NULL here and resolved after load (see config.h). */
static const struct config_key config_table[] = {
	/* identity and roles */
	CONFIG_INT("node.id", node_id, "0", 0, I32MAX,
		   "The node ID of this server in the KRaft cluster. Tern: defaults to 0 so that a bare single-node "
		   "broker starts."),
	CONFIG_INT("broker.id", broker_id, "-1", -1, I32MAX, "Alias of node.id; when both are set they must be equal."),
	CONFIG_LIST("process.roles", process_roles, "broker,controller",
		    "The roles this process plays: broker, controller, or both. Tern always runs combined mode."),
	CONFIG_STRING("broker.rack", broker_rack, NULL, NULL, "Rack of the broker, used in rack-aware replica placement."),

	/* listeners */
	CONFIG_LIST("listeners", listeners, "PLAINTEXT://:9092",
		    "Comma-separated NAME://host:port URIs to listen on; an empty host binds every interface."),
	CONFIG_LIST("advertised.listeners", advertised_listeners, NULL,
		    "Listeners published to clients, if different from listeners (controller listeners excluded). "
		    "0.0.0.0 cannot be advertised."),
	CONFIG_LIST("listener.security.protocol.map", listener_security_protocol_map,
		    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
		    "Map between listener names and security protocols."),
	CONFIG_STRING("inter.broker.listener.name", inter_broker_listener_name, NULL, NULL,
		      "Listener used between brokers; defaults to the first non-controller listener."),
	CONFIG_LIST("controller.listener.names", controller_listener_names, NULL,
		    "Names of the listeners used by the controller (the metadata quorum)."),
	CONFIG_LIST("controller.quorum.voters", controller_quorum_voters, "",
		    "Map of id/endpoint of the voters: id@host:port,..."),
	CONFIG_LIST("controller.quorum.bootstrap.servers", controller_quorum_bootstrap_servers, "",
		    "host:port list used to discover the quorum (KIP-853)."),

	/* network */
	CONFIG_INT("socket.request.max.bytes", socket_request_max_bytes, "104857600", 1, I32MAX,
		   "The maximum number of bytes in a socket request."),
	CONFIG_INT("socket.send.buffer.bytes", socket_send_buffer_bytes, "102400", -1, I32MAX,
		   "SO_SNDBUF of the sockets; -1 uses the OS default."),
	CONFIG_INT("socket.receive.buffer.bytes", socket_receive_buffer_bytes, "102400", -1, I32MAX,
		   "SO_RCVBUF of the sockets; -1 uses the OS default."),
	CONFIG_INT("num.network.threads", num_network_threads, "3", 1, I32MAX,
		   "Threads that receive requests and send responses."),
	CONFIG_INT("num.io.threads", num_io_threads, "8", 1, I32MAX, "Threads that process requests."),
	CONFIG_INT("num.recovery.threads.per.data.dir", num_recovery_threads_per_data_dir, "1", 1, I32MAX,
		   "Threads per data directory used for log recovery at startup and flushing at shutdown."),
	CONFIG_INT("queued.max.requests", queued_max_requests, "500", 1, I32MAX,
		   "Requests allowed to wait before network threads stop reading."),
	CONFIG_LONG("connections.max.idle.ms", connections_max_idle_ms, "600000", -1, I64MAX,
		    "Idle connections are closed after this many milliseconds."),

	/* topics */
	CONFIG_INT("num.partitions", num_partitions, "1", 1, I32MAX, "Default number of partitions per topic."),
	CONFIG_INT("default.replication.factor", default_replication_factor, "1", 1, I32MAX,
		   "Default replication factor of automatically created topics."),
	CONFIG_INT("min.insync.replicas", min_insync_replicas, "1", 1, I32MAX,
		   "Minimum in-sync replicas for an acks=all write to succeed."),
	CONFIG_BOOL("auto.create.topics.enable", auto_create_topics_enable, "true",
		    "Create a topic when a client asks for metadata of one that does not exist."),
	CONFIG_BOOL("delete.topic.enable", delete_topic_enable, "true", "Allow topics to be deleted."),
	CONFIG_INT("message.max.bytes", message_max_bytes, "1048588", 0, I32MAX,
		   "Largest record batch size allowed (after compression)."),
	CONFIG_STRING("compression.type", compression_type, "producer", config_compression_types,
		      "Final compression type of a topic's data; producer keeps the producer's codec."),
	CONFIG_BOOL("auto.leader.rebalance.enable", auto_leader_rebalance_enable, "true",
		    "Move leadership back to preferred replicas in the background."),
	CONFIG_BOOL("unclean.leader.election.enable", unclean_leader_election_enable, "false",
		    "Allow a replica outside the ISR to become leader (data loss)."),
	CONFIG_INT("fetch.max.bytes", fetch_max_bytes, "57671680", 1024, I32MAX,
		   "Maximum bytes returned for a fetch request."),

	/* log */
	CONFIG_STRING("log.dir", log_dir, "/tmp/kafka-logs", NULL, "Data directory, used when log.dirs is not set."),
	CONFIG_LIST("log.dirs", log_dirs, NULL, "Comma-separated data directories; log.dir when unset."),
	CONFIG_STRING("metadata.log.dir", metadata_log_dir, NULL, NULL,
		      "Directory of the metadata log; the first of log.dirs when unset."),
	CONFIG_INT("log.segment.bytes", log_segment_bytes, "1073741824", 14, I32MAX, "Maximum size of a segment file."),
	CONFIG_LONG("log.roll.ms", log_roll_ms, NULL, 1, I64MAX,
		    "Maximum age of a segment before it rolls; log.roll.hours when unset."),
	CONFIG_INT("log.roll.hours", log_roll_hours, "168", 1, I32MAX, "Maximum age of a segment, in hours."),
	CONFIG_LONG("log.retention.ms", log_retention_ms, NULL, -1, I64MAX,
		    "Time to keep a segment; -1 is no limit. log.retention.minutes when unset."),
	CONFIG_INT("log.retention.minutes", log_retention_minutes, NULL, -1, I32MAX,
		   "Time to keep a segment, in minutes; log.retention.hours when unset."),
	CONFIG_INT("log.retention.hours", log_retention_hours, "168", -1, I32MAX, "Time to keep a segment, in hours."),
	CONFIG_LONG("log.retention.bytes", log_retention_bytes, "-1", -1, I64MAX,
		    "Maximum size of a partition before old segments are deleted; -1 is no limit."),
	CONFIG_LONG("log.retention.check.interval.ms", log_retention_check_interval_ms, "300000", 1, I64MAX,
		    "How often retention is checked."),
	CONFIG_INT("log.index.interval.bytes", log_index_interval_bytes, "4096", 0, I32MAX,
		   "Bytes of log between two offset index entries."),
	CONFIG_INT("log.index.size.max.bytes", log_index_size_max_bytes, "10485760", 4, I32MAX,
		   "Maximum size of an offset index file."),
	CONFIG_LONG("log.flush.interval.messages", log_flush_interval_messages, "9223372036854775807", 1, I64MAX,
		    "Messages accumulated on a partition before it is fsynced."),
	CONFIG_LONG("log.flush.interval.ms", log_flush_interval_ms, NULL, 0, I64MAX,
		    "Maximum time a message stays unflushed; log.flush.scheduler.interval.ms when unset."),
	CONFIG_LONG("log.flush.scheduler.interval.ms", log_flush_scheduler_interval_ms, "9223372036854775807", 0,
		    I64MAX, "How often the flusher checks whether a log needs an fsync."),
	CONFIG_STRING("log.message.timestamp.type", log_message_timestamp_type, "CreateTime", config_timestamp_types,
		      "Whether a record's timestamp is the producer's or the append time."),
	CONFIG_LIST("log.cleanup.policy", log_cleanup_policy, "delete",
		    "Default cleanup.policy: delete (retention), compact (log cleaner), or both."),
	CONFIG_BOOL("log.cleaner.enable", log_cleaner_enable, "true",
		    "Run the log cleaner, which compacts topics with cleanup.policy=compact."),
	CONFIG_LONG("log.cleaner.backoff.ms", log_cleaner_backoff_ms, "15000", 1, I64MAX,
		    "Time between two checks of the compacted logs for cleaning."),
	CONFIG_LONG("log.cleaner.dedupe.buffer.size", log_cleaner_dedupe_buffer_size, "134217728", 1024, I64MAX,
		    "Memory for the key map of one cleaning pass; a pass cleans what the map covers."),
	CONFIG_LONG("log.cleaner.delete.retention.ms", log_cleaner_delete_retention_ms, "86400000", 0, I64MAX,
		    "Default delete.retention.ms: how long tombstones stay in a compacted log."),
	CONFIG_LONG("log.cleaner.min.compaction.lag.ms", log_cleaner_min_compaction_lag_ms, "0", 0, I64MAX,
		    "Default min.compaction.lag.ms: records younger than this are not compacted (KIP-58)."),
	CONFIG_STRING("log.cleaner.min.cleanable.ratio", log_cleaner_min_cleanable_ratio_str, "0.5", NULL,
		      "Default min.cleanable.dirty.ratio: dirty share of a log that triggers cleaning (0 to 1)."),

	/* replication */
	CONFIG_LONG("replica.lag.time.max.ms", replica_lag_time_max_ms, "30000", 1, I64MAX,
		    "A follower not caught up for this long leaves the ISR."),
	CONFIG_INT("replica.fetch.max.bytes", replica_fetch_max_bytes, "1048576", 0, I32MAX,
		   "Bytes a follower fetches per partition."),
	CONFIG_INT("replica.fetch.wait.max.ms", replica_fetch_wait_max_ms, "500", 0, I32MAX,
		   "Maximum wait of a follower's fetch."),
	CONFIG_INT("replica.fetch.min.bytes", replica_fetch_min_bytes, "1", 0, I32MAX,
		   "Minimum bytes for a follower's fetch to return early."),
	CONFIG_INT("replica.socket.timeout.ms", replica_socket_timeout_ms, "30000", 1, I32MAX,
		   "Socket timeout of follower fetches."),
	CONFIG_LONG("replica.high.watermark.checkpoint.interval.ms", replica_high_watermark_checkpoint_interval_ms,
		    "5000", 1, I64MAX, "How often the high watermarks are saved to replication-offset-checkpoint."),
	CONFIG_LONG("producer.id.expiration.ms", producer_id_expiration_ms, "86400000", 1, I64MAX,
		    "Time after its last write a producer id's state is forgotten by a partition."),
	CONFIG_LONG("producer.id.expiration.check.interval.ms", producer_id_expiration_check_interval_ms, "600000",
		    1, I64MAX, "How often partitions forget expired producer ids."),
	CONFIG_LONG("leader.imbalance.check.interval.seconds", leader_imbalance_check_interval_seconds, "300", 1,
		    I64MAX, "How often the controller moves leaderships back to preferred replicas."),
	CONFIG_INT("leader.imbalance.per.broker.percentage", leader_imbalance_per_broker_percentage, "10", 0, 100,
		   "Accepted for compatibility; as in KRaft, any partition not led by its preferred replica is rebalanced."),

	/* KRaft */
	CONFIG_INT("broker.heartbeat.interval.ms", broker_heartbeat_interval_ms, "2000", 1, I32MAX,
		   "Interval between broker heartbeats to the controller."),
	CONFIG_INT("broker.session.timeout.ms", broker_session_timeout_ms, "9000", 1, I32MAX,
		   "A broker without heartbeat for this long is fenced."),
	CONFIG_INT("controller.quorum.election.timeout.ms", controller_quorum_election_timeout_ms, "1000", 1, I32MAX,
		   "Maximum time without a leader before an election."),
	CONFIG_INT("controller.quorum.fetch.timeout.ms", controller_quorum_fetch_timeout_ms, "2000", 1, I32MAX,
		   "Maximum time without a successful fetch from the leader before an election."),

	/* groups and internal topics */
	CONFIG_SHORT("offsets.topic.replication.factor", offsets_topic_replication_factor, "3", 1, INT16_MAX,
		     "Replication factor of __consumer_offsets: with a quorum it is created only once that many brokers are live."),
	CONFIG_INT("offsets.topic.num.partitions", offsets_topic_num_partitions, "50", 1, I32MAX,
		   "Partitions of __consumer_offsets."),
	CONFIG_INT("offsets.topic.segment.bytes", offsets_topic_segment_bytes, "104857600", 1, I32MAX,
		   "Segment size of __consumer_offsets."),
	CONFIG_INT("offsets.retention.minutes", offsets_retention_minutes, "10080", 1, I32MAX,
		   "Committed offsets of an empty group are kept this long."),
	CONFIG_INT("offsets.commit.timeout.ms", offsets_commit_timeout_ms, "5000", 1, I32MAX,
		   "An offset commit waits this long for the offsets topic's replicas."),
	CONFIG_LONG("offsets.retention.check.interval.ms", offsets_retention_check_interval_ms, "600000", 1, I64MAX,
		    "How often expired committed offsets are removed."),
	CONFIG_INT("group.initial.rebalance.delay.ms", group_initial_rebalance_delay_ms, "3000", 0, I32MAX,
		   "Wait for more members before the first rebalance of a new group."),
	CONFIG_INT("group.min.session.timeout.ms", group_min_session_timeout_ms, "6000", 0, I32MAX,
		   "Minimum session timeout a group member may ask for."),
	CONFIG_INT("group.max.session.timeout.ms", group_max_session_timeout_ms, "1800000", 0, I32MAX,
		   "Maximum session timeout a group member may ask for."),
	CONFIG_INT("group.max.size", group_max_size, "2147483647", 1, I32MAX, "Maximum members of a group."),
	CONFIG_SHORT("transaction.state.log.replication.factor", transaction_state_log_replication_factor, "3", 1,
		     INT16_MAX, "Replication factor of the transaction topic."),
	CONFIG_INT("transaction.state.log.min.isr", transaction_state_log_min_isr, "2", 1, I32MAX,
		   "min.insync.replicas of the transaction topic."),

	/* claim-check: where large values of claimcheck.enable topics go */
	CONFIG_STRING("claimcheck.backend", claimcheck_backend, "fs", config_claimcheck_backends,
		      "Tern: object store for claim-checked values: fs (a directory), s3, or plugin."),
	CONFIG_STRING("claimcheck.fs.dir", claimcheck_fs_dir, NULL, NULL,
		      "Tern: directory of the fs backend; <first log dir>/claimcheck when unset."),
	CONFIG_STRING("claimcheck.s3.endpoint", claimcheck_s3_endpoint, NULL, NULL, "Tern: S3 endpoint, host:port."),
	CONFIG_STRING("claimcheck.s3.bucket", claimcheck_s3_bucket, NULL, NULL, "Tern: an existing S3 bucket."),
	CONFIG_STRING("claimcheck.s3.access.key", claimcheck_s3_access_key, NULL, NULL, "Tern: S3 access key id."),
	CONFIG_STRING("claimcheck.s3.secret.key", claimcheck_s3_secret_key, NULL, NULL,
		      "Tern: S3 secret access key (sensitive)."),
	CONFIG_STRING("claimcheck.s3.protocol", claimcheck_s3_protocol, "http", config_s3_protocols,
		      "Tern: http or https to the S3 endpoint."),
	CONFIG_STRING("claimcheck.s3.uri.style", claimcheck_s3_uri_style, "path", config_s3_uri_styles,
		      "Tern: path-style or virtual-host-style bucket addressing."),
	CONFIG_STRING("claimcheck.plugin.path", claimcheck_plugin_path, NULL, NULL,
		      "Tern: shared object of a claim-check backend plug-in (claimcheck_plugin.h)."),
	CONFIG_STRING("claimcheck.plugin.config", claimcheck_plugin_config, NULL, NULL,
		      "Tern: configuration string handed to the plug-in."),
	CONFIG_INT("claimcheck.worker.threads", claimcheck_worker_threads, "2", 1, 64,
		   "Tern: threads that move claim-checked values to and from the object store."),
};

#define CONFIG_N ((int)(sizeof config_table / sizeof config_table[0]))
_Static_assert(sizeof config_table / sizeof config_table[0] <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

static void config_err(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void config_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (errbuf == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static void *config_field(struct broker_config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->offset;
}

static const void *config_field_c(const struct broker_config *cfg, const struct config_key *k)
{
	return (const char *)cfg + k->offset;
}

int config_count(void)
{
	return CONFIG_N;
}

int config_find(const char *name)
{
	for (int i = 0; i < CONFIG_N; i++)
		if (strcmp(config_table[i].name, name) == 0)
			return i;
	return -1;
}

/* Copies s without leading and trailing whitespace. */
static char *config_strdup_trim(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/* Parses a whole base-10 integer within [min, max]. Leading and trailing
 * blanks are allowed (Kafka trims numbers too); anything else is not. */
static int config_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, const char *key, char *errbuf,
			    size_t errlen)
{
	const char *p = s;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0') {
		config_err(errbuf, errlen, "%s: invalid value '%s' (not a number)", key, s);
		return -1;
	}
	errno = 0;
	char *end;
	long long v = strtoll(p, &end, 10);
	if (end == p) {
		config_err(errbuf, errlen, "%s: invalid value '%s' (not a number)", key, s);
		return -1;
	}
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0') {
		config_err(errbuf, errlen, "%s: invalid value '%s' (not a number)", key, s);
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		config_err(errbuf, errlen, "%s: value '%s' out of range [%" PRId64 ", %" PRId64 "]", key, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Sets one key from its textual value. */
static int config_set(struct broker_config *cfg, const struct config_key *k, const char *value, char *errbuf,
		      size_t errlen)
{
	void *f = config_field(cfg, k);
	int64_t v;
	switch (k->kind) {
	case CONFIG_KIND_INT:
	case CONFIG_KIND_SHORT:
		if (config_parse_i64(value, k->min, k->max, &v, k->name, errbuf, errlen) != 0)
			return -1;
		*(int32_t *)f = (int32_t)v;
		return 0;
	case CONFIG_KIND_LONG:
		if (config_parse_i64(value, k->min, k->max, &v, k->name, errbuf, errlen) != 0)
			return -1;
		*(int64_t *)f = v;
		return 0;
	case CONFIG_KIND_BOOL: {
		char *t = config_strdup_trim(value);
		if (t == NULL)
			goto oom;
		int ok = 1;
		if (strcasecmp(t, "true") == 0)
			*(bool *)f = true;
		else if (strcasecmp(t, "false") == 0)
			*(bool *)f = false;
		else
			ok = 0;
		free(t);
		if (!ok) {
			config_err(errbuf, errlen, "%s: invalid value '%s' (expected true or false)", k->name, value);
			return -1;
		}
		return 0;
	}
	case CONFIG_KIND_STRING:
	case CONFIG_KIND_LIST: {
		char *t = config_strdup_trim(value);
		if (t == NULL)
			goto oom;
		if (k->choices != NULL) {
			bool found = false;
			for (const char *const *c = k->choices; *c != NULL; c++)
				if (strcmp(*c, t) == 0)
					found = true;
			if (!found) {
				char allowed[256] = "";
				size_t used = 0;
				for (const char *const *c = k->choices; *c != NULL && used < sizeof allowed; c++)
					used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s",
								 c == k->choices ? "" : ", ", *c);
				config_err(errbuf, errlen, "%s: invalid value '%s' (expected one of: %s)", k->name,
					   value, allowed);
				free(t);
				return -1;
			}
		}
		char **slot = f;
		free(*slot);
		/* An empty value of a key whose default is null means "unset"
		 * (e.g. `advertised.listeners=` in a template). */
		if (t[0] == '\0' && k->def == NULL) {
			free(t);
			t = NULL;
		}
		*slot = t;
		return 0;
	}
	}
	return -1;
oom:
	config_err(errbuf, errlen, "%s: out of memory", k->name);
	return -1;
}

static int config_set_by_name(struct broker_config *cfg, const char *key, const char *value, const char *where,
			      char *errbuf, size_t errlen)
{
	int i = config_find(key);
	if (i < 0) {
		config_err(errbuf, errlen, "unknown configuration key '%s' (%s)", key, where);
		return -1;
	}
	char sub[512];
	if (config_set(cfg, &config_table[i], value, sub, sizeof sub) != 0) {
		config_err(errbuf, errlen, "%s (%s)", sub, where);
		return -1;
	}
	/* An emptied nullable string reads as unset. */
	const struct config_key *k = &config_table[i];
	bool is_null = (k->kind == CONFIG_KIND_STRING || k->kind == CONFIG_KIND_LIST) &&
		       *(char **)config_field(cfg, k) == NULL;
	cfg->explicit_[i] = !is_null;
	return 0;
}

/* --- the properties file (java.util.Properties syntax) --- */

/* Decodes escapes in place: \t \n \r \f, \uXXXX (as UTF-8), \c -> c. */
static void config_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r != '\0'; r++) {
		if (*r != '\\' || r[1] == '\0') {
			*w++ = *r;
			continue;
		}
		r++;
		switch (*r) {
		case 't':
			*w++ = '\t';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 'f':
			*w++ = '\f';
			break;
		case 'u': {
			unsigned cp = 0;
			int n = 0;
			while (n < 4 && isxdigit((unsigned char)r[1 + n])) {
				char c = r[1 + n];
				cp = cp * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : (tolower(c) - 'a' + 10));
				n++;
			}
			if (n < 4) { /* malformed: keep literally */
				*w++ = 'u';
				break;
			}
			r += 4;
			/* UTF-8 needs at most 3 bytes for a BMP code point and
			 * the escape took 6, so w never passes r. */
			if (cp < 0x80) {
				*w++ = (char)cp;
			} else if (cp < 0x800) {
				*w++ = (char)(0xC0 | (cp >> 6));
				*w++ = (char)(0x80 | (cp & 0x3F));
			} else {
				*w++ = (char)(0xE0 | (cp >> 12));
				*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
				*w++ = (char)(0x80 | (cp & 0x3F));
			}
			break;
		}
		default:
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Splits one logical line into key and value (both in place, unescaped).
 * The key ends at the first unescaped '=', ':' or blank. */
static void config_split_line(char *line, char **key, char **value)
{
	char *p = line;
	while (*p == ' ' || *p == '\t' || *p == '\f')
		p++;
	char *k = p;
	while (*p != '\0' && *p != '=' && *p != ':' && *p != ' ' && *p != '\t' && *p != '\f') {
		if (*p == '\\' && p[1] != '\0')
			p++;
		p++;
	}
	char *kend = p;
	while (*p == ' ' || *p == '\t' || *p == '\f')
		p++;
	if (*p == '=' || *p == ':')
		p++;
	while (*p == ' ' || *p == '\t' || *p == '\f')
		p++;
	*kend = '\0';
	config_unescape(k);
	config_unescape(p);
	*key = k;
	*value = p;
}

/* Counts the backslashes that end s[0, n). An odd count continues the line. */
static bool config_line_continues(const char *s, size_t n)
{
	size_t b = 0;
	while (b < n && s[n - 1 - b] == '\\')
		b++;
	return b % 2 == 1;
}

#define CONFIG_FILE_MAX (16u << 20)

static int config_load_file(struct broker_config *cfg, const char *path, char *errbuf, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		config_err(errbuf, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	char *raw = NULL;  /* one physical line (getline) */
	size_t rawcap = 0;
	char *logical = NULL; /* continuation lines joined */
	size_t llen = 0, lcap = 0, total = 0;
	int lineno = 0, start_line = 0;
	ssize_t n;
	bool continuing = false;

	while ((n = getline(&raw, &rawcap, fp)) >= 0) {
		lineno++;
		total += (size_t)n;
		if (total > CONFIG_FILE_MAX) {
			config_err(errbuf, errlen, "%s: file larger than %u bytes", path, CONFIG_FILE_MAX);
			goto out;
		}
		while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
			raw[--n] = '\0';
		char *s = raw;
		/* Leading blanks of a continuation line are dropped, as Java does. */
		while (*s == ' ' || *s == '\t' || *s == '\f')
			s++;
		if (!continuing) {
			if (*s == '\0' || *s == '#' || *s == '!')
				continue;
			llen = 0;
			start_line = lineno;
		}
		size_t sl = strlen(s);
		continuing = config_line_continues(s, sl);
		if (continuing)
			sl--; /* drop the joining backslash */
		if (llen + sl + 1 > lcap) {
			size_t ncap = (llen + sl + 1) * 2;
			char *nl = realloc(logical, ncap);
			if (nl == NULL) {
				config_err(errbuf, errlen, "%s: out of memory", path);
				goto out;
			}
			logical = nl;
			lcap = ncap;
		}
		memcpy(logical + llen, s, sl);
		llen += sl;
		logical[llen] = '\0';
		if (continuing)
			continue;

		char *key, *value;
		config_split_line(logical, &key, &value);
		char where[512];
		snprintf(where, sizeof where, "%s:%d", path, start_line);
		if (config_set_by_name(cfg, key, value, where, errbuf, errlen) != 0)
			goto out;
	}
	if (ferror(fp)) {
		config_err(errbuf, errlen, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (continuing && llen > 0) { /* a final line ending in a backslash */
		char *key, *value;
		config_split_line(logical, &key, &value);
		char where[512];
		snprintf(where, sizeof where, "%s:%d", path, start_line);
		if (config_set_by_name(cfg, key, value, where, errbuf, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	free(raw);
	free(logical);
	fclose(fp);
	return rc;
}

/* --- structured values --- */

/* Calls fn on each trimmed, non-empty item of a comma-separated list. */
static int config_each_item(const char *list, int (*fn)(const char *item, void *arg), void *arg)
{
	if (list == NULL)
		return 0;
	const char *p = list;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *item = strndup(p, n);
		if (item == NULL)
			return -1;
		char *t = config_strdup_trim(item);
		free(item);
		if (t == NULL)
			return -1;
		int rc = t[0] != '\0' ? fn(t, arg) : 0;
		free(t);
		if (rc != 0)
			return rc;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Splits "host:port" (host may be empty or a bracketed IPv6 literal). Host is
 * returned malloc'd, without brackets. */
static int config_parse_hostport(const char *s, char **host, int32_t *port)
{
	const char *colon;
	const char *hs = s, *he;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		hs = s + 1;
		he = close;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		he = colon;
		/* An unbracketed IPv6 address is ambiguous. */
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
	}
	const char *ps = colon + 1;
	if (*ps == '\0')
		return -1;
	for (const char *q = ps; *q; q++)
		if (!isdigit((unsigned char)*q))
			return -1;
	errno = 0;
	long v = strtol(ps, NULL, 10);
	if (errno == ERANGE || v < 0 || v > 65535)
		return -1;
	for (const char *q = hs; q < he; q++)
		if (isspace((unsigned char)*q) || *q == '/' || *q == '@')
			return -1;
	*host = strndup(hs, (size_t)(he - hs));
	if (*host == NULL)
		return -1;
	*port = (int32_t)v;
	return 0;
}

static bool config_name_in_list(const char *list, const char *name)
{
	if (list == NULL)
		return false;
	size_t n = strlen(name);
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *te = e;
		while (te > p && isspace((unsigned char)te[-1]))
			te--;
		if ((size_t)(te - p) == n && strncasecmp(p, name, n) == 0)
			return true;
		p = e;
	}
	return false;
}

/* Finds the protocol of listener `name` in a NAME:PROTO,... map; copies it to
 * out. Returns 0, -1 when absent, -2 when the map is malformed. */
static int config_protocol_of(const char *map, const char *name, char *out, size_t outlen)
{
	const char *p = map ? map : "";
	int rc = -1;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		const char *colon = memchr(p, ':', (size_t)(e - p));
		if (colon == NULL)
			return -2;
		char nm[128], proto[64];
		size_t nl = (size_t)(colon - p), pl = (size_t)(e - colon - 1);
		if (nl == 0 || pl == 0 || nl >= sizeof nm || pl >= sizeof proto)
			return -2;
		memcpy(nm, p, nl);
		nm[nl] = '\0';
		memcpy(proto, colon + 1, pl);
		proto[pl] = '\0';
		char *tn = config_strdup_trim(nm), *tp = config_strdup_trim(proto);
		if (tn == NULL || tp == NULL) {
			free(tn);
			free(tp);
			return -2;
		}
		bool known = strcasecmp(tp, "PLAINTEXT") == 0 || strcasecmp(tp, "SSL") == 0 ||
			     strcasecmp(tp, "SASL_PLAINTEXT") == 0 || strcasecmp(tp, "SASL_SSL") == 0;
		if (!known) {
			free(tn);
			free(tp);
			return -2;
		}
		if (rc != 0 && strcasecmp(tn, name) == 0) {
			snprintf(out, outlen, "%s", tp);
			for (char *c = out; *c; c++)
				*c = (char)toupper((unsigned char)*c);
			rc = 0;
		}
		free(tn);
		free(tp);
		p = e;
	}
	return rc;
}

struct config_listener_ctx {
	struct broker_config *cfg;
	const char *key;
	struct config_listener **list;
	int *count;
	char *errbuf;
	size_t errlen;
};

static int config_listener_item(const char *item, void *arg)
{
	struct config_listener_ctx *c = arg;
	const char *sep = strstr(item, "://");
	if (sep == NULL || sep == item) {
		config_err(c->errbuf, c->errlen, "%s: invalid listener '%s' (expected NAME://host:port)", c->key, item);
		return -1;
	}
	for (const char *q = item; q < sep; q++)
		if (!isalnum((unsigned char)*q) && *q != '_' && *q != '-') {
			config_err(c->errbuf, c->errlen, "%s: invalid listener name in '%s'", c->key, item);
			return -1;
		}
	struct config_listener l = {0};
	if (config_parse_hostport(sep + 3, &l.host, &l.port) != 0) {
		config_err(c->errbuf, c->errlen, "%s: invalid listener '%s' (expected NAME://host:port, port 0-65535)",
			   c->key, item);
		return -1;
	}
	/* Listener names are case-insensitive in Kafka (normalised upper). */
	l.name = strndup(item, (size_t)(sep - item));
	if (l.name == NULL) {
		free(l.host);
		return -1;
	}
	for (char *q = l.name; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	for (int i = 0; i < *c->count; i++) {
		if (strcmp((*c->list)[i].name, l.name) == 0) {
			config_err(c->errbuf, c->errlen, "%s: listener name %s appears twice", c->key, l.name);
			goto fail;
		}
		if (l.port != 0 && (*c->list)[i].port == l.port && strcmp((*c->list)[i].host, l.host) == 0) {
			config_err(c->errbuf, c->errlen, "%s: port %d used by two listeners", c->key, (int)l.port);
			goto fail;
		}
	}
	l.controller = config_name_in_list(c->cfg->controller_listener_names, l.name);
	char proto[64];
	int pr = config_protocol_of(c->cfg->listener_security_protocol_map, l.name, proto, sizeof proto);
	if (pr == -2) {
		config_err(c->errbuf, c->errlen,
			   "listener.security.protocol.map: invalid value (expected NAME:PROTOCOL,... with protocols "
			   "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)");
		goto fail;
	}
	if (pr == -1) {
		/* Kafka 3.x: a controller listener missing from a default map
		 * is PLAINTEXT. */
		if (l.controller) {
			snprintf(proto, sizeof proto, "PLAINTEXT");
		} else {
			config_err(c->errbuf, c->errlen,
				   "%s: listener %s has no security protocol in listener.security.protocol.map",
				   c->key, l.name);
			goto fail;
		}
	}
	l.security_protocol = strdup(proto);
	if (l.security_protocol == NULL)
		goto fail;
	struct config_listener *nl = realloc(*c->list, sizeof **c->list * (size_t)(*c->count + 1));
	if (nl == NULL) {
		free(l.security_protocol);
		goto fail;
	}
	*c->list = nl;
	nl[(*c->count)++] = l;
	return 0;
fail:
	free(l.name);
	free(l.host);
	return -1;
}

static void config_listeners_free(struct config_listener *list, int n)
{
	for (int i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].host);
		free(list[i].security_protocol);
	}
	free(list);
}

struct config_voter_ctx {
	struct broker_config *cfg;
	char *errbuf;
	size_t errlen;
};

/* Parses one "id@host:port" voter; a failure says which part is wrong, so
 * the one-line startup error is enough to fix the file. */
static int config_voter_item(const char *item, void *arg)
{
	struct config_voter_ctx *c = arg;
	const char *at = strchr(item, '@');
	struct config_voter v = {0};
	int64_t id;
	char idbuf[32];
	const char *why = "expected id@host:port";
	if (at == NULL) {
		why = "no '@' (expected id@host:port)";
		goto bad;
	}
	if (at == item || (size_t)(at - item) >= sizeof idbuf) {
		why = "the id before '@' must be a node id 0-2147483647";
		goto bad;
	}
	memcpy(idbuf, item, (size_t)(at - item));
	idbuf[at - item] = '\0';
	char sub[16];
	if (config_parse_i64(idbuf, 0, INT32_MAX, &id, "id", sub, sizeof sub) != 0) {
		why = "the id before '@' must be a node id 0-2147483647";
		goto bad;
	}
	const char *hp = at + 1, *colon = strrchr(hp, ':');
	if (colon == NULL || colon[1] == '\0') {
		why = "no port (expected id@host:port)";
		goto bad;
	}
	if (config_parse_hostport(hp, &v.host, &v.port) != 0) {
		/* Which part is wrong: the port, an unbracketed IPv6 host, or
		 * a host with a blank, '/' or '@'. */
		bool digits = true;
		for (const char *q = colon + 1; *q; q++)
			if (!isdigit((unsigned char)*q))
				digits = false;
		if (!digits)
			why = "the port must be a number 1-65535";
		else if (strlen(colon + 1) > 5 || strtol(colon + 1, NULL, 10) > 65535)
			why = "port out of range 1-65535";
		else if (hp[0] != '[' && memchr(hp, ':', (size_t)(colon - hp)) != NULL)
			why = "an IPv6 host needs brackets: id@[addr]:port";
		else
			why = "invalid host";
		goto bad;
	}
	if (v.host[0] == '\0') {
		free(v.host);
		why = "no host (expected id@host:port)";
		goto bad;
	}
	if (v.port == 0) {
		free(v.host);
		why = "port out of range 1-65535 (a voter cannot use port 0)";
		goto bad;
	}
	v.id = (int32_t)id;
	for (int i = 0; i < c->cfg->voter_count; i++) {
		const struct config_voter *o = &c->cfg->voter_list[i];
		if (o->id == v.id) {
			config_err(c->errbuf, c->errlen, "controller.quorum.voters: voter id %d appears twice",
				   (int)v.id);
			free(v.host);
			return -1;
		}
		if (o->port == v.port && strcmp(o->host, v.host) == 0) {
			config_err(c->errbuf, c->errlen,
				   "controller.quorum.voters: voters %d and %d have the same address %s:%d", (int)o->id,
				   (int)v.id, v.host, (int)v.port);
			free(v.host);
			return -1;
		}
	}
	struct config_voter *nv = realloc(c->cfg->voter_list, sizeof *nv * (size_t)(c->cfg->voter_count + 1));
	if (nv == NULL) {
		free(v.host);
		config_err(c->errbuf, c->errlen, "out of memory");
		return -1;
	}
	c->cfg->voter_list = nv;
	nv[c->cfg->voter_count++] = v;
	return 0;
bad:
	config_err(c->errbuf, c->errlen, "controller.quorum.voters: invalid voter '%s': %s", item, why);
	return -1;
}

static int config_bootstrap_item(const char *item, void *arg)
{
	struct config_voter_ctx *c = arg;
	char *host = NULL;
	int32_t port;
	if (config_parse_hostport(item, &host, &port) != 0 || host[0] == '\0' || port == 0) {
		free(host);
		config_err(c->errbuf, c->errlen,
			   "controller.quorum.bootstrap.servers: invalid server '%s' (expected host:port)", item);
		return -1;
	}
	free(host);
	return 0;
}

static int config_role_item(const char *item, void *arg)
{
	struct config_voter_ctx *c = arg;
	if (strcmp(item, "broker") != 0 && strcmp(item, "controller") != 0) {
		config_err(c->errbuf, c->errlen, "process.roles: invalid role '%s' (expected broker, controller)", item);
		return -1;
	}
	return 0;
}

static int config_policy_item(const char *item, void *arg)
{
	struct config_voter_ctx *c = arg;
	if (strcmp(item, "delete") != 0 && strcmp(item, "compact") != 0) {
		config_err(c->errbuf, c->errlen, "log.cleanup.policy: unsupported policy '%s' (expected delete, compact)",
			   item);
		return -1;
	}
	return 0;
}

static int config_dir_item(const char *item, void *arg)
{
	struct broker_config *cfg = arg;
	char **nl = realloc(cfg->log_dirs_list, sizeof *nl * (size_t)(cfg->log_dirs_count + 1));
	if (nl == NULL)
		return -1;
	cfg->log_dirs_list = nl;
	nl[cfg->log_dirs_count] = strdup(item);
	if (nl[cfg->log_dirs_count] == NULL)
		return -1;
	cfg->log_dirs_count++;
	return 0;
}

/* Checks, without creating anything, that directory `dir` (a value of
 * `key`) exists or could be created: it is a directory, or its nearest
 * existing ancestor is one. The broker creates it later; this catches the
 * impossible case (a regular file in the way) at load, as a one-line error
 * naming the key, instead of as a storage error after startup began.
 * Permissions are left to the broker (root may write anywhere). */
static int config_check_dir(const char *key, const char *dir, char *errbuf, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			config_err(errbuf, errlen, "%s: %s exists and is not a directory", key, dir);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		config_err(errbuf, errlen, "%s: cannot use %s: %s", key, dir, strerror(errno));
		return -1;
	}
	char *p = strdup(dir);
	if (p == NULL) {
		config_err(errbuf, errlen, "out of memory");
		return -1;
	}
	/* Walks up to the nearest existing ancestor ("." for a relative path
	 * with no existing component, "/" at the top). */
	int rc = 0;
	for (;;) {
		size_t n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			p[--n] = '\0';
		char *slash = strrchr(p, '/');
		if (slash == NULL) {
			snprintf(p, n + 1, ".");
		} else if (slash == p) {
			p[1] = '\0';
		} else {
			*slash = '\0';
		}
		if (stat(p, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				config_err(errbuf, errlen, "%s: cannot create %s: %s is not a directory", key, dir, p);
				rc = -1;
			}
			break;
		}
		if (errno != ENOENT && errno != ENOTDIR) {
			config_err(errbuf, errlen, "%s: cannot create %s: %s: %s", key, dir, p, strerror(errno));
			rc = -1;
			break;
		}
		if (strcmp(p, "/") == 0 || strcmp(p, ".") == 0)
			break;
	}
	free(p);
	return rc;
}

static bool config_is_explicit(const struct broker_config *cfg, const char *name)
{
	int i = config_find(name);
	return i >= 0 && cfg->explicit_[i];
}

/* Kafka's rules between keys, and the parsed forms. */
static int config_resolve(struct broker_config *cfg, char *errbuf, size_t errlen)
{
	struct config_voter_ctx vc = {cfg, errbuf, errlen};

	/* node.id / broker.id (KafkaConfig: both set must agree). */
	bool node_set = config_is_explicit(cfg, "node.id"), broker_set = config_is_explicit(cfg, "broker.id");
	if (broker_set && cfg->broker_id < 0) {
		config_err(errbuf, errlen, "broker.id: value %d out of range [0, %d]", (int)cfg->broker_id, INT32_MAX);
		return -1;
	}
	if (node_set && broker_set && cfg->node_id != cfg->broker_id) {
		config_err(errbuf, errlen, "node.id: %d differs from broker.id %d; they must be equal",
			   (int)cfg->node_id, (int)cfg->broker_id);
		return -1;
	}
	if (broker_set && !node_set)
		cfg->node_id = cfg->broker_id;
	cfg->broker_id = cfg->node_id;

	if (config_each_item(cfg->process_roles, config_role_item, &vc) != 0)
		return -1;
	if (cfg->process_roles == NULL || cfg->process_roles[0] == '\0') {
		config_err(errbuf, errlen, "process.roles: must name broker, controller or both");
		return -1;
	}
	if (config_each_item(cfg->log_cleanup_policy, config_policy_item, &vc) != 0)
		return -1;
	{
		/* A double in Kafka; the table has no double kind. */
		const char *r = cfg->log_cleaner_min_cleanable_ratio_str ? cfg->log_cleaner_min_cleanable_ratio_str : "0.5";
		char *end;
		errno = 0;
		double d = strtod(r, &end);
		if (errno != 0 || end == r || *end != '\0' || !(d >= 0.0 && d <= 1.0)) {
			config_err(errbuf, errlen, "log.cleaner.min.cleanable.ratio: '%s' is not a number in [0, 1]", r);
			return -1;
		}
		cfg->log_cleaner_min_cleanable_ratio = d;
	}

	/* Time precedence (LogConfig / KafkaConfig): ms, else minutes, else hours. */
	if (!config_is_explicit(cfg, "log.roll.ms"))
		cfg->log_roll_ms = (int64_t)cfg->log_roll_hours * 3600000;
	if (!config_is_explicit(cfg, "log.retention.ms")) {
		if (config_is_explicit(cfg, "log.retention.minutes"))
			cfg->log_retention_ms = (int64_t)cfg->log_retention_minutes * 60000;
		else
			cfg->log_retention_ms = (int64_t)cfg->log_retention_hours * 3600000;
		if (cfg->log_retention_ms < 0)
			cfg->log_retention_ms = -1;
	}
	if (!config_is_explicit(cfg, "log.flush.interval.ms"))
		cfg->log_flush_interval_ms = cfg->log_flush_scheduler_interval_ms;

	/* log.dirs, else log.dir. */
	if (cfg->log_dirs == NULL) {
		cfg->log_dirs = strdup(cfg->log_dir ? cfg->log_dir : "");
		if (cfg->log_dirs == NULL)
			goto oom;
	}
	if (config_each_item(cfg->log_dirs, config_dir_item, cfg) != 0)
		goto oom;
	if (cfg->log_dirs_count == 0) {
		config_err(errbuf, errlen, "log.dirs: no directory given");
		return -1;
	}
	{
		/* Name the key the directory came from. */
		const char *dir_key = config_is_explicit(cfg, "log.dirs") ? "log.dirs" : "log.dir";
		for (int i = 0; i < cfg->log_dirs_count; i++)
			if (config_check_dir(dir_key, cfg->log_dirs_list[i], errbuf, errlen) != 0)
				return -1;
		if (cfg->metadata_log_dir != NULL &&
		    config_check_dir("metadata.log.dir", cfg->metadata_log_dir, errbuf, errlen) != 0)
			return -1;
	}

	if (cfg->group_min_session_timeout_ms > cfg->group_max_session_timeout_ms) {
		config_err(errbuf, errlen, "group.min.session.timeout.ms: %d is above group.max.session.timeout.ms %d",
			   (int)cfg->group_min_session_timeout_ms, (int)cfg->group_max_session_timeout_ms);
		return -1;
	}
	if (cfg->broker_heartbeat_interval_ms >= cfg->broker_session_timeout_ms) {
		config_err(errbuf, errlen,
			   "broker.heartbeat.interval.ms: %d must be below broker.session.timeout.ms %d",
			   (int)cfg->broker_heartbeat_interval_ms, (int)cfg->broker_session_timeout_ms);
		return -1;
	}

	/* Listeners. */
	struct config_listener_ctx lc = {cfg, "listeners", &cfg->listener_list, &cfg->listener_count, errbuf, errlen};
	if (config_each_item(cfg->listeners, config_listener_item, &lc) != 0)
		return -1;
	const struct config_listener *client = NULL, *ctrl = NULL;
	for (int i = 0; i < cfg->listener_count; i++) {
		const struct config_listener *l = &cfg->listener_list[i];
		if (l->controller && ctrl == NULL)
			ctrl = l;
		if (!l->controller && client == NULL)
			client = l;
	}
	if (client == NULL) {
		config_err(errbuf, errlen, "listeners: no non-controller listener in '%s'",
			   cfg->listeners ? cfg->listeners : "");
		return -1;
	}
	cfg->listener_host = strdup(client->host[0] ? client->host : "0.0.0.0");
	cfg->listener_port = client->port;
	if (cfg->listener_host == NULL)
		goto oom;
	cfg->controller_port = -1;
	if (ctrl != NULL) {
		cfg->controller_host = strdup(ctrl->host[0] ? ctrl->host : "0.0.0.0");
		cfg->controller_port = ctrl->port;
		if (cfg->controller_host == NULL)
			goto oom;
	}
	if (cfg->controller_listener_names != NULL) {
		/* Every name must be a listener when this node is a controller
		 * (KafkaConfig validates the same). */
		bool is_controller = config_name_in_list(cfg->process_roles, "controller");
		const char *p = cfg->controller_listener_names;
		char *copy = strdup(p);
		if (copy == NULL)
			goto oom;
		char *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *t = config_strdup_trim(tok);
			bool found = false;
			for (int i = 0; t && i < cfg->listener_count; i++)
				if (strcasecmp(cfg->listener_list[i].name, t) == 0)
					found = true;
			if (is_controller && t && t[0] && !found) {
				config_err(errbuf, errlen,
					   "controller.listener.names: %s is not one of the listeners", t);
				free(t);
				free(copy);
				return -1;
			}
			free(t);
		}
		free(copy);
	}
	if (cfg->inter_broker_listener_name != NULL) {
		const struct config_listener *ib = NULL;
		for (int i = 0; i < cfg->listener_count; i++)
			if (strcasecmp(cfg->listener_list[i].name, cfg->inter_broker_listener_name) == 0)
				ib = &cfg->listener_list[i];
		if (ib == NULL || ib->controller) {
			config_err(errbuf, errlen,
				   "inter.broker.listener.name: %s must be a non-controller listener in listeners",
				   cfg->inter_broker_listener_name);
			return -1;
		}
	}

	/* Advertised listeners: default is listeners without the controller
	 * ones (KafkaConfig.effectiveAdvertisedBrokerListeners). */
	if (cfg->advertised_listeners == NULL) {
		size_t need = 1;
		for (int pass = 0; pass < 2; pass++) {
			char *adv = pass ? malloc(need) : NULL;
			if (pass && adv == NULL)
				goto oom;
			size_t used = 0;
			for (int i = 0; i < cfg->listener_count; i++) {
				const struct config_listener *l = &cfg->listener_list[i];
				if (l->controller)
					continue;
				bool v6 = strchr(l->host, ':') != NULL;
				int n = snprintf(adv ? adv + used : NULL, adv ? need - used : 0, "%s%s://%s%s%s:%d",
						 used ? "," : "", l->name, v6 ? "[" : "", l->host, v6 ? "]" : "",
						 (int)l->port);
				used += (size_t)(n > 0 ? n : 0);
			}
			if (pass) {
				adv[used] = '\0';
				cfg->advertised_listeners = adv;
			}
			need = used + 1;
		}
	}
	struct config_listener_ctx ac = {cfg,           "advertised.listeners", &cfg->advertised_list,
					 &cfg->advertised_count, errbuf, errlen};
	if (config_each_item(cfg->advertised_listeners, config_listener_item, &ac) != 0)
		return -1;
	char hostname[256] = "";
	for (int i = 0; i < cfg->advertised_count; i++) {
		struct config_listener *l = &cfg->advertised_list[i];
		if (strcmp(l->host, "0.0.0.0") == 0 || strcmp(l->host, "::") == 0) {
			config_err(errbuf, errlen,
				   "advertised.listeners: cannot advertise the non-routable address %s (listener %s); "
				   "set advertised.listeners",
				   l->host, l->name);
			return -1;
		}
		if (l->host[0] == '\0') {
			/* Kafka advertises the canonical host name. */
			if (hostname[0] == '\0' && gethostname(hostname, sizeof hostname - 1) != 0)
				snprintf(hostname, sizeof hostname, "localhost");
			char *h = strdup(hostname);
			if (h == NULL)
				goto oom;
			free(l->host);
			l->host = h;
		}
	}
	/* The client listener's advertised form: same name, else the first. */
	const struct config_listener *adv = NULL;
	for (int i = 0; i < cfg->advertised_count; i++)
		if (strcmp(cfg->advertised_list[i].name, client->name) == 0)
			adv = &cfg->advertised_list[i];
	if (adv == NULL && cfg->advertised_count > 0)
		adv = &cfg->advertised_list[0];
	if (adv == NULL) {
		config_err(errbuf, errlen, "advertised.listeners: no listener to advertise");
		return -1;
	}
	cfg->advertised_host = strdup(adv->host);
	if (cfg->advertised_host == NULL)
		goto oom;
	/* port 0 binds any port: the broker learns the real one at bind
	 * time and advertises that. */
	cfg->advertised_port = adv->port;

	if (config_each_item(cfg->controller_quorum_voters, config_voter_item, &vc) != 0)
		return -1;
	if (cfg->voter_count > 0) {
		/* A member that is not a voter joins the quorum from its own
		 * controller listener, which must then have a fixed port (the
		 * voters dial it). metadata_start() checks the same; failing
		 * here makes it a one-line configuration error. */
		bool is_voter = false;
		for (int i = 0; i < cfg->voter_count; i++)
			if (cfg->voter_list[i].id == cfg->node_id)
				is_voter = true;
		if (!is_voter && cfg->controller_port < 0) {
			config_err(errbuf, errlen,
				   "node.id: %d is not in controller.quorum.voters (%s) and there is no controller "
				   "listener (listeners + controller.listener.names) to join the quorum from",
				   (int)cfg->node_id, cfg->controller_quorum_voters);
			return -1;
		}
		if (!is_voter && cfg->controller_port == 0) {
			config_err(errbuf, errlen,
				   "listeners: node %d is not in controller.quorum.voters, so its controller listener "
				   "needs a fixed port, not 0",
				   (int)cfg->node_id);
			return -1;
		}
	}
	if (config_each_item(cfg->controller_quorum_bootstrap_servers, config_bootstrap_item, &vc) != 0)
		return -1;
	return 0;
oom:
	config_err(errbuf, errlen, "out of memory");
	return -1;
}

int config_load(struct broker_config *cfg, const char *path, char **overrides, int n_overrides, char *errbuf,
		size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	if (errbuf && errlen)
		errbuf[0] = '\0';

	for (int i = 0; i < CONFIG_N; i++) {
		const struct config_key *k = &config_table[i];
		if (k->def == NULL)
			continue; /* zero / NULL; resolved later when derived */
		char sub[256];
		int rc = config_set(cfg, k, k->def, sub, sizeof sub);
		if (rc != 0) { /* only out of memory: defaults are tested */
			config_err(errbuf, errlen, "default of %s", sub);
			goto fail;
		}
	}

	if (path != NULL && config_load_file(cfg, path, errbuf, errlen) != 0)
		goto fail;

	for (int i = 0; i < n_overrides; i++) {
		const char *o = overrides[i];
		const char *eq = o ? strchr(o, '=') : NULL;
		if (eq == NULL || eq == o) {
			config_err(errbuf, errlen, "invalid override '%s' (expected key=value)", o ? o : "(null)");
			goto fail;
		}
		char *key = strndup(o, (size_t)(eq - o));
		if (key == NULL) {
			config_err(errbuf, errlen, "out of memory");
			goto fail;
		}
		char *tk = config_strdup_trim(key);
		free(key);
		if (tk == NULL) {
			config_err(errbuf, errlen, "out of memory");
			goto fail;
		}
		int rc = config_set_by_name(cfg, tk, eq + 1, "--override", errbuf, errlen);
		free(tk);
		if (rc != 0)
			goto fail;
	}

	if (config_resolve(cfg, errbuf, errlen) != 0)
		goto fail;
	return 0;
fail:
	config_free(cfg);
	return -1;
}

void config_free(struct broker_config *cfg)
{
	if (cfg == NULL)
		return;
	for (int i = 0; i < CONFIG_N; i++) {
		const struct config_key *k = &config_table[i];
		if (k->kind == CONFIG_KIND_STRING || k->kind == CONFIG_KIND_LIST)
			free(*(char **)config_field(cfg, k));
	}
	config_listeners_free(cfg->listener_list, cfg->listener_count);
	config_listeners_free(cfg->advertised_list, cfg->advertised_count);
	for (int i = 0; i < cfg->voter_count; i++)
		free(cfg->voter_list[i].host);
	free(cfg->voter_list);
	for (int i = 0; i < cfg->log_dirs_count; i++)
		free(cfg->log_dirs_list[i]);
	free(cfg->log_dirs_list);
	free(cfg->listener_host);
	free(cfg->advertised_host);
	free(cfg->controller_host);
	memset(cfg, 0, sizeof *cfg);
}

bool config_describe(const struct broker_config *cfg, int i, char *valbuf, size_t vallen,
		     struct config_description *out)
{
	if (i < 0 || i >= CONFIG_N)
		return false;
	const struct config_key *k = &config_table[i];
	const void *f = config_field_c(cfg, k);
	memset(out, 0, sizeof *out);
	out->name = k->name;
	out->doc = k->doc;
	out->is_default = !cfg->explicit_[i];
	out->read_only = true;
	/* Secrets are never described (Kafka returns null for sensitive keys). */
	out->sensitive = strstr(k->name, "secret") != NULL || strstr(k->name, "password") != NULL;
	/* A key whose Kafka default is null reads null until set, even where
	 * the field holds the value derived from another key (Kafka shows
	 * log.retention.ms=null when only log.retention.hours is set). */
	bool null_value = k->def == NULL && !cfg->explicit_[i];
	switch (k->kind) {
	case CONFIG_KIND_INT:
		out->config_type = CONFIG_TYPE_INT;
		if (!null_value) {
			snprintf(valbuf, vallen, "%" PRId32, *(const int32_t *)f);
			out->value = valbuf;
		}
		break;
	case CONFIG_KIND_SHORT:
		out->config_type = CONFIG_TYPE_SHORT;
		if (!null_value) {
			snprintf(valbuf, vallen, "%" PRId32, *(const int32_t *)f);
			out->value = valbuf;
		}
		break;
	case CONFIG_KIND_LONG:
		out->config_type = CONFIG_TYPE_LONG;
		if (!null_value) {
			snprintf(valbuf, vallen, "%" PRId64, *(const int64_t *)f);
			out->value = valbuf;
		}
		break;
	case CONFIG_KIND_BOOL:
		out->config_type = CONFIG_TYPE_BOOLEAN;
		out->value = *(const bool *)f ? "true" : "false";
		break;
	case CONFIG_KIND_STRING:
	case CONFIG_KIND_LIST:
		out->config_type = k->kind == CONFIG_KIND_LIST ? CONFIG_TYPE_LIST : CONFIG_TYPE_STRING;
		if (!null_value)
			out->value = *(char *const *)f;
		break;
	}
	return true;
}
