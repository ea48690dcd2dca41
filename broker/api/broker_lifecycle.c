/* BrokerRegistration (62) and BrokerHeartbeat (63): other brokers talking to
 * this node's active controller (broker/lifecycle.c is the sending side).
 *
 * Served only with a quorum, and never listed in ApiVersions (internal).
 * A node that is not the active controller forwards them (a standby-to-be
 * registers that way), or answers NOT_CONTROLLER; the sender looks for the
 * leader again. A reply that depends on a proposal is
 * sent once the proposal committed, or NOT_CONTROLLER if it did not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/controller_host.h"
#include "broker/protocol/alter_partition.h"
#include "broker/protocol/broker_heartbeat.h"
#include "broker/protocol/broker_registration.h"
#include "broker/protocol/errors.h"
#include "raft/controller.h"

bool api_quorum_available(const struct broker *b)
{
	return b != NULL && b->metadata != NULL;
}

/* A request waiting for its proposal (owned until the reply is sent). */
struct lifecycle_call {
	struct api_request *req;
	struct controller_registration_reply reg;
	struct controller_heartbeat_reply hb;
	int32_t broker_id;
};

static void api_registration_reply(struct api_request *req, int16_t error, int64_t epoch)
{
	struct broker_registration_response resp = {
		.error_code = error,
		.broker_epoch = error == KERR_NONE ? epoch : -1,
	};
	struct kwriter w;
	kw_init(&w, 32);
	broker_registration_response_encode(&w, req->hdr.api_version, &resp);
	api_respond(req, &w);
}

static void api_heartbeat_reply(struct api_request *req, int16_t error, const struct controller_heartbeat_reply *r)
{
	struct broker_heartbeat_response resp = {
		.error_code = error,
		.is_caught_up = error == KERR_NONE && r->is_caught_up,
		.is_fenced = error != KERR_NONE || r->is_fenced,
		.should_shut_down = error == KERR_NONE && r->should_shut_down,
	};
	struct kwriter w;
	kw_init(&w, 32);
	broker_heartbeat_response_encode(&w, req->hdr.api_version, &resp);
	api_respond(req, &w);
}

static void api_registration_done(void *arg, int16_t error)
{
	struct lifecycle_call *c = arg;
	api_registration_reply(c->req, error != KERR_NONE ? error : c->reg.error_code, c->reg.broker_epoch);
	free(c);
}

static void api_heartbeat_done(void *arg, int16_t error)
{
	struct lifecycle_call *c = arg;
	if (error == KERR_NONE && c->hb.error_code == KERR_NONE)
		controller_host_ensure_member(c->req->broker->controller, c->broker_id);
	api_heartbeat_reply(c->req, error != KERR_NONE ? error : c->hb.error_code, &c->hb);
	free(c);
}

static void api_registration_not_controller(struct api_request *req)
{
	api_registration_reply(req, KERR_NOT_CONTROLLER, -1);
}

static void api_heartbeat_not_controller(struct api_request *req)
{
	struct controller_heartbeat_reply none = {0};
	api_heartbeat_reply(req, KERR_NOT_CONTROLLER, &none);
}

