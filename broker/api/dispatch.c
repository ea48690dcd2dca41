/* The dispatch table and the request/response envelope.
 *
 * ApiVersions is built from this table, so what is advertised is exactly what
 * has a handler and a codec for every version in [min, max].
 */
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/logger.h"
#include "broker/net/net.h"
#include "broker/protocol/api_versions.h"
#include "broker/protocol/create_partitions.h"
#include "broker/protocol/create_topics.h"
#include "broker/protocol/delete_topics.h"
#include "broker/protocol/describe_configs.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/delete_groups.h"
#include "broker/protocol/describe_groups.h"
#include "broker/protocol/describe_quorum.h"
#include "broker/protocol/allocate_producer_ids.h"
#include "broker/protocol/alter_partition.h"
#include "broker/protocol/broker_heartbeat.h"
#include "broker/protocol/broker_registration.h"
#include "broker/protocol/fetch.h"
#include "broker/protocol/find_coordinator.h"
#include "broker/protocol/heartbeat.h"
#include "broker/protocol/join_group.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/list_groups.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_delete.h"
#include "broker/protocol/offset_fetch.h"
#include "broker/protocol/offset_for_leader_epoch.h"
#include "broker/protocol/sync_group.h"
#include "broker/protocol/header.h"
#include "broker/protocol/incremental_alter_configs.h"
#include "broker/protocol/init_producer_id.h"
#include "broker/protocol/list_offsets.h"
#include "broker/protocol/metadata.h"
#include "broker/protocol/produce.h"

#define API_KEY_API_VERSIONS 18

