/* IncrementalAlterConfigs (API key 44): request and response bodies.
 *
 * Layout from Kafka's IncrementalAlterConfigsRequest.json / ...Response.json.
 *
 * Memory: decode fills `out` with strings that are VIEWS into the reader's
 * buffer (valid as long as that buffer is) and arrays malloc'd and owned by
 * the struct; *_free() releases the arrays (never the strings) and leaves the
 * struct empty. On failure decode returns -1 with r->err set and has already
 * freed what it allocated (freeing `out` again is harmless).
 */
#ifndef TERN_PROTOCOL_INCREMENTAL_ALTER_CONFIGS_H
#define TERN_PROTOCOL_INCREMENTAL_ALTER_CONFIGS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define INCREMENTAL_ALTER_CONFIGS_API_KEY 44
#define INCREMENTAL_ALTER_CONFIGS_MIN_VERSION 0
#define INCREMENTAL_ALTER_CONFIGS_MAX_VERSION 1
#define INCREMENTAL_ALTER_CONFIGS_FLEXIBLE_VERSION 1 /* first flexible version */

/* ConfigOperation values (org.apache.kafka.clients.admin.AlterConfigOp.OpType). */
enum incremental_alter_configs_op {
	INCREMENTAL_ALTER_CONFIGS_OP_SET = 0,
	INCREMENTAL_ALTER_CONFIGS_OP_DELETE = 1,
	INCREMENTAL_ALTER_CONFIGS_OP_APPEND = 2,
	INCREMENTAL_ALTER_CONFIGS_OP_SUBTRACT = 3,
};

/* AlterableConfig */
struct incremental_alter_configs_config {
	struct kstr name;
	int8_t config_operation; /* enum incremental_alter_configs_op; not validated here */
	struct kstr value;       /* nullable */
};

/* AlterConfigsResource */
struct incremental_alter_configs_resource {
	int8_t resource_type; /* ConfigResource type: 2 topic, 4 broker, 8 broker logger */
	struct kstr resource_name;
	struct incremental_alter_configs_config *configs;
	int32_t configs_count;
};

struct incremental_alter_configs_request {
	struct incremental_alter_configs_resource *resources;
	int32_t resources_count;
	bool validate_only;
};

/* AlterConfigsResourceResponse */
struct incremental_alter_configs_resource_response {
	int16_t error_code;
	struct kstr error_message; /* nullable */
	int8_t resource_type;
	struct kstr resource_name;
};

struct incremental_alter_configs_response {
	int32_t throttle_time_ms; /* ms */
	struct incremental_alter_configs_resource_response *responses;
	int32_t responses_count;
};

int incremental_alter_configs_request_decode(struct kreader *r, int16_t version,
					     struct incremental_alter_configs_request *out);
void incremental_alter_configs_request_encode(struct kwriter *w, int16_t version,
					      const struct incremental_alter_configs_request *in);
void incremental_alter_configs_request_free(struct incremental_alter_configs_request *req);

int incremental_alter_configs_response_decode(struct kreader *r, int16_t version,
					      struct incremental_alter_configs_response *out);
void incremental_alter_configs_response_encode(struct kwriter *w, int16_t version,
					       const struct incremental_alter_configs_response *in);
void incremental_alter_configs_response_free(struct incremental_alter_configs_response *resp);

#endif
