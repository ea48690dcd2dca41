#include "broker/lifecycle.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "broker/broker_internal.h"
#include "broker/controller_channel.h"
#include "broker/controller_host.h"
#include "broker/logger.h"
#include "broker/metadata.h"
#include "broker/protocol/broker_heartbeat.h"
#include "broker/protocol/broker_registration.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/header.h"
#include "raft/controller.h"

#define LIFECYCLE_LOG "lifecycle"
/* Retry delay after a failed or impossible attempt (no controller yet). */
#define LIFECYCLE_RETRY_MS 50
#define LIFECYCLE_REGISTRATION_VERSION 0
#define LIFECYCLE_HEARTBEAT_VERSION 0
#define LIFECYCLE_CLIENT_ID "tern-broker-lifecycle"

struct lifecycle {
	struct broker *b; /* borrowed */
	uint8_t incarnation_id[16];
	int64_t epoch; /* -1: not registered */
	bool fenced;
	bool caught_up;
	bool inflight;   /* one request at a time */
	struct event *timer;
	int16_t last_error; /* to log changes only */
	/* In-process replies, kept until their proposal commits. */
	struct controller_registration_reply reg_reply;
	struct controller_heartbeat_reply hb_reply;
};

static void lifecycle_schedule(struct lifecycle *l, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(l->timer, &tv);
}

static void lifecycle_log_error(struct lifecycle *l, const char *what, int16_t err)
{
	if (err == l->last_error)
		return;
	l->last_error = err;
	if (err == KERR_DUPLICATE_BROKER_REGISTRATION)
		tlog(TLOG_ERROR, LIFECYCLE_LOG,
		     "node.id=%d: another running broker is registered with this node id; retrying", (int)l->b->cfg->node_id);
	else if (err != KERR_NONE)
		tlog(TLOG_WARN, LIFECYCLE_LOG, "%s: error %d", what, (int)err);
}

/* ---- outcomes (both paths) ---- */

static void lifecycle_registered(struct lifecycle *l, int16_t err, int64_t epoch)
{
	l->inflight = false;
	lifecycle_log_error(l, "registration", err);
	if (err != KERR_NONE) {
		lifecycle_schedule(l, LIFECYCLE_RETRY_MS);
		return;
	}
	l->epoch = epoch;
	l->fenced = true;
	tlog(TLOG_INFO, LIFECYCLE_LOG, "node %d registered with broker epoch %" PRId64, (int)l->b->cfg->node_id, epoch);
	lifecycle_schedule(l, 0); /* the first heartbeat asks to be unfenced */
}

static void lifecycle_heartbeat_done(struct lifecycle *l, int16_t err, bool fenced, bool caught_up)
{
	l->inflight = false;
	lifecycle_log_error(l, "heartbeat", err);
	if (err == KERR_STALE_BROKER_EPOCH || err == KERR_BROKER_ID_NOT_REGISTERED) {
		tlog(TLOG_INFO, LIFECYCLE_LOG, "controller does not know epoch %" PRId64 ": registering again", l->epoch);
		l->epoch = -1;
		lifecycle_schedule(l, 0);
		return;
	}
	if (err != KERR_NONE) {
		lifecycle_schedule(l, LIFECYCLE_RETRY_MS);
		return;
	}
	if (fenced != l->fenced)
		tlog(TLOG_INFO, LIFECYCLE_LOG, "node %d is %s", (int)l->b->cfg->node_id, fenced ? "fenced" : "unfenced");
	l->fenced = fenced;
	if (caught_up && !l->caught_up) {
		l->caught_up = true;
		metadata_notify_image(l->b->metadata); /* the publisher may start */
	}
	/* A fenced broker asks again soon: it is waiting to catch up. */
	lifecycle_schedule(l, fenced ? LIFECYCLE_RETRY_MS : l->b->cfg->broker_heartbeat_interval_ms);
}

/* ---- in-process (this node is the controller) ---- */

static void lifecycle_local_reg_cb(void *arg, int16_t err)
{
	struct lifecycle *l = arg;
	lifecycle_registered(l, err != KERR_NONE ? err : l->reg_reply.error_code, l->reg_reply.broker_epoch);
}

static void lifecycle_local_hb_cb(void *arg, int16_t err)
{
	struct lifecycle *l = arg;
	lifecycle_heartbeat_done(l, err != KERR_NONE ? err : l->hb_reply.error_code, l->hb_reply.is_fenced,
				 err == KERR_NONE && l->hb_reply.is_caught_up);
}

static int64_t lifecycle_applied(struct lifecycle *l)
{
	struct quorum_status st;
	metadata_quorum_status(l->b->metadata, &st);
	return (int64_t)st.last_applied;
}