/* Ordered by API key. */
const struct api_entry api_table[] = {
	{0, "Produce", PRODUCE_MIN_VERSION, PRODUCE_MAX_VERSION, PRODUCE_FLEXIBLE_VERSION, api_produce_handle, NULL, false},
	{1, "Fetch", FETCH_MIN_VERSION, FETCH_MAX_VERSION, FETCH_FLEXIBLE_VERSION, api_fetch_handle, NULL, false},
	{2, "ListOffsets", LIST_OFFSETS_MIN_VERSION, LIST_OFFSETS_MAX_VERSION, LIST_OFFSETS_FLEXIBLE_VERSION,
	 api_list_offsets_handle, NULL, false},
	{3, "Metadata", METADATA_MIN_VERSION, METADATA_MAX_VERSION, METADATA_FLEXIBLE_VERSION, api_metadata_handle,
	 NULL, false},
	{8, "OffsetCommit", OFFSET_COMMIT_MIN_VERSION, OFFSET_COMMIT_MAX_VERSION, OFFSET_COMMIT_FLEXIBLE_VERSION,
	 api_offset_commit_handle, NULL, false},
	{9, "OffsetFetch", OFFSET_FETCH_MIN_VERSION, OFFSET_FETCH_MAX_VERSION, OFFSET_FETCH_FLEXIBLE_VERSION,
	 api_offset_fetch_handle, NULL, false},
	{10, "FindCoordinator", FIND_COORDINATOR_MIN_VERSION, FIND_COORDINATOR_MAX_VERSION,
	 FIND_COORDINATOR_FLEXIBLE_VERSION, api_find_coordinator_handle, NULL, false},
	{11, "JoinGroup", JOIN_GROUP_MIN_VERSION, JOIN_GROUP_MAX_VERSION, JOIN_GROUP_FLEXIBLE_VERSION,
	 api_join_group_handle, NULL, false},
	{12, "Heartbeat", HEARTBEAT_MIN_VERSION, HEARTBEAT_MAX_VERSION, HEARTBEAT_FLEXIBLE_VERSION, api_heartbeat_handle,
	 NULL, false},
	{13, "LeaveGroup", LEAVE_GROUP_MIN_VERSION, LEAVE_GROUP_MAX_VERSION, LEAVE_GROUP_FLEXIBLE_VERSION,
	 api_leave_group_handle, NULL, false},
	{14, "SyncGroup", SYNC_GROUP_MIN_VERSION, SYNC_GROUP_MAX_VERSION, SYNC_GROUP_FLEXIBLE_VERSION,
	 api_sync_group_handle, NULL, false},
	{15, "DescribeGroups", DESCRIBE_GROUPS_MIN_VERSION, DESCRIBE_GROUPS_MAX_VERSION,
	 DESCRIBE_GROUPS_FLEXIBLE_VERSION, api_describe_groups_handle, NULL, false},
	{16, "ListGroups", LIST_GROUPS_MIN_VERSION, LIST_GROUPS_MAX_VERSION, LIST_GROUPS_FLEXIBLE_VERSION,
	 api_list_groups_handle, NULL, false},
	{18, "ApiVersions", API_VERSIONS_MIN_VERSION, API_VERSIONS_MAX_VERSION, API_VERSIONS_FLEXIBLE_VERSION,
	 api_versions_handle, NULL, false},
	{19, "CreateTopics", CREATE_TOPICS_MIN_VERSION, CREATE_TOPICS_MAX_VERSION, CREATE_TOPICS_FLEXIBLE_VERSION,
	 api_create_topics_handle, NULL, false},
	{20, "DeleteTopics", DELETE_TOPICS_MIN_VERSION, DELETE_TOPICS_MAX_VERSION, DELETE_TOPICS_FLEXIBLE_VERSION,
	 api_delete_topics_handle, NULL, false},
	/* Served, not advertised yet: the produce path does not deduplicate
	 * idempotent batches, so no client is told it may use them. */
	{INIT_PRODUCER_ID_API_KEY, "InitProducerId", INIT_PRODUCER_ID_MIN_VERSION, INIT_PRODUCER_ID_MAX_VERSION,
	 INIT_PRODUCER_ID_FLEXIBLE_VERSION, api_init_producer_id_handle, NULL, false},
	{OFFSET_FOR_LEADER_EPOCH_API_KEY, "OffsetForLeaderEpoch", OFFSET_FOR_LEADER_EPOCH_MIN_VERSION,
	 OFFSET_FOR_LEADER_EPOCH_MAX_VERSION, OFFSET_FOR_LEADER_EPOCH_FLEXIBLE_VERSION, api_offset_for_leader_epoch_handle,
	 NULL, false},
	{32, "DescribeConfigs", DESCRIBE_CONFIGS_MIN_VERSION, DESCRIBE_CONFIGS_MAX_VERSION,
	 DESCRIBE_CONFIGS_FLEXIBLE_VERSION, api_describe_configs_handle, NULL, false},
	{37, "CreatePartitions", CREATE_PARTITIONS_MIN_VERSION, CREATE_PARTITIONS_MAX_VERSION,
	 CREATE_PARTITIONS_FLEXIBLE_VERSION, api_create_partitions_handle, NULL, false},
	{DELETE_GROUPS_API_KEY, "DeleteGroups", DELETE_GROUPS_MIN_VERSION, DELETE_GROUPS_MAX_VERSION,
	 DELETE_GROUPS_FLEXIBLE_VERSION, api_delete_groups_handle, NULL, false},
	{44, "IncrementalAlterConfigs", INCREMENTAL_ALTER_CONFIGS_MIN_VERSION, INCREMENTAL_ALTER_CONFIGS_MAX_VERSION,
	 INCREMENTAL_ALTER_CONFIGS_FLEXIBLE_VERSION, api_incremental_alter_configs_handle, NULL, false},
	{OFFSET_DELETE_API_KEY, "OffsetDelete", OFFSET_DELETE_MIN_VERSION, OFFSET_DELETE_MAX_VERSION,
	 OFFSET_DELETE_FLEXIBLE_VERSION, api_offset_delete_handle, NULL, false},
	{DESCRIBE_QUORUM_API_KEY, "DescribeQuorum", DESCRIBE_QUORUM_MIN_VERSION, DESCRIBE_QUORUM_MAX_VERSION,
	 DESCRIBE_QUORUM_FLEXIBLE_VERSION, api_describe_quorum_handle, api_describe_quorum_available, false},
	{ALTER_PARTITION_API_KEY, "AlterPartition", ALTER_PARTITION_MIN_VERSION, ALTER_PARTITION_MAX_VERSION,
	 ALTER_PARTITION_FLEXIBLE_VERSION, api_alter_partition_handle, api_quorum_available, true},
	{BROKER_REGISTRATION_API_KEY, "BrokerRegistration", BROKER_REGISTRATION_MIN_VERSION,
	 BROKER_REGISTRATION_MAX_VERSION, BROKER_REGISTRATION_FLEXIBLE_VERSION, api_broker_registration_handle,
	 api_quorum_available, true},
	{BROKER_HEARTBEAT_API_KEY, "BrokerHeartbeat", BROKER_HEARTBEAT_MIN_VERSION, BROKER_HEARTBEAT_MAX_VERSION,
	 BROKER_HEARTBEAT_FLEXIBLE_VERSION, api_broker_heartbeat_handle, api_quorum_available, true},
	{ALLOCATE_PRODUCER_IDS_API_KEY, "AllocateProducerIds", ALLOCATE_PRODUCER_IDS_MIN_VERSION,
	 ALLOCATE_PRODUCER_IDS_MAX_VERSION, ALLOCATE_PRODUCER_IDS_FLEXIBLE_VERSION, api_allocate_producer_ids_handle,
	 api_quorum_available, true},
};
const int api_table_len = (int)(sizeof api_table / sizeof api_table[0]);

const struct api_entry *api_lookup(int16_t api_key)
{
	for (int i = 0; i < api_table_len; i++)
		if (api_table[i].api_key == api_key)
			return &api_table[i];
	return NULL;
}