void api_broker_registration_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	/* A node beyond the voters registers through any broker until the
	 * quorum took it in (broker/controller_channel.c). */
	if (controller_host_active(b->controller) == NULL && api_forward(req, api_registration_not_controller))
		return;
	struct broker_registration_request in;
	if (broker_registration_request_decode(&req->body, req->hdr.api_version, &in) != 0) {
		api_close(req);
		return;
	}
	struct controller *ctl = controller_host_active(b->controller);
	struct lifecycle_call *c = calloc(1, sizeof *c);
	/* The controller copies what it keeps; these views die with the request. */
	size_t n = in.listeners_count > 0 ? (size_t)in.listeners_count : 0;
	struct metadata_endpoint *eps = calloc(n + 1, sizeof *eps);
	char(*strs)[2][256] = calloc(n + 1, sizeof *strs);
	char rack[256];
	if (ctl == NULL || c == NULL || eps == NULL || strs == NULL) {
		api_registration_reply(req, ctl == NULL ? KERR_NOT_CONTROLLER : KERR_UNKNOWN_SERVER_ERROR, -1);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct broker_registration_listener *l = &in.listeners[i];
		snprintf(strs[i][0], sizeof strs[i][0], "%.*s", (int)(l->name.len > 0 ? l->name.len : 0), l->name.p);
		snprintf(strs[i][1], sizeof strs[i][1], "%.*s", (int)(l->host.len > 0 ? l->host.len : 0), l->host.p);
		eps[i] = (struct metadata_endpoint){strs[i][0], strs[i][1], l->port, l->security_protocol};
	}
	if (in.rack.len >= 0)
		snprintf(rack, sizeof rack, "%.*s", (int)in.rack.len, in.rack.p);
	struct controller_registration reg = {
		.broker_id = in.broker_id,
		.endpoints = eps,
		.n_endpoints = n,
		.rack = in.rack.len >= 0 ? rack : NULL,
	};
	memcpy(reg.incarnation_id, in.incarnation_id, 16);
	struct controller_proposal *p = NULL;
	c->req = req;
	if (controller_register_broker(ctl, &reg, controller_host_now_ms(), &c->reg, &p) != 0) {
		api_registration_reply(req, KERR_UNKNOWN_SERVER_ERROR, -1);
		goto out;
	}
	if (controller_host_commit(b->controller, p, api_registration_done, c) != 0) {
		api_registration_reply(req, KERR_NOT_CONTROLLER, -1);
		goto out;
	}
	c = NULL; /* the commit's callback owns it */
out:
	free(c);
	free(eps);
	free(strs);
	broker_registration_request_free(&in);
}

void api_broker_heartbeat_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	if (controller_host_active(b->controller) == NULL && api_forward(req, api_heartbeat_not_controller))
		return;
	struct broker_heartbeat_request in;
	if (broker_heartbeat_request_decode(&req->body, req->hdr.api_version, &in) != 0) {
		api_close(req);
		return;
	}
	struct controller_heartbeat hb = {
		.broker_id = in.broker_id,
		.broker_epoch = in.broker_epoch,
		.current_metadata_offset = in.current_metadata_offset,
		.want_fence = in.want_fence,
		.want_shut_down = in.want_shut_down,
	};
	broker_heartbeat_request_free(&in);
	struct controller *ctl = controller_host_active(b->controller);
	struct lifecycle_call *c = calloc(1, sizeof *c);
	struct controller_heartbeat_reply none = {0};
	if (ctl == NULL || c == NULL) {
		api_heartbeat_reply(req, ctl == NULL ? KERR_NOT_CONTROLLER : KERR_UNKNOWN_SERVER_ERROR, &none);
		free(c);
		return;
	}
	struct controller_proposal *p = NULL;
	c->req = req;
	c->broker_id = hb.broker_id;
	if (controller_heartbeat(ctl, &hb, controller_host_now_ms(), &c->hb, &p) != 0) {
		api_heartbeat_reply(req, KERR_UNKNOWN_SERVER_ERROR, &none);
		free(c);
		return;
	}
	if (controller_host_commit(b->controller, p, api_heartbeat_done, c) != 0) {
		api_heartbeat_reply(req, KERR_NOT_CONTROLLER, &none);
		free(c);
	}
}

/* ---- AlterPartition (56): a leader's ISR change ---------------------------- */

struct alter_call {
	struct api_request *req;
	struct alter_partition_request in;
	struct controller_isr_change *changes; /* [n], in request order */
	size_t n;
	int16_t top_error;
};

