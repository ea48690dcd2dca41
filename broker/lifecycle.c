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
	/* Controlled shutdown: heartbeats carry want_shut_down until the
	 * controller answers should_shut_down or the bound passes. */
	bool shutting_down;
	bool stopped; /* the shutdown completed: no more requests */
	int64_t shutdown_started_ms;
	int64_t leaderless_since_ms; /* while shutting down: 0, or since when
	                              * the quorum has known no leader */
	struct event *shutdown_timer; /* the bound */
	lifecycle_shutdown_cb shutdown_cb;
	void *shutdown_arg;
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

/* Ends the controlled shutdown once: no more registrations or heartbeats
 * (KRaft's beginShutdown), then the owner's callback. */
static void lifecycle_shutdown_finish(struct lifecycle *l, bool granted, const char *why)
{
	if (!l->shutting_down || l->stopped)
		return;
	l->stopped = true;
	event_del(l->timer);
	event_del(l->shutdown_timer);
	int64_t took = broker_mono_ms() - l->shutdown_started_ms;
	if (granted)
		tlog(TLOG_INFO, LIFECYCLE_LOG, "node %d: controlled shutdown done after %" PRId64 " ms: %s",
		     (int)l->b->cfg->node_id, took, why);
	else
		tlog(TLOG_WARN, LIFECYCLE_LOG, "node %d: controlled shutdown not granted after %" PRId64 " ms (%s): "
		     "stopping anyway", (int)l->b->cfg->node_id, took, why);
	l->shutdown_cb(l->shutdown_arg, granted);
}

/* ---- outcomes (both paths) ---- */

static void lifecycle_registered(struct lifecycle *l, int16_t err, int64_t epoch)
{
	l->inflight = false;
	if (l->stopped)
		return;
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

static void lifecycle_heartbeat_done(struct lifecycle *l, int16_t err, bool fenced, bool caught_up,
				     bool should_shut_down)
{
	l->inflight = false;
	if (l->stopped)
		return;
	lifecycle_log_error(l, "heartbeat", err);
	if (l->shutting_down && err == KERR_NONE && should_shut_down) {
		l->fenced = fenced;
		lifecycle_shutdown_finish(l, true, "granted by the controller");
		return;
	}
	if (l->shutting_down && (err == KERR_STALE_BROKER_EPOCH || err == KERR_BROKER_ID_NOT_REGISTERED)) {
		/* This incarnation is not registered: it leads nothing. */
		lifecycle_shutdown_finish(l, true, "the controller does not know this incarnation");
		return;
	}
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
	/* A fenced broker asks again soon: it is waiting to catch up, or for
	 * the controller to let it shut down (KRaft's lifecycle manager also
	 * polls faster then). */
	lifecycle_schedule(l, fenced || l->shutting_down ? LIFECYCLE_RETRY_MS : l->b->cfg->broker_heartbeat_interval_ms);
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
				 err == KERR_NONE && l->hb_reply.is_caught_up,
				 err == KERR_NONE && l->hb_reply.should_shut_down);
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
		.want_shut_down = l->shutting_down,
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
			lifecycle_heartbeat_done(l, KERR_NETWORK_EXCEPTION, l->fenced, false, false);
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
		lifecycle_heartbeat_done(l, out.error_code, out.is_fenced, out.is_caught_up, out.should_shut_down);
		broker_heartbeat_response_free(&out);
	}
	return;
bad:
	tlog(TLOG_WARN, LIFECYCLE_LOG, "unreadable %s response from the controller",
	     registering ? "BrokerRegistration" : "BrokerHeartbeat");
	if (registering)
		lifecycle_registered(l, KERR_CORRUPT_MESSAGE, -1);
	else
		lifecycle_heartbeat_done(l, KERR_CORRUPT_MESSAGE, l->fenced, false, false);
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
			.want_shut_down = l->shutting_down,
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

/* True once the quorum has known no leader for two election timeouts: an
 * election that can succeed is over by then (raft randomises the timeout
 * between 1x and 2x), so the voters left are too few and no controller
 * will answer within the bound either - most often the other nodes are
 * stopping too. */