/* A node beyond the voters also registers its controller listener, where
 * the quorum reaches it as a standby (KRaft observers fetch from the leader
 * instead; raft pushes to its members). Returns 1 when `ep` was filled. */
static int lifecycle_controller_endpoint(struct lifecycle *l, struct metadata_endpoint *ep, char *host, size_t hostlen)
{
	const struct broker_config *cfg = l->b->cfg;
	for (int i = 0; i < cfg->voter_count; i++)
		if (cfg->voter_list[i].id == cfg->node_id)
			return 0;
	if (cfg->controller_port <= 0 || cfg->controller_host == NULL)
		return 0;
	const char *name = "CONTROLLER";
	for (int i = 0; i < cfg->listener_count; i++)
		if (cfg->listener_list[i].controller) {
			name = cfg->listener_list[i].name;
			break;
		}
	snprintf(host, hostlen, "%s", strcmp(cfg->controller_host, "0.0.0.0") == 0 ? "127.0.0.1" : cfg->controller_host);
	ep->name = name;
	ep->host = host;
	ep->port = (uint16_t)cfg->controller_port;
	ep->security_protocol = 0;
	return 1;
}

/* This broker's endpoint: its broker listener as advertised. */
static void lifecycle_endpoint(struct lifecycle *l, struct metadata_endpoint *ep)
{
	const struct broker_config *cfg = l->b->cfg;
	const char *name = "PLAINTEXT";
	for (int i = 0; i < cfg->listener_count; i++)
		if (!cfg->listener_list[i].controller) {
			name = cfg->listener_list[i].name;
			break;
		}
	ep->name = name;
	ep->host = l->b->advertised_host;
	ep->port = (uint16_t)l->b->advertised_port;
	ep->security_protocol = 0;
}

static void lifecycle_local(struct lifecycle *l, struct controller *ctl)
{
	struct controller_proposal *p = NULL;
	int64_t now = controller_host_now_ms();
	l->inflight = true;
	if (l->epoch < 0) {
		struct metadata_endpoint ep[2];
		char host[256];
		lifecycle_endpoint(l, &ep[0]);
		size_t n = 1 + (size_t)lifecycle_controller_endpoint(l, &ep[1], host, sizeof host);
		struct controller_registration reg = {
			.broker_id = l->b->cfg->node_id,
			.endpoints = ep,
			.n_endpoints = n,
			.rack = l->b->cfg->broker_rack,
		};
		memcpy(reg.incarnation_id, l->incarnation_id, 16);
		if (controller_register_broker(ctl, &reg, now, &l->reg_reply, &p) != 0 ||
		    controller_host_commit(l->b->controller, p, lifecycle_local_reg_cb, l) != 0) {
			l->inflight = false;
			lifecycle_schedule(l, LIFECYCLE_RETRY_MS);
		}
		return;
	}
	struct controller_heartbeat hb = {
		.broker_id = l->b->cfg->node_id,
		.broker_epoch = l->epoch,
		.current_metadata_offset = lifecycle_applied(l),
	};
	if (controller_heartbeat(ctl, &hb, now, &l->hb_reply, &p) != 0 ||
	    controller_host_commit(l->b->controller, p, lifecycle_local_hb_cb, l) != 0) {
		l->inflight = false;
		lifecycle_schedule(l, LIFECYCLE_RETRY_MS);
	}
}

/* ---- remote ---- */

static void lifecycle_remote_cb(void *arg, int status, const uint8_t *resp, size_t len)
{
	struct lifecycle *l = arg;
	bool registering = l->epoch < 0;
	if (status != 0) {
		if (registering)
			lifecycle_registered(l, KERR_NETWORK_EXCEPTION, -1);
		else
			lifecycle_heartbeat_done(l, KERR_NETWORK_EXCEPTION, l->fenced, false);
		return;
	}
	struct kreader r;
	int32_t corr;
	kr_init(&r, resp, len);
	if (response_header_decode(&r, 1, &corr) != 0)
		goto bad;
	if (registering) {
		struct broker_registration_response out;
		if (broker_registration_response_decode(&r, LIFECYCLE_REGISTRATION_VERSION, &out) != 0)
			goto bad;
		lifecycle_registered(l, out.error_code, out.broker_epoch);
		broker_registration_response_free(&out);
	} else {
		struct broker_heartbeat_response out;
		if (broker_heartbeat_response_decode(&r, LIFECYCLE_HEARTBEAT_VERSION, &out) != 0)
			goto bad;
		lifecycle_heartbeat_done(l, out.error_code, out.is_fenced, out.is_caught_up);
		broker_heartbeat_response_free(&out);
	}
	return;
bad:
	tlog(TLOG_WARN, LIFECYCLE_LOG, "unreadable %s response from the controller",
	     registering ? "BrokerRegistration" : "BrokerHeartbeat");
	if (registering)
		lifecycle_registered(l, KERR_CORRUPT_MESSAGE, -1);
	else
		lifecycle_heartbeat_done(l, KERR_CORRUPT_MESSAGE, l->fenced, false);
}

