/* topic_config: Kafka's topic-level configs (segment.bytes, retention.ms, ...),
 * their validation, and their effective values: a topic's override, else the
 * broker's default (`log.segment.bytes`, ...), else Kafka's default.
 *
 * Overrides are held as (name, value) strings exactly as the client sent them,
 * so DescribeConfigs can return them unchanged.
 */
#ifndef TERN_BROKER_TOPIC_CONFIG_H
#define TERN_BROKER_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/config.h"
#include "broker/log/log.h"

/* One override; both strings owned by the containing topic_overrides. */
struct topic_override {
	char *name;
	char *value;
};

struct topic_overrides {
	struct topic_override *items;
	int count;
};

/* The effective values the broker acts on. */
struct topic_config {
	struct log_config log;
	int32_t max_message_bytes;
	bool log_append_time; /* message.timestamp.type=LogAppendTime */
	int32_t min_insync_replicas;
	bool unclean_leader_election_enable;
	/* Tern's claim-check (claimcheck/claimcheck.h) */
	bool claimcheck_enable;
	int64_t claimcheck_threshold_bytes;
	int64_t claimcheck_max_value_bytes;
	bool claimcheck_fetch_reference; /* claimcheck.fetch.mode=reference */
};

/* Config sources, as DescribeConfigs reports them. */
enum topic_config_source {
	TOPIC_CONFIG_SOURCE_TOPIC = 1,         /* DYNAMIC_TOPIC_CONFIG */
	TOPIC_CONFIG_SOURCE_STATIC_BROKER = 4, /* set in server.properties */
	TOPIC_CONFIG_SOURCE_DEFAULT = 5,       /* DEFAULT_CONFIG */
};

/* Checks that `name` is a known topic config and `value` is valid for it.
 * Returns 0, or -1 with a message in errbuf (for INVALID_CONFIG). */
int topic_config_validate(const char *name, const char *value, char *errbuf, size_t errlen);

/* Computes effective values from the broker defaults and the overrides (which
 * must have been validated). */
void topic_config_resolve(const struct broker_config *bcfg, const struct topic_overrides *ov,
			  struct topic_config *out);

/* Iterates over every topic config for DescribeConfigs: for index i in
 * [0, topic_config_count()), fills the name, the effective value as a string
 * (written into valbuf), its source, whether it is sensitive and its type
 * (DescribeConfigs v3 config_type). Returns false past the end. */
int topic_config_count(void);
bool topic_config_describe(int i, const struct broker_config *bcfg, const struct topic_overrides *ov,
			   const char **name, char *valbuf, size_t vallen, int *source, int8_t *config_type,
			   const char **doc);

/* Override list management. Set replaces an existing name. */
int topic_overrides_set(struct topic_overrides *ov, const char *name, const char *value);
void topic_overrides_remove(struct topic_overrides *ov, const char *name);
const char *topic_overrides_get(const struct topic_overrides *ov, const char *name);
void topic_overrides_free(struct topic_overrides *ov);

#endif