static bool lifecycle_quorum_lost(struct lifecycle *l)
{
	struct quorum_status st;
	metadata_quorum_status(l->b->metadata, &st);
	int64_t now = broker_mono_ms();
	if (st.leader_id >= 0) {
		l->leaderless_since_ms = 0;
		return false;
	}
	if (l->leaderless_since_ms == 0) {
		l->leaderless_since_ms = now;
		return false;
	}
	return now - l->leaderless_since_ms >= 2 * (int64_t)l->b->cfg->controller_quorum_election_timeout_ms;
}

static void lifecycle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct lifecycle *l = arg;
	if (l->inflight || l->stopped)
		return; /* its completion schedules the next */
	if (l->shutting_down && l->epoch < 0) {
		/* Not registered (any more): nothing of this broker's to move. */
		lifecycle_shutdown_finish(l, true, "not registered");
		return;
	}
	if (l->shutting_down && lifecycle_quorum_lost(l)) {
		lifecycle_shutdown_finish(l, false, "the metadata quorum has no leader");
		return;
	}
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

static void lifecycle_shutdown_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	lifecycle_shutdown_finish(arg, false, "timed out");
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
	l->shutdown_timer = event_new(b->base, -1, 0, lifecycle_shutdown_timeout_cb, l);
	if (l->timer == NULL || l->shutdown_timer == NULL) {
		if (l->timer != NULL)
			event_free(l->timer);
		if (l->shutdown_timer != NULL)
			event_free(l->shutdown_timer);
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
	event_free(l->shutdown_timer);
	free(l);
}

void lifecycle_poke(struct lifecycle *l)
{
	if (l != NULL && !l->inflight && !l->stopped)
		lifecycle_schedule(l, 0);
}

struct lifecycle_others {
	int32_t self;
	bool any;
};

static int lifecycle_other_live_cb(const struct image_broker *br, void *arg)
{
	struct lifecycle_others *o = arg;
	if (br->id != o->self && !br->fenced)
		o->any = true;
	return o->any;
}

/* True when the latest image has another unfenced broker: one that could
 * take over a leadership. */
static bool lifecycle_someone_to_move_to(struct lifecycle *l)
{
	struct lifecycle_others o = {.self = l->b->cfg->node_id};
	struct metadata_image *img = metadata_image(l->b->metadata);
	image_foreach_broker(img, lifecycle_other_live_cb, &o);
	image_unref(img);
	return o.any;
}

int lifecycle_controlled_shutdown(struct lifecycle *l, lifecycle_shutdown_cb cb, void *arg)
{
	if (l == NULL || l->shutting_down)
		return -1;
	if (l->epoch < 0) {
		tlog(TLOG_INFO, LIFECYCLE_LOG, "node %d is not registered: no controlled shutdown needed",
		     (int)l->b->cfg->node_id);
		return -1;
	}
	/* The last broker standing has nobody to hand anything to; most often
	 * the quorum has gone with the others, and waiting for a controller
	 * that cannot commit would only delay the stop by the whole bound. */
	if (!lifecycle_someone_to_move_to(l)) {
		tlog(TLOG_INFO, LIFECYCLE_LOG, "node %d: no other live broker: no controlled shutdown needed",
		     (int)l->b->cfg->node_id);
		return -1;
	}
	/* Kafka 3.x's BrokerServer waits 2 x broker.session.timeout.ms for the
	 * controller's answer: long enough for a controller failover. */
	int64_t bound = 2 * (int64_t)l->b->cfg->broker_session_timeout_ms;
	l->shutting_down = true;
	l->shutdown_cb = cb;
	l->shutdown_arg = arg;
	l->shutdown_started_ms = broker_mono_ms();
	struct timeval tv = {(time_t)(bound / 1000), (suseconds_t)(bound % 1000) * 1000};
	event_add(l->shutdown_timer, &tv);
	tlog(TLOG_INFO, LIFECYCLE_LOG,
	     "node %d: controlled shutdown: asking the controller to move this broker's leaderships (waiting at "
	     "most %" PRId64 " ms)",
	     (int)l->b->cfg->node_id, bound);
	lifecycle_poke(l);
	return 0;
}

int64_t lifecycle_broker_epoch(const struct lifecycle *l)
{
	return l != NULL ? l->epoch : -1;
}

bool lifecycle_caught_up(const struct lifecycle *l)
{
	return l != NULL && l->caught_up;
}
