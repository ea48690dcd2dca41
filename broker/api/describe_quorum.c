/* DescribeQuorum (API 55): this member's view of the metadata quorum.
 *
 * Served only while the broker runs a quorum (controller.quorum.voters set);
 * otherwise the key is not advertised and a request for it closes the
 * connection like any unknown key.
 *
 * The only KRaft partition is __cluster_metadata-0. Its answer maps raft onto
 * Kafka's words: leader_id / leader_epoch = the known leader and the current
 * term, high_watermark = the commit index, a replica's log_end_offset = the
 * last raft index known to be in its log. Any member answers, from what it
 * knows: the leader knows every member's match index; a follower knows only
 * its own log end (the others are -1). Timestamps: the leader's own are the
 * time of the answer; a member the leader heard from within the election
 * timeout and whose log matches the leader's gets the time of the answer as
 * well; everything else is -1 (unknown). Voters are current_voters, standbys
 * are observers.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/metadata.h"
#include "broker/protocol/describe_quorum.h"
#include "broker/protocol/errors.h"

#define DESCRIBE_QUORUM_TOPIC "__cluster_metadata"

bool api_describe_quorum_available(const struct broker *b)
{
	return b != NULL && b->metadata != NULL;
}

/* Fills one replica's row from the published state `st`. */
static void api_describe_quorum_replica(const struct quorum_status *st, const struct quorum_member *mem,
					int64_t now_ms, struct describe_quorum_replica_state *out)
{
	out->replica_id = mem->node_id;
	out->log_end_offset = -1;
	out->last_fetch_timestamp = -1;
	out->last_caught_up_timestamp = -1;
	if (st->is_leader_view) {
		out->log_end_offset = (int64_t)mem->match_index;
		if (mem->node_id == st->node_id || (mem->recent_contact && mem->match_index >= st->last_index)) {
			out->last_fetch_timestamp = now_ms;
			out->last_caught_up_timestamp = now_ms;
		}
	} else if (mem->node_id == st->node_id) {
		out->log_end_offset = (int64_t)st->last_index;
	}
}

/* The partition's result from the quorum's state. Allocates the replica
 * arrays (owned by *out). Returns 0 or -1 when out of memory. */
static int api_describe_quorum_fill(struct broker *b, struct describe_quorum_partition_result *out)
{
	struct quorum_status st;
	metadata_quorum_status(b->metadata, &st);
	memset(out, 0, sizeof *out);
	out->partition_index = 0;
	out->error_code = KERR_NONE;
	out->leader_id = st.leader_id;
	out->leader_epoch = (int32_t)st.term;
	out->high_watermark = (int64_t)st.commit_index;
	if (st.n_members > 0) {
		out->current_voters = calloc(st.n_members, sizeof *out->current_voters);
		out->observers = calloc(st.n_members, sizeof *out->observers);
		if (out->current_voters == NULL || out->observers == NULL) {
			free(out->current_voters);
			free(out->observers);
			return -1;
		}
	}
	int64_t now = broker_now_ms();
	for (size_t i = 0; i < st.n_members; i++) {
		const struct quorum_member *mem = &st.members[i];
		if (mem->membership == QUORUM_VOTER)
			api_describe_quorum_replica(&st, mem, now, &out->current_voters[out->current_voters_count++]);
		else if (mem->membership == QUORUM_STANDBY)
			api_describe_quorum_replica(&st, mem, now, &out->observers[out->observers_count++]);
	}
	return 0;
}

void api_describe_quorum_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct describe_quorum_request in;
	if (describe_quorum_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	struct describe_quorum_response out = {0};
	struct describe_quorum_partition_result quorum = {0};
	bool have_quorum = false;
	struct kwriter w;
	kw_init(&w, 256);

	if (in.topics_count > 0) {
		out.topics = calloc((size_t)in.topics_count, sizeof *out.topics);
		if (out.topics == NULL)
			w.err = -1;
	}
	for (int32_t t = 0; kw_ok(&w) && t < in.topics_count; t++) {
		const struct describe_quorum_topic *rt = &in.topics[t];
		struct describe_quorum_topic_result *ot = &out.topics[out.topics_count++];
		ot->topic_name = rt->topic_name;
		if (rt->partitions_count == 0)
			continue;
		ot->partitions = calloc((size_t)rt->partitions_count, sizeof *ot->partitions);
		if (ot->partitions == NULL) {
			w.err = -1;
			break;
		}
		bool ours = kstr_eq(rt->topic_name, DESCRIBE_QUORUM_TOPIC);
		for (int32_t p = 0; p < rt->partitions_count; p++) {
			struct describe_quorum_partition_result *op = &ot->partitions[ot->partitions_count++];
			int32_t index = rt->partitions[p].partition_index;
			if (!ours || index != 0) {
				op->partition_index = index;
				op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				op->leader_id = -1;
				op->leader_epoch = -1;
				op->high_watermark = -1;
				continue;
			}
			if (!have_quorum) {
				if (api_describe_quorum_fill(req->broker, &quorum) != 0) {
					w.err = -1;
					break;
				}
				have_quorum = true;
			}
			*op = quorum; /* shares the replica arrays, freed once below */
		}
	}
	if (kw_ok(&w))
		describe_quorum_response_encode(&w, v, &out);

	for (int32_t t = 0; t < out.topics_count; t++)
		free(out.topics[t].partitions);
	free(out.topics);
	free(quorum.current_voters);
	free(quorum.observers);
	describe_quorum_request_free(&in);
	api_respond(req, &w);
}