const struct api_entry *api_lookup_for(const struct broker *b, int16_t api_key)
{
	const struct api_entry *e = api_lookup(api_key);
	if (e != NULL && e->available != NULL && !e->available(b))
		return NULL;
	return e;
}

static bool api_is_flexible(const struct api_entry *e, int16_t version)
{
	return version >= e->flexible_from;
}

/* Sends header + body. ApiVersions always answers with response header v0
 * (KIP-511: a client that does not know our versions must parse it). */
static void api_send(struct net_request *nreq, int16_t api_key, bool flexible, int32_t correlation_id,
		     struct kwriter *body)
{
	struct kwriter h;
	size_t len;
	uint8_t hdr[NET_RESPONSE_HEADER_MAX];
	kw_init(&h, 8);
	response_header_encode(&h, (flexible && api_key != API_KEY_API_VERSIONS) ? 1 : 0, correlation_id);
	if (!kw_ok(&h) || h.len > sizeof hdr) {
		kw_free(&h);
		kw_free(body);
		net_request_close(nreq);
		return;
	}
	size_t hlen = h.len;
	memcpy(hdr, h.buf, hlen);
	kw_free(&h);
	/* The body goes out as built, behind the header: no copy. */
	uint8_t *buf = kw_steal(body, &len);
	net_request_respond_with_header(nreq, hdr, hlen, buf, len);
}

void api_respond(struct api_request *req, struct kwriter *body)
{
	if (!kw_ok(body)) {
		tlog(TLOG_ERROR, "api", "peer=%s api=%d corr=%d: out of memory building the response",
		     net_request_peer(req->net), req->hdr.api_key, req->hdr.correlation_id);
		kw_free(body);
		net_request_close(req->net);
	} else {
		api_send(req->net, req->hdr.api_key, req->flexible, req->hdr.correlation_id, body);
	}
	free(req);
}

void api_respond_none(struct api_request *req)
{
	net_request_respond(req->net, NULL, 0);
	free(req);
}

void api_close(struct api_request *req)
{
	tlog(TLOG_WARN, "api", "peer=%s api=%d v%d corr=%d: malformed request body, closing the connection",
	     net_request_peer(req->net), req->hdr.api_key, req->hdr.api_version, req->hdr.correlation_id);
	net_request_close(req->net);
	free(req);
}

/* Kafka's answer to an ApiVersions request of a version it does not know:
 * an ApiVersions v0 body with UNSUPPORTED_VERSION and the supported list, so
 * the client can retry with a version we speak. */
static void api_versions_unsupported(const struct broker *b, struct net_request *nreq, int32_t correlation_id)
{
	struct kwriter w;
	kw_init(&w, 256);
	api_versions_encode_table(b, &w, 0, KERR_UNSUPPORTED_VERSION);
	api_send(nreq, API_KEY_API_VERSIONS, false, correlation_id, &w);
}

void api_dispatch(struct net_request *nreq, const uint8_t *frame, size_t len, void *arg)
{
	struct broker *b = arg;
	int16_t key, version;
	if (request_header_peek(frame, len, &key, &version) != 0) {
		net_request_close(nreq);
		return;
	}
	const struct api_entry *e = api_lookup_for(b, key);
	if (!e) {
		/* Kafka cannot parse a request of an unknown API and closes. */
		tlog(TLOG_WARN, "api", "peer=%s: unknown api key %d, closing", net_request_peer(nreq), key);
		net_request_close(nreq);
		return;
	}
	bool flexible = api_is_flexible(e, version);
	struct kreader r;
	kr_init(&r, frame, len);
	if (version < e->min_version || version > e->max_version) {
		if (key == API_KEY_API_VERSIONS) {
			struct request_header h;
			/* Header v1 is a prefix of v2: enough for the correlation id. */
			if (request_header_decode(&r, 1, &h) != 0) {
				net_request_close(nreq);
				return;
			}
			api_versions_unsupported(b, nreq, h.correlation_id);
			return;
		}
		tlog(TLOG_WARN, "api", "peer=%s api=%sv%d: unsupported version, closing", net_request_peer(nreq),
		     e->name, version);
		net_request_close(nreq);
		return;
	}
	struct api_request *req = calloc(1, sizeof *req);
	if (!req) {
		net_request_close(nreq);
		return;
	}
	req->broker = b;
	req->net = nreq;
	req->flexible = flexible;
	req->received_ms = broker_mono_ms();
	req->frame = frame;
	req->frame_len = len;
	if (request_header_decode(&r, flexible ? 2 : 1, &req->hdr) != 0) {
		api_close(req);
		return;
	}
	req->body = r;
	tlog(TLOG_DEBUG, "api", "peer=%s api=%sv%d corr=%d", net_request_peer(nreq), e->name, version,
	     req->hdr.correlation_id);
	e->handler(req);
}
