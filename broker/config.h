/* config: server.properties, with Apache Kafka's (KRaft) key names.
 *
 * One table in config.c (name, type, default, min, max, field, doc) drives
 * parsing, defaults, validation and DescribeConfigs. Every key has one field
 * in struct broker_config, named after the key with dots turned into
 * underscores (`message.max.bytes` -> message_max_bytes). Adding a key is one
 * field here plus one row there; Tern's own keys are prefixed `claimcheck.`.
 *
 * Values come from, in increasing precedence: the defaults (Kafka 3.8's unless
 * a row says otherwise), the properties file, the `--override key=value`
 * strings. An unknown key or an invalid value fails the whole load with a
 * message naming the key.
 *
 * Derived values (Kafka's precedence rules) are resolved at load:
 *  - node_id: node.id, else broker.id (both set and different is an error);
 *  - log_roll_ms: log.roll.ms, else log.roll.hours;
 *  - log_retention_ms: log.retention.ms, else .minutes, else .hours
 *    (-1 = no time limit);
 *  - log_flush_interval_ms: log.flush.interval.ms, else
 *    log.flush.scheduler.interval.ms;
 *  - log_dirs: log.dirs, else log.dir; split into log_dirs_list;
 *  - advertised_listeners: defaults to listeners minus the controller
 *    listeners; an empty host advertises this machine's hostname; 0.0.0.0 is
 *    refused, as Kafka does.
 *
 * Ownership: every char* and array in the struct is owned by it and freed by
 * config_free(). Other modules only read a loaded config (no locking; it does
 * not change after load).
 */
#ifndef TERN_BROKER_CONFIG_H
#define TERN_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound on table rows, for the explicitly-set flags below. */
#define CONFIG_MAX_KEYS 128

/* One entry of `listeners` / `advertised.listeners`: NAME://host:port. */
struct config_listener {
	char *name; /* listener name, e.g. "PLAINTEXT", "CONTROLLER" */
	char *host; /* as written; "" = all interfaces (bind) / hostname (advertise) */
	int32_t port;
	char *security_protocol; /* from listener.security.protocol.map */
	bool controller;         /* named in controller.listener.names */
};

/* One entry of controller.quorum.voters: id@host:port. */
struct config_voter {
	int32_t id;
	char *host;
	int32_t port;
};

struct broker_config {
	/* --- identity and roles --- */
	int32_t node_id;     /* effective id (node.id, else broker.id) */
	int32_t broker_id;   /* alias of node.id; equals node_id after load */
	char *process_roles; /* "broker,controller" (Tern runs combined mode) */
	char *broker_rack;   /* NULL when unset */

	/* --- listeners --- */
	char *listeners;                      /* raw string */
	char *advertised_listeners;           /* raw string; NULL until load resolves it */
	char *listener_security_protocol_map; /* NAME:PROTOCOL,... */
	char *inter_broker_listener_name;     /* NULL: the first non-controller listener */
	char *controller_listener_names;      /* NULL or comma-separated names */
	char *controller_quorum_voters;       /* id@host:port,...; "" when none */
	char *controller_quorum_bootstrap_servers; /* host:port,...; "" when none */

	/* Parsed forms of the above (owned). */
	struct config_listener *listener_list; /* listeners, in order */
	int listener_count;
	struct config_listener *advertised_list; /* advertised listeners, in order */
	int advertised_count;
	struct config_voter *voter_list; /* controller.quorum.voters */
	int voter_count;
	/* The first non-controller listener: what the Kafka server binds.
	 * listener_host is the bind address ("0.0.0.0" when the host was empty). */
	char *listener_host;
	int32_t listener_port;
	/* Its advertised form (what Metadata tells clients). */
	char *advertised_host;
	int32_t advertised_port;
	/* The first controller listener, if any (port -1 otherwise). */
	char *controller_host; /* bind address, "0.0.0.0" when empty; NULL if none */
	int32_t controller_port;

	/* --- network --- */
	int32_t socket_request_max_bytes;    /* bytes */
	int32_t socket_send_buffer_bytes;    /* bytes; -1 = OS default */
	int32_t socket_receive_buffer_bytes; /* bytes; -1 = OS default */
	int32_t num_network_threads;
	int32_t num_io_threads;
	int32_t num_recovery_threads_per_data_dir;
	int32_t queued_max_requests;
	int64_t connections_max_idle_ms;

	/* --- topics --- */
	int32_t num_partitions;
	int32_t default_replication_factor;
	int32_t min_insync_replicas;
	bool auto_create_topics_enable;
	bool delete_topic_enable;
	int32_t message_max_bytes; /* bytes, largest record batch */
	char *compression_type;    /* producer|uncompressed|gzip|snappy|lz4|zstd */
	bool auto_leader_rebalance_enable;
	bool unclean_leader_election_enable;
	int32_t fetch_max_bytes; /* bytes */

