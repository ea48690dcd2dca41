#include "broker/controller_host.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "broker/broker_internal.h"
#include "broker/lifecycle.h"
#include "broker/logger.h"
#include "broker/metadata.h"
#include "broker/protocol/errors.h"
#include "broker/topic_config.h"
#include "raft/controller.h"
#include "raft/quorum.h"

#define CONTROLLER_HOST_LOG "controller"
/* How often sessions are checked; well under any sensible
 * broker.session.timeout.ms, and cheap (a min over the brokers). */
#define CONTROLLER_HOST_TICK_MS 50
/* A barrier that failed while this member still leads is retried after this. */
#define CONTROLLER_HOST_RETRY_MS 100

struct controller_host {
	struct broker *b;       /* borrowed */
	struct controller *ctl; /* owned */
	/* The leadership being served: term > 0 while this member leads. */
	uint64_t term;
	/* Bumped on every role change: a barrier completion of an older
	 * generation is ignored. */
	uint64_t gen;
	bool activating; /* a barrier of `gen` is in flight */
	struct event *tick;
	struct event *retry; /* re-appends a failed barrier */
	struct event *later; /* runs NULL-proposal completions on the next turn */
	struct host_pending *later_head;
	int32_t adding; /* node being added as a standby, -1 none */
	int32_t previous_leader; /* the last other node seen leading, -1 none */
};

/* One proposal on its way through Raft (owned by the quorum's completion
 * until it runs). */
struct host_pending {
	struct controller_host *h;
	struct controller_proposal *p; /* NULL: nothing to append */
	controller_host_done_cb cb;
	void *arg;
	struct host_pending *next; /* `later` list */
};

struct host_barrier {
	struct controller_host *h;
	uint64_t gen;
};

int64_t controller_host_now_ms(void)
{
	return broker_mono_ms();
}

static void controller_host_begin_activation(struct controller_host *h);

static void controller_host_barrier_cb(void *arg, int status, uint64_t index)
{
	struct host_barrier *hb = arg;
	struct controller_host *h = hb->h;
	uint64_t gen = hb->gen;
	free(hb);
	if (gen != h->gen)
		return; /* a role change came in between */
	h->activating = false;
	if (status != 0) {
		tlog(TLOG_WARN, CONTROLLER_HOST_LOG, "term=%" PRIu64 ": barrier failed: %s", h->term,
		     quorum_strerror(status));
		struct timeval tv = {0, CONTROLLER_HOST_RETRY_MS * 1000};
		event_add(h->retry, &tv);
		return;
	}
	struct metadata_image *img = metadata_image(h->b->metadata);
	int rc = controller_activate(h->ctl, img, controller_host_now_ms());
	uint64_t img_index = image_last_index(img);
	size_t brokers = image_broker_count(img), topics = image_topic_count(img);
	image_unref(img);
	if (rc != 0) {
		tlog(TLOG_ERROR, CONTROLLER_HOST_LOG, "term=%" PRIu64 ": cannot activate: %s", h->term, strerror(-rc));
		struct timeval tv = {0, CONTROLLER_HOST_RETRY_MS * 1000};
		event_add(h->retry, &tv);
		return;
	}
	tlog(TLOG_INFO, CONTROLLER_HOST_LOG,
	     "node %d is the active controller: term=%" PRIu64 " barrier=%" PRIu64 " image=%" PRIu64
	     " brokers=%zu topics=%zu",
	     (int)h->b->cfg->node_id, h->term, index, img_index, brokers, topics);
	/* The broker of the controller replaced shares its process with the
	 * Raft member that lost leadership: most likely dead. Alive, it
	 * heartbeats here within milliseconds of hearing of the new leader. */
	if (h->previous_leader >= 0) {
		int64_t grace = 2 * (int64_t)h->b->cfg->broker_heartbeat_interval_ms;
		controller_shorten_session(h->ctl, h->previous_leader, controller_host_now_ms() + grace);
	}
	struct timeval tv = {0, CONTROLLER_HOST_TICK_MS * 1000};
	event_add(h->tick, &tv);
	/* This node registers with itself without waiting for its next
	 * heartbeat tick. */
	lifecycle_poke(h->b->lifecycle);
}

static void controller_host_begin_activation(struct controller_host *h)
{
	if (h->term == 0 || h->activating || controller_active(h->ctl))
		return;
	struct host_barrier *hb = malloc(sizeof *hb);
	if (hb == NULL) {
		struct timeval tv = {0, CONTROLLER_HOST_RETRY_MS * 1000};
		event_add(h->retry, &tv);
		return;
	}
	hb->h = h;
	hb->gen = h->gen;
	if (metadata_barrier(h->b->metadata, controller_host_barrier_cb, hb) != 0) {
		free(hb);
		return; /* shutting down */
	}
	h->activating = true;
}