static void api_alter_partition_reply(struct alter_call *c, int16_t error)
{
	struct api_request *req = c->req;
	struct alter_partition_response resp = {.error_code = error != KERR_NONE ? error : c->top_error};
	resp.topics = calloc((size_t)c->in.topics_count + 1, sizeof *resp.topics);
	struct alter_partition_partition_result *parts = calloc(c->n + 1, sizeof *parts);
	if (resp.topics == NULL || parts == NULL) {
		free(resp.topics);
		free(parts);
		free(c->changes);
		alter_partition_request_free(&c->in);
		free(c);
		api_close(req);
		return;
	}
	resp.topics_count = c->in.topics_count;
	size_t k = 0;
	for (int32_t i = 0; i < c->in.topics_count; i++) {
		const struct alter_partition_topic *t = &c->in.topics[i];
		struct alter_partition_topic_result *tr = &resp.topics[i];
		tr->topic_name = t->topic_name;
		memcpy(tr->topic_id, t->topic_id, 16);
		tr->partitions = &parts[k];
		tr->partitions_count = t->partitions_count;
		for (int32_t j = 0; j < t->partitions_count; j++, k++) {
			const struct controller_isr_change *ch = &c->changes[k];
			struct alter_partition_partition_result *pr = &parts[k];
			pr->partition_index = ch->partition_id;
			pr->error_code = resp.error_code != KERR_NONE ? resp.error_code : ch->error_code;
			pr->leader_id = ch->leader_id;
			pr->leader_epoch = ch->leader_epoch_out;
			pr->isr = (int32_t *)ch->new_isr;
			pr->isr_count = (int32_t)ch->n_new_isr;
			pr->partition_epoch = ch->partition_epoch_out;
		}
	}
	struct kwriter w;
	kw_init(&w, 128);
	alter_partition_response_encode(&w, req->hdr.api_version, &resp);
	free(resp.topics);
	free(parts);
	free(c->changes);
	alter_partition_request_free(&c->in);
	free(c);
	api_respond(req, &w);
}

static void api_alter_partition_done(void *arg, int16_t error)
{
	api_alter_partition_reply(arg, error);
}

static void api_alter_partition_not_controller(struct api_request *req)
{
	struct alter_call *c = calloc(1, sizeof *c);
	if (c == NULL || alter_partition_request_decode(&req->body, req->hdr.api_version, &c->in) != 0) {
		free(c);
		api_close(req);
		return;
	}
	c->req = req;
	size_t n = 0;
	for (int32_t i = 0; i < c->in.topics_count; i++)
		n += (size_t)c->in.topics[i].partitions_count;
	c->changes = calloc(n + 1, sizeof *c->changes);
	c->n = c->changes != NULL ? n : 0;
	api_alter_partition_reply(c, KERR_NOT_CONTROLLER);
}

void api_alter_partition_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl == NULL) {
		if (!api_forward(req, api_alter_partition_not_controller))
			api_alter_partition_not_controller(req);
		return;
	}
	struct alter_call *c = calloc(1, sizeof *c);
	if (c == NULL || alter_partition_request_decode(&req->body, req->hdr.api_version, &c->in) != 0) {
		free(c);
		api_close(req);
		return;
	}
	c->req = req;
	size_t n = 0;
	for (int32_t i = 0; i < c->in.topics_count; i++)
		n += (size_t)c->in.topics[i].partitions_count;
	c->changes = calloc(n + 1, sizeof *c->changes);
	if (c->changes == NULL) {
		api_alter_partition_reply(c, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	c->n = n;
	size_t k = 0;
	for (int32_t i = 0; i < c->in.topics_count; i++) {
		const struct alter_partition_topic *t = &c->in.topics[i];
		for (int32_t j = 0; j < t->partitions_count; j++, k++) {
			const struct alter_partition_partition *pp = &t->partitions[j];
			struct controller_isr_change *ch = &c->changes[k];
			memcpy(ch->topic_id, t->topic_id, 16);
			ch->partition_id = pp->partition_index;
			ch->leader_epoch = pp->leader_epoch;
			ch->partition_epoch = pp->partition_epoch;
			ch->new_isr = pp->new_isr;
			ch->n_new_isr = pp->new_isr_count > 0 ? (size_t)pp->new_isr_count : 0;
		}
	}
	struct controller_proposal *p = NULL;
	if (controller_alter_partition(ctl, c->in.broker_id, c->in.broker_epoch, c->changes, n, controller_host_now_ms(),
				       &c->top_error, &p) != 0) {
		api_alter_partition_reply(c, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	if (controller_host_commit(b->controller, p, api_alter_partition_done, c) != 0)
		api_alter_partition_reply(c, KERR_NOT_CONTROLLER);
}