	/* --- log --- */
	char *log_dir;              /* single directory (used when log.dirs is unset) */
	char *log_dirs;             /* effective, comma-separated */
	char **log_dirs_list;       /* log_dirs split (owned) */
	int log_dirs_count;
	char *metadata_log_dir;     /* NULL: the first log dir */
	int32_t log_segment_bytes;  /* bytes */
	int64_t log_roll_ms;        /* effective */
	int32_t log_roll_hours;
	int64_t log_retention_ms;   /* effective; -1 = no time limit */
	int32_t log_retention_minutes;
	int32_t log_retention_hours;
	int64_t log_retention_bytes; /* bytes per partition; -1 = no size limit */
	int64_t log_retention_check_interval_ms;
	int32_t log_index_interval_bytes;  /* bytes between index entries */
	int32_t log_index_size_max_bytes;  /* bytes */
	int64_t log_flush_interval_messages;
	int64_t log_flush_interval_ms;     /* effective */
	int64_t log_flush_scheduler_interval_ms;
	char *log_message_timestamp_type;  /* CreateTime|LogAppendTime */
	char *log_cleanup_policy;          /* delete, compact, or both (a list) */
	/* The log cleaner (broker/log/cleaner.h), Kafka's log.cleaner.* */
	bool log_cleaner_enable;
	int64_t log_cleaner_backoff_ms;            /* between passes over the compacted logs */
	int64_t log_cleaner_dedupe_buffer_size;    /* bytes of key map per pass */
	int64_t log_cleaner_delete_retention_ms;   /* default delete.retention.ms */
	int64_t log_cleaner_min_compaction_lag_ms; /* default min.compaction.lag.ms */
	char *log_cleaner_min_cleanable_ratio_str; /* as given (default min.cleanable.dirty.ratio) */
	double log_cleaner_min_cleanable_ratio;    /* parsed, in [0, 1] */

	/* --- replication --- */
	int64_t replica_lag_time_max_ms;
	int32_t replica_fetch_max_bytes; /* bytes */
	int32_t replica_fetch_wait_max_ms;
	int32_t replica_fetch_min_bytes;
	int32_t replica_socket_timeout_ms;
	int64_t replica_high_watermark_checkpoint_interval_ms;
	int64_t leader_imbalance_check_interval_seconds;
	int64_t producer_id_expiration_ms;
	int64_t producer_id_expiration_check_interval_ms;
	int32_t leader_imbalance_per_broker_percentage;

	/* --- KRaft --- */
	int32_t broker_heartbeat_interval_ms;
	int32_t broker_session_timeout_ms;
	int32_t controller_quorum_election_timeout_ms;
	int32_t controller_quorum_fetch_timeout_ms;

	/* --- groups and internal topics --- */
	int32_t offsets_topic_replication_factor;
	int32_t offsets_topic_num_partitions;
	int32_t offsets_topic_segment_bytes;
	int32_t offsets_retention_minutes;
	int32_t offsets_commit_timeout_ms;
	int64_t offsets_retention_check_interval_ms;
	int32_t group_initial_rebalance_delay_ms;
	int32_t group_min_session_timeout_ms;
	int32_t group_max_session_timeout_ms;
	int32_t group_max_size;
	int32_t transaction_state_log_replication_factor;
	int32_t transaction_state_log_min_isr;

	/* --- claim-check (Tern's own keys) --- */
	char *claimcheck_backend;        /* fs | s3 | plugin */
	char *claimcheck_fs_dir;         /* NULL: <first log dir>/claimcheck */
	char *claimcheck_s3_endpoint;    /* host:port */
	char *claimcheck_s3_bucket;
	char *claimcheck_s3_access_key;
	char *claimcheck_s3_secret_key;  /* sensitive: never logged or described */
	char *claimcheck_s3_protocol;    /* http | https */
	char *claimcheck_s3_uri_style;   /* path | virtual */
	char *claimcheck_plugin_path;    /* shared object exporting the plug-in ABI */
	char *claimcheck_plugin_config;  /* opaque string for the plug-in */
	int32_t claimcheck_worker_threads;

	/* Private to config.c: per table row, whether the value was set by the
	 * file or an override (DescribeConfigs' is_default, and Kafka's
	 * precedence rules). */
	bool explicit_[CONFIG_MAX_KEYS];
};

/* Loads the configuration: defaults, then the properties file at `path`
 * (NULL: none), then `overrides` ("key=value" strings, borrowed). Returns 0,
 * or -1 with a message naming the key (and file:line) in errbuf; on failure
 * cfg holds nothing that needs freeing. */
int config_load(struct broker_config *cfg, const char *path, char **overrides, int n_overrides, char *errbuf,
		size_t errlen);
/* Frees everything cfg owns (safe on a zeroed or failed cfg). */
void config_free(struct broker_config *cfg);

/* DescribeConfigs config_type values (KIP-569). */
enum config_type_code {
	CONFIG_TYPE_UNKNOWN = 0,
	CONFIG_TYPE_BOOLEAN = 1,
	CONFIG_TYPE_STRING = 2,
	CONFIG_TYPE_INT = 3,
	CONFIG_TYPE_SHORT = 4,
	CONFIG_TYPE_LONG = 5,
	CONFIG_TYPE_DOUBLE = 6,
	CONFIG_TYPE_LIST = 7,
	CONFIG_TYPE_CLASS = 8,
	CONFIG_TYPE_PASSWORD = 9,
};

/* One key and its current value, for DescribeConfigs. */
struct config_description {
	const char *name;
	const char *value; /* NULL for a null value; else in valbuf or in cfg */
	bool is_default;   /* not set by the file or an override */
	bool read_only;    /* every broker key is read-only for now (no dynamic configs) */
	bool sensitive;
	int8_t config_type; /* enum config_type_code */
	const char *doc;
};

/* Number of keys; rows are numbered [0, config_count()). */
int config_count(void);
/* Row index of a key (aliases included), or -1. */
int config_find(const char *name);
/* Describes row i with cfg's current value (numbers are formatted into valbuf;
 * 32 bytes are enough for any number). Returns false past the end. */
bool config_describe(const struct broker_config *cfg, int i, char *valbuf, size_t vallen,
		     struct config_description *out);

#endif