static void lifecycle_remote(struct lifecycle *l)
{
	struct kwriter w;
	kw_init(&w, 256);
	struct request_header h = {
		.api_key = l->epoch < 0 ? BROKER_REGISTRATION_API_KEY : BROKER_HEARTBEAT_API_KEY,
		.api_version = l->epoch < 0 ? LIFECYCLE_REGISTRATION_VERSION : LIFECYCLE_HEARTBEAT_VERSION,
		.correlation_id = 0, /* the channel sets its own */
		.client_id = {LIFECYCLE_CLIENT_ID, (int32_t)strlen(LIFECYCLE_CLIENT_ID)},
	};
	request_header_encode(&w, 2, &h);
	if (l->epoch < 0) {
		struct metadata_endpoint ep[2];
		char host[256];
		lifecycle_endpoint(l, &ep[0]);
		int n = 1 + lifecycle_controller_endpoint(l, &ep[1], host, sizeof host);
		struct broker_registration_listener lst[2];
		for (int i = 0; i < n; i++)
			lst[i] = (struct broker_registration_listener){
				.name = {ep[i].name, (int32_t)strlen(ep[i].name)},
				.host = {ep[i].host, (int32_t)strlen(ep[i].host)},
				.port = ep[i].port,
				.security_protocol = 0,
			};
		const char *rack = l->b->cfg->broker_rack;
		struct broker_registration_request req = {
			.broker_id = l->b->cfg->node_id,
			.cluster_id = {l->b->topics.cluster_id, (int32_t)strlen(l->b->topics.cluster_id)},
			.listeners = lst,
			.listeners_count = n,
			.rack = {rack, rack != NULL ? (int32_t)strlen(rack) : -1},
			.previous_broker_epoch = -1,
		};
		memcpy(req.incarnation_id, l->incarnation_id, 16);
		broker_registration_request_encode(&w, LIFECYCLE_REGISTRATION_VERSION, &req);
	} else {
		struct broker_heartbeat_request req = {
			.broker_id = l->b->cfg->node_id,
			.broker_epoch = l->epoch,
			.current_metadata_offset = lifecycle_applied(l),
		};
		broker_heartbeat_request_encode(&w, LIFECYCLE_HEARTBEAT_VERSION, &req);
	}
	l->inflight = true;
	if (!kw_ok(&w) || controller_channel_send(l->b->channel, w.buf, w.len, lifecycle_remote_cb, l) != 0) {
		l->inflight = false;
		lifecycle_schedule(l, LIFECYCLE_RETRY_MS);
	}
	kw_free(&w);
}

static void lifecycle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct lifecycle *l = arg;
	if (l->inflight)
		return; /* its completion schedules the next */
	int32_t leader;
	switch (controller_channel_target(l->b->channel, &leader)) {
	case CONTROLLER_CHANNEL_LOCAL: {
		struct controller *ctl = controller_host_active(l->b->controller);
		if (ctl == NULL) {
			lifecycle_schedule(l, LIFECYCLE_RETRY_MS); /* activating: the host pokes us */
			return;
		}
		lifecycle_local(l, ctl);
		return;
	}
	case CONTROLLER_CHANNEL_REMOTE:
		lifecycle_remote(l);
		return;
	default:
		lifecycle_schedule(l, LIFECYCLE_RETRY_MS);
		return;
	}
}

struct lifecycle *lifecycle_new(struct broker *b)
{
	struct lifecycle *l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->b = b;
	l->epoch = -1;
	l->fenced = true;
	if (getrandom(l->incarnation_id, 16, 0) != 16)
		for (int i = 0; i < 16; i++)
			l->incarnation_id[i] = (uint8_t)rand();
	l->timer = event_new(b->base, -1, 0, lifecycle_timer_cb, l);
	if (l->timer == NULL) {
		free(l);
		return NULL;
	}
	lifecycle_schedule(l, 0);
	return l;
}

void lifecycle_free(struct lifecycle *l)
{
	if (l == NULL)
		return;
	event_free(l->timer);
	free(l);
}

void lifecycle_poke(struct lifecycle *l)
{
	if (l != NULL && !l->inflight)
		lifecycle_schedule(l, 0);
}

int64_t lifecycle_broker_epoch(const struct lifecycle *l)
{
	return l != NULL ? l->epoch : -1;
}

bool lifecycle_caught_up(const struct lifecycle *l)
{
	return l != NULL && l->caught_up;
}