static void controller_host_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	controller_host_begin_activation(arg);
}

void controller_host_role_changed(struct controller_host *h, int role, int32_t leader_id, uint64_t term)
{
	bool leads = role == QUORUM_LEADER;
	if (leader_id >= 0 && leader_id != h->b->cfg->node_id)
		h->previous_leader = leader_id;
	if (leads && term == h->term)
		return;
	if (!leads && h->term == 0)
		return;
	if (controller_active(h->ctl))
		tlog(TLOG_INFO, CONTROLLER_HOST_LOG, "node %d resigns as controller (term=%" PRIu64 ")",
		     (int)h->b->cfg->node_id, h->term);
	controller_deactivate(h->ctl);
	event_del(h->tick);
	event_del(h->retry);
	h->gen++;
	h->activating = false;
	h->term = leads ? term : 0;
	if (leads)
		controller_host_begin_activation(h);
}

struct controller *controller_host_active(struct controller_host *h)
{
	return h != NULL && controller_active(h->ctl) ? h->ctl : NULL;
}

/* After a failed proposal the controller has resigned; if this member still
 * leads, it comes back after a new barrier. */
static void controller_host_after_failure(struct controller_host *h)
{
	if (h->term != 0 && !controller_active(h->ctl)) {
		h->gen++;
		h->activating = false;
		controller_host_begin_activation(h);
	}
}

static void controller_host_proposal_cb(void *arg, int status, uint64_t index)
{
	struct host_pending *pd = arg;
	struct controller_host *h = pd->h;
	controller_proposal_done(h->ctl, pd->p, status, index);
	if (status != 0) {
		tlog(TLOG_WARN, CONTROLLER_HOST_LOG, "proposal failed: %s", quorum_strerror(status));
		controller_host_after_failure(h);
	}
	pd->cb(pd->arg, status == 0 ? KERR_NONE : KERR_NOT_CONTROLLER);
	free(pd);
}

static void controller_host_later_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct controller_host *h = arg;
	struct host_pending *pd = h->later_head;
	h->later_head = NULL;
	/* The list was pushed at the head: run it oldest first. */
	struct host_pending *rev = NULL;
	while (pd != NULL) {
		struct host_pending *next = pd->next;
		pd->next = rev;
		rev = pd;
		pd = next;
	}
	while (rev != NULL) {
		struct host_pending *next = rev->next;
		rev->cb(rev->arg, KERR_NONE);
		free(rev);
		rev = next;
	}
}

int controller_host_commit(struct controller_host *h, struct controller_proposal *p, controller_host_done_cb cb,
			   void *arg)
{
	struct host_pending *pd = calloc(1, sizeof *pd);
	if (pd == NULL) {
		if (p != NULL)
			controller_proposal_done(h->ctl, p, -ENOMEM, 0);
		controller_host_after_failure(h);
		return -1;
	}
	pd->h = h;
	pd->p = p;
	pd->cb = cb;
	pd->arg = arg;
	if (p == NULL) {
		pd->next = h->later_head;
		h->later_head = pd;
		event_active(h->later, EV_TIMEOUT, 0);
		return 0;
	}
	size_t len = 0;
	uint8_t *buf = NULL;
	int rc = controller_proposal_encoded_size(p, &len);
	if (rc == 0 && (buf = malloc(len)) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = controller_proposal_encode_into(p, buf, len);
	if (rc == 0)
		rc = metadata_propose(h->b->metadata, buf, len, controller_host_proposal_cb, pd);
	free(buf);
	if (rc != 0) {
		tlog(TLOG_WARN, CONTROLLER_HOST_LOG, "cannot append a proposal of %zu bytes (%d)", len, rc);
		controller_proposal_done(h->ctl, p, rc, 0);
		free(pd);
		controller_host_after_failure(h);
		return -1;
	}
	return 0;
}

static void controller_host_ignore_cb(void *arg, int16_t error)
{
	(void)arg;
	(void)error;
}

static void controller_host_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct controller_host *h = arg;
	if (!controller_active(h->ctl))
		return;
	int64_t now = controller_host_now_ms();
	if (controller_next_deadline_ms(h->ctl) <= now) {
		struct controller_proposal *p = NULL;
		if (controller_tick(h->ctl, now, &p) == 0 && p != NULL) {
			size_t n = 0;
			const struct metadata_record *recs = controller_proposal_records(p, &n);
			for (size_t i = 0; i < n; i++)
				if (recs[i].type == METADATA_FENCE_BROKER)
					tlog(TLOG_INFO, CONTROLLER_HOST_LOG,
					     "fencing broker %d (epoch %" PRId64 "): no heartbeat for %d ms",
					     (int)recs[i].fence_broker.id, recs[i].fence_broker.epoch,
					     (int)h->b->cfg->broker_session_timeout_ms);
			(void)controller_host_commit(h, p, controller_host_ignore_cb, NULL);
		}
	}
	if (controller_active(h->ctl)) {
		struct timeval tv = {0, CONTROLLER_HOST_TICK_MS * 1000};
		event_add(h->tick, &tv);
	}
}

