/* DescribeConfigs (API key 32): request and response bodies.
 *
 * Layout from Kafka's DescribeConfigsRequest.json / DescribeConfigsResponse.json.
 * The broker advertises versions [MIN, MAX]; the codec follows the JSON's
 * whole range 0..MAX so an older version is never misparsed.
 *
 * Memory: decode fills `out` with strings that are VIEWS into the reader's
 * buffer (valid as long as that buffer is) and arrays malloc'd and owned by
 * the struct; *_free() releases the arrays (never the strings) and leaves the
 * struct empty. On failure decode returns -1 with r->err set and has already
 * freed what it allocated (freeing `out` again is harmless).
 *
 * Arrays: `<name>` + `<name>_count`; a count of -1 means a null array, used
 * only where the JSON allows null (noted on the field).
 */
#ifndef TERN_PROTOCOL_DESCRIBE_CONFIGS_H
#define TERN_PROTOCOL_DESCRIBE_CONFIGS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define DESCRIBE_CONFIGS_API_KEY 32
#define DESCRIBE_CONFIGS_MIN_VERSION 1
#define DESCRIBE_CONFIGS_MAX_VERSION 4
#define DESCRIBE_CONFIGS_FLEXIBLE_VERSION 4 /* first flexible version */

/* ConfigResource types (org.apache.kafka.common.config.ConfigResource.Type). */
enum describe_configs_resource_type {
	DESCRIBE_CONFIGS_RESOURCE_UNKNOWN = 0,
	DESCRIBE_CONFIGS_RESOURCE_TOPIC = 2,
	DESCRIBE_CONFIGS_RESOURCE_BROKER = 4,
	DESCRIBE_CONFIGS_RESOURCE_BROKER_LOGGER = 8,
	DESCRIBE_CONFIGS_RESOURCE_CLIENT_METRICS = 16,
};

/* ConfigSource values of the response (DescribeConfigsResponse.ConfigSource). */
enum describe_configs_config_source {
	DESCRIBE_CONFIGS_SOURCE_UNKNOWN = 0,
	DESCRIBE_CONFIGS_SOURCE_TOPIC_CONFIG = 1,
	DESCRIBE_CONFIGS_SOURCE_DYNAMIC_BROKER_CONFIG = 2,
	DESCRIBE_CONFIGS_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG = 3,
	DESCRIBE_CONFIGS_SOURCE_STATIC_BROKER_CONFIG = 4,
	DESCRIBE_CONFIGS_SOURCE_DEFAULT_CONFIG = 5,
	DESCRIBE_CONFIGS_SOURCE_DYNAMIC_BROKER_LOGGER_CONFIG = 6,
	DESCRIBE_CONFIGS_SOURCE_CLIENT_METRICS_CONFIG = 7,
};

/* ConfigType values (v3+; DescribeConfigsResponse.ConfigType). */
enum describe_configs_config_type {
	DESCRIBE_CONFIGS_TYPE_UNKNOWN = 0,
	DESCRIBE_CONFIGS_TYPE_BOOLEAN = 1,
	DESCRIBE_CONFIGS_TYPE_STRING = 2,
	DESCRIBE_CONFIGS_TYPE_INT = 3,
	DESCRIBE_CONFIGS_TYPE_SHORT = 4,
	DESCRIBE_CONFIGS_TYPE_LONG = 5,
	DESCRIBE_CONFIGS_TYPE_DOUBLE = 6,
	DESCRIBE_CONFIGS_TYPE_LIST = 7,
	DESCRIBE_CONFIGS_TYPE_CLASS = 8,
	DESCRIBE_CONFIGS_TYPE_PASSWORD = 9,
};

/* DescribeConfigsResource */
struct describe_configs_resource {
	int8_t resource_type;
	struct kstr resource_name;
	/* Nullable: count -1 (null) asks for every key. */
	struct kstr *configuration_keys;
	int32_t configuration_keys_count;
};

struct describe_configs_request {
	struct describe_configs_resource *resources;
	int32_t resources_count;
	bool include_synonyms;      /* v1+, default false */
	bool include_documentation; /* v3+, default false */
};

/* DescribeConfigsSynonym (v1+) */
struct describe_configs_synonym {
	struct kstr name;
	struct kstr value; /* nullable */
	int8_t source;
};

/* DescribeConfigsResourceResult */
struct describe_configs_config {
	struct kstr name;
	struct kstr value; /* nullable */
	bool read_only;
	bool is_default;       /* v0 only, default false */
	int8_t config_source;  /* v1+, default -1 */
	bool is_sensitive;
	struct describe_configs_synonym *synonyms; /* v1+, default empty */
	int32_t synonyms_count;
	int8_t config_type;        /* v3+, default 0 */
	struct kstr documentation; /* v3+, nullable, default "" when absent */
};

/* DescribeConfigsResult */
struct describe_configs_result {
	int16_t error_code;
	struct kstr error_message; /* nullable */
	int8_t resource_type;
	struct kstr resource_name;
	struct describe_configs_config *configs;
	int32_t configs_count;
};

struct describe_configs_response {
	int32_t throttle_time_ms; /* ms */
	struct describe_configs_result *results;
	int32_t results_count;
};

int describe_configs_request_decode(struct kreader *r, int16_t version, struct describe_configs_request *out);
void describe_configs_request_encode(struct kwriter *w, int16_t version,
				     const struct describe_configs_request *in);
void describe_configs_request_free(struct describe_configs_request *req);

int describe_configs_response_decode(struct kreader *r, int16_t version, struct describe_configs_response *out);
void describe_configs_response_encode(struct kwriter *w, int16_t version,
				      const struct describe_configs_response *in);
void describe_configs_response_free(struct describe_configs_response *resp);

#endif
