/* api: request handlers, one file per API family, and the dispatch table.
 *
 * net hands a frame to api_dispatch(); the dispatcher parses the request
 * header, looks the API key up in the table (min/max version, flexible-from
 * version, handler), answers an unsupported version itself, and otherwise
 * calls the handler with the body still to decode.
 *
 * A handler decodes req->body with the codec of its API (broker/protocol/),
 * works on the structs, and finishes with exactly one of
 *   api_respond(req, &w)  - w holds the response BODY; the dispatcher adds the
 *                            response header (v0, or v1 for flexible versions
 *                            except ApiVersions) and sends it; req is freed;
 *   api_respond_none(req) - no response (acks=0 produce); req is freed;
 *   api_close(req)        - the body could not be parsed: close the connection.
 * It may finish later (acks=all produce, long-poll fetch): `req` and the frame
 * its views point into stay valid until then.
 */
#ifndef TERN_API_API_H
#define TERN_API_API_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/header.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

struct broker;
struct net_request;

struct api_request {
	struct broker *broker;
	struct net_request *net;   /* completion handle, owned by net */
	struct request_header hdr; /* api_key, api_version, correlation_id, client_id (view) */
	bool flexible;             /* hdr.api_version >= the API's flexible-from version */
	struct kreader body;       /* the request body, after the header */
	int64_t received_ms;       /* monotonic ms when the frame arrived */
	const uint8_t *frame;      /* the whole request (header + body), owned by net */
	size_t frame_len;
};

typedef void (*api_handler_fn)(struct api_request *req);

struct api_entry {
	int16_t api_key;
	const char *name;
	int16_t min_version;
	int16_t max_version;
	int16_t flexible_from; /* first flexible version; INT16_MAX if none */
	api_handler_fn handler;
	/* NULL: always served. Otherwise the entry exists only while this
	 * returns true (e.g. DescribeQuorum needs a running quorum): when it
	 * returns false ApiVersions leaves the key out and a request for it is
	 * treated like an unknown key (the connection closes). */
	bool (*available)(const struct broker *b);
	/* Served but never listed in ApiVersions: the broker-to-controller
	 * APIs, which Kafka exposes only to other brokers. */
	bool internal;
};

/* The dispatch table (ordered by api key), its size, and a lookup. */
extern const struct api_entry api_table[];
extern const int api_table_len;
const struct api_entry *api_lookup(int16_t api_key);
/* The entry of `api_key` if `b` serves it now (see api_entry.available). */
const struct api_entry *api_lookup_for(const struct broker *b, int16_t api_key);

/* Entry from net (net_request_cb). */
void api_dispatch(struct net_request *nreq, const uint8_t *frame, size_t len, void *broker);

void api_respond(struct api_request *req, struct kwriter *body);
void api_respond_none(struct api_request *req);
void api_close(struct api_request *req);

/* ApiVersions body listing the dispatch table entries `b` serves, with
 * error_code; an UNSUPPORTED_VERSION body is always encoded as v0 (KIP-511). */
void api_versions_encode_table(const struct broker *b, struct kwriter *w, int16_t version, int16_t error_code);

struct topic_overrides;
struct create_topics_topic_result;
/* CreateTopics v5+ lists the new topic's configs: fills out->configs from
 * the broker defaults and `ov` (out->configs malloc'd: the caller frees it;
 * values written into vals[topic_config_count()]). */
#define API_TOPICS_CFGVAL 64
void api_topics_describe_created(struct broker *b, const struct topic_overrides *ov,
				 struct create_topics_topic_result *out, char (*vals)[API_TOPICS_CFGVAL]);

/* Forwards the request, unchanged but for its correlation and client ids,
 * to the active controller on another broker and relays the answer. Returns
 * true when it took the request; false when there is no remote controller
 * to reach, or the request was itself forwarded (never twice). If the
 * controller cannot be reached after all, `fail` answers the request
 * (NOT_CONTROLLER). */
bool api_forward(struct api_request *req, void (*fail)(struct api_request *req));
/* True when `req` came from another broker's api_forward. */
bool api_forwarded(const struct api_request *req);

/* Handlers, by family (one file each). */
void api_versions_handle(struct api_request *req);
void api_metadata_handle(struct api_request *req);
void api_produce_handle(struct api_request *req);
void api_fetch_handle(struct api_request *req);
void api_list_offsets_handle(struct api_request *req);
void api_offset_for_leader_epoch_handle(struct api_request *req); /* offset_for_leader_epoch.c */
void api_create_topics_handle(struct api_request *req);
/* With a metadata quorum: decided by the active controller (topics_quorum.c). */
void api_create_topics_quorum(struct api_request *req);
void api_delete_topics_quorum(struct api_request *req);
void api_create_partitions_quorum(struct api_request *req);
void api_incremental_alter_configs_quorum(struct api_request *req); /* configs_quorum.c */
/* Asks the controller to create `name` with the defaults (Metadata's
 * auto-creation); the outcome shows in a later Metadata. */
void api_auto_create_topic_quorum(struct broker *b, const char *name);
void api_broker_registration_handle(struct api_request *req);
void api_broker_heartbeat_handle(struct api_request *req);
void api_alter_partition_handle(struct api_request *req);
/* Producer ids: InitProducerId (init_producer_id.c), and the controller's
 * AllocateProducerIds (allocate_producer_ids.c). */
void api_init_producer_id_handle(struct api_request *req);
void api_allocate_producer_ids_handle(struct api_request *req);
bool api_quorum_available(const struct broker *b);
void api_delete_topics_handle(struct api_request *req);
void api_create_partitions_handle(struct api_request *req);
void api_describe_configs_handle(struct api_request *req);
void api_incremental_alter_configs_handle(struct api_request *req);
/* Consumer groups (api/group.c). */
void api_find_coordinator_handle(struct api_request *req);
void api_join_group_handle(struct api_request *req);
void api_sync_group_handle(struct api_request *req);
void api_heartbeat_handle(struct api_request *req);
void api_leave_group_handle(struct api_request *req);
void api_offset_commit_handle(struct api_request *req);
void api_offset_fetch_handle(struct api_request *req);
void api_list_groups_handle(struct api_request *req);
void api_describe_groups_handle(struct api_request *req);
void api_delete_groups_handle(struct api_request *req);
void api_offset_delete_handle(struct api_request *req);
/* The metadata quorum (api/describe_quorum.c). */
void api_describe_quorum_handle(struct api_request *req);
bool api_describe_quorum_available(const struct broker *b);

#endif