static void controller_host_added_cb(void *arg, int status, uint64_t index)
{
	(void)index;
	struct controller_host *h = arg;
	if (status != 0)
		tlog(TLOG_WARN, CONTROLLER_HOST_LOG, "adding node %d as a standby failed: %s", (int)h->adding,
		     quorum_strerror(status));
	h->adding = -1;
	h->previous_leader = -1;
}

void controller_host_ensure_member(struct controller_host *h, int32_t node_id)
{
	const struct broker_config *cfg = h->b->cfg;
	if (!controller_active(h->ctl) || h->adding >= 0)
		return;
	for (int i = 0; i < cfg->voter_count; i++)
		if (cfg->voter_list[i].id == node_id)
			return;
	struct quorum_status st;
	metadata_quorum_status(h->b->metadata, &st);
	for (size_t i = 0; i < st.n_members; i++)
		if (st.members[i].node_id == node_id && st.members[i].membership != QUORUM_SPARE)
			return;
	/* Its controller listener is the endpoint after its broker listener. */
	char address[QUORUM_ADDRESS_MAX + 1] = "";
	struct metadata_image *img = metadata_image(h->b->metadata);
	const struct image_broker *br = image_broker(img, node_id);
	if (br != NULL && br->n_endpoints > 1)
		snprintf(address, sizeof address, "%s:%u", br->endpoints[1].host, (unsigned)br->endpoints[1].port);
	image_unref(img);
	if (address[0] == '\0')
		return;
	if (metadata_add_standby(h->b->metadata, node_id, address, controller_host_added_cb, h) == 0) {
		h->adding = node_id;
		tlog(TLOG_INFO, CONTROLLER_HOST_LOG, "adding node %d at %s to the quorum as a standby", (int)node_id,
		     address);
	}
}

static int controller_host_validate_config(const char *name, const char *value, char *err, size_t errlen)
{
	return topic_config_validate(name, value, err, errlen);
}

struct controller_host *controller_host_new(struct broker *b)
{
	struct controller_host *h = calloc(1, sizeof *h);
	if (h == NULL)
		return NULL;
	h->b = b;
	h->adding = -1;
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)b->cfg->node_id << 32);
	struct controller_config cc = {
		.session_timeout_ms = b->cfg->broker_session_timeout_ms,
		.leader_balance_interval_ms =
			b->cfg->auto_leader_rebalance_enable ? b->cfg->leader_imbalance_check_interval_seconds * 1000 : 0,
		.default_partitions = b->cfg->num_partitions,
		.default_replication_factor = (int16_t)b->cfg->default_replication_factor,
		.seed = seed,
		.config_validate_cb = controller_host_validate_config,
	};
	h->ctl = controller_new(&cc);
	h->tick = event_new(b->base, -1, 0, controller_host_tick_cb, h);
	h->retry = event_new(b->base, -1, 0, controller_host_retry_cb, h);
	h->later = event_new(b->base, -1, 0, controller_host_later_cb, h);
	if (h->ctl == NULL || h->tick == NULL || h->retry == NULL || h->later == NULL) {
		controller_host_free(h);
		return NULL;
	}
	return h;
}

void controller_host_free(struct controller_host *h)
{
	if (h == NULL)
		return;
	/* NULL-proposal completions still waiting: their callers are told the
	 * controller went away. */
	while (h->later_head != NULL) {
		struct host_pending *pd = h->later_head;
		h->later_head = pd->next;
		pd->cb(pd->arg, KERR_NOT_CONTROLLER);
		free(pd);
	}
	if (h->tick)
		event_free(h->tick);
	if (h->retry)
		event_free(h->retry);
	if (h->later)
		event_free(h->later);
	controller_free(h->ctl);
	free(h);
}
