#include "broker/metadata.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/broker_internal.h"
#include "broker/controller_channel.h"
#include "broker/controller_host.h"
#include "broker/lifecycle.h"
#include "broker/logger.h"
#include "broker/producer_ids.h"
#include "broker/publisher.h"
#include "broker/replica_manager.h"
#include "raft/record_batch.h"

#define METADATA_LOG "metadata"
/* Kafka's directory name for the metadata partition's log. */
#define METADATA_DIR_NAME "__cluster_metadata-0"
#define METADATA_ADDRESS_MAX 300

struct metadata {
	struct broker *broker;   /* borrowed */
	struct quorum *quorum;   /* owned */
	struct quorum_sink sink; /* proposal outcomes, drained on the broker's loop */
	struct event *sink_ev;   /* activated by the raft thread, runs on the broker's loop */
	bool sink_ready;         /* sink initialised: close it on stop */
	/* Activated by the raft thread (coalescing) when the role changed or a
	 * new image was published; run on the broker's loop. */
	struct event *role_ev;
	struct event *image_ev;

	/* Raft thread only: the image the state machine builds on (owned). */
	struct metadata_image *fsm_image;

	/* The published image (owned). Swapped under `lock` by the raft
	 * thread; a reader takes its own reference under the same lock, so an
	 * image is never freed between a reader loading the pointer and
	 * referencing it. */
	pthread_mutex_t lock;
	struct metadata_image *published;
};

/* ---- the state machine (raft thread) ---- */

/* Replaces the published image by `img` (borrowed; the published slot takes
 * its own reference). */
static void metadata_publish(struct metadata *m, struct metadata_image *img)
{
	struct metadata_image *old;
	image_ref(img);
	pthread_mutex_lock(&m->lock);
	old = m->published;
	m->published = img;
	pthread_mutex_unlock(&m->lock);
	image_unref(old);
	if (m->image_ev != NULL)
		event_active(m->image_ev, EV_READ, 0);
}

static void metadata_role_cb(void *arg, int role, int32_t leader_id, uint64_t term)
{
	(void)role;
	(void)leader_id;
	(void)term;
	struct metadata *m = arg;
	event_active(m->role_ev, EV_READ, 0);
}

static void metadata_apply_cb(void *arg, const void *buf, size_t len, uint64_t index, uint64_t term)
{
	struct metadata *m = arg;
	struct metadata_image *next = NULL;
	int rc = record_batch_apply(m->fsm_image, buf, len, &next);
	if (rc == -ENOMEM) {
		/* The entry stays unapplied on this member: its image is now
		 * behind the others until the next snapshot restore. Say so
		 * loudly; stopping raft would be worse. */
		tlog(TLOG_ERROR, METADATA_LOG, "index=%" PRIu64 " term=%" PRIu64 ": out of memory applying the entry",
		     index, term);
		return;
	}
	/* Other errors were logged by record_batch_apply; `next` is then the
	 * current image and the entry is skipped. */
	if (next != m->fsm_image)
		(void)image_set_position(next, index, term);
	image_unref(m->fsm_image);
	m->fsm_image = next;
	metadata_publish(m, next);
}

static int metadata_snapshot_cb(void *arg, void **buf, size_t *len)
{
	struct metadata *m = arg;
	uint8_t *out = NULL;
	int rc = image_encode_snapshot(m->fsm_image, &out, len);
	if (rc != 0) {
		tlog(TLOG_WARN, METADATA_LOG, "cannot write a snapshot: %s", strerror(-rc));
		return -1;
	}
	*buf = out;
	return 0;
}

static int metadata_restore_cb(void *arg, const void *buf, size_t len)
{
	struct metadata *m = arg;
	struct metadata_image *img = NULL;
	int rc = image_from_snapshot(buf, len, &img);
	if (rc != 0) {
		tlog(TLOG_ERROR, METADATA_LOG, "cannot read a snapshot of %zu bytes: %s", len, strerror(-rc));
		return -1;
	}
	image_unref(m->fsm_image);
	m->fsm_image = img;
	metadata_publish(m, img);
	tlog(TLOG_INFO, METADATA_LOG,
	     "image restored from a snapshot at index=%" PRIu64 ": %zu broker(s), %zu topic(s)", image_last_index(img),
	     image_broker_count(img), image_topic_count(img));
	return 0;
}

/* ---- completions (broker loop) ---- */

static void metadata_sink_notify_cb(void *arg)
{
	struct metadata *m = arg;
	event_active(m->sink_ev, EV_READ, 0);
}

static void metadata_sink_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct metadata *m = arg;
	quorum_sink_drain(&m->sink);
}

/* The role seen on the loop: the controller host follows leadership; the
 * broker's lifecycle retries at once towards a new leader. */
static void metadata_role_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct metadata *m = arg;
	struct broker *b = m->broker;
	struct quorum_status st;
	quorum_status(m->quorum, &st);
	controller_host_role_changed(b->controller, st.role, st.leader_id, st.term);
	controller_channel_leader_changed(b->channel);
	lifecycle_poke(b->lifecycle);
	/* A follower's first known leader may be what lets the publisher start. */
	event_active(m->image_ev, EV_READ, 0);
}

static void metadata_image_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct metadata *m = arg;
	struct metadata_image *img = metadata_image(m);
	publisher_update(m->broker->publisher, img, lifecycle_caught_up(m->broker->lifecycle));
	image_unref(img);
}

/* ---- lifetime ---- */

/* mkdir -p of `path` (modified in place and restored). */
static int metadata_mkdirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = c;
		if (rc != 0 && errno != EEXIST)
			return -errno;
		if (c == '\0')
			return 0;
	}
}

static void metadata_free(struct metadata *m)
{
	struct broker *b = m->broker;
	if (m->quorum != NULL)
		quorum_stop(m->quorum); /* every completion is posted */
	/* Runs what the stop posted. A failed proposal makes the controller
	 * host try again (a new barrier): the stopped quorum refuses it, so
	 * the quorum is freed only after this. */
	if (m->sink_ready)
		quorum_sink_close(&m->sink);
	if (m->quorum != NULL)
		quorum_free(m->quorum);
	/* The channel fails its requests (lifecycle callbacks), the host its
	 * waiting completions (lifecycle and API callbacks): both before the
	 * lifecycle goes. */
	replica_manager_free(b->replica_manager); /* its fetchers' answers are dropped */
	b->replica_manager = NULL;
	controller_channel_free(b->channel);
	b->channel = NULL;
	controller_host_free(b->controller);
	b->controller = NULL;
	lifecycle_free(b->lifecycle);
	b->lifecycle = NULL;
	publisher_free(b->publisher);
	b->publisher = NULL;
	if (m->sink_ev != NULL)
		event_free(m->sink_ev);
	if (m->role_ev != NULL)
		event_free(m->role_ev);
	if (m->image_ev != NULL)
		event_free(m->image_ev);
	image_unref(m->fsm_image);
	image_unref(m->published);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int metadata_start(struct broker *b)
{
	const struct broker_config *cfg = b->cfg;
	/* Producer ids come from the controller, or without voters from a
	 * file in the log dir: the manager serves both. */
	b->producer_ids = producer_ids_new(b);
	if (b->producer_ids == NULL) {
		tlog(TLOG_ERROR, METADATA_LOG, "out of memory starting the producer id manager");
		return -1;
	}
	if (cfg->voter_count == 0)
		return 0;

	char dir[4096];
	const char *base_dir = cfg->metadata_log_dir != NULL ? cfg->metadata_log_dir : cfg->log_dirs_list[0];
	if ((size_t)snprintf(dir, sizeof dir, "%s/%s", base_dir, METADATA_DIR_NAME) >= sizeof dir) {
		tlog(TLOG_ERROR, METADATA_LOG, "metadata.log.dir: path too long: %s", base_dir);
		return -1;
	}
	int rc = metadata_mkdirs(dir);
	if (rc != 0) {
		tlog(TLOG_ERROR, METADATA_LOG, "metadata.log.dir: cannot create %s: %s", dir, strerror(-rc));
		return -1;
	}

	struct quorum_voter *voters = calloc((size_t)cfg->voter_count, sizeof *voters);
	char (*addrs)[METADATA_ADDRESS_MAX] = calloc((size_t)cfg->voter_count, sizeof *addrs);
	struct metadata *m = calloc(1, sizeof *m);
	if (voters == NULL || addrs == NULL || m == NULL) {
		free(voters);
		free(addrs);
		free(m);
		tlog(TLOG_ERROR, METADATA_LOG, "out of memory starting the metadata quorum");
		return -1;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->broker = b;

	bool is_voter = false;
	for (int i = 0; i < cfg->voter_count; i++) {
		const struct config_voter *v = &cfg->voter_list[i];
		snprintf(addrs[i], sizeof addrs[i], "%s:%d", v->host, (int)v->port);
		voters[i] = (struct quorum_voter){.node_id = v->id, .address = addrs[i]};
		if (v->id != cfg->node_id)
			continue;
		is_voter = true;
		/* The others dial the voter entry: the listener must be on it. */
		if (cfg->controller_port > 0 && cfg->controller_port != v->port) {
			tlog(TLOG_ERROR, METADATA_LOG,
			     "controller.quorum.voters: node %d is at port %d there but its controller listener is on "
			     "port %d",
			     (int)cfg->node_id, (int)v->port, (int)cfg->controller_port);
			goto err;
		}
	}
	/* The controller listener is where this member listens; a voter is
	 * reached at its voter entry, a standby at its controller listener. */
	char bind[METADATA_ADDRESS_MAX] = "", self[METADATA_ADDRESS_MAX] = "";
	if (cfg->controller_port > 0) {
		snprintf(bind, sizeof bind, "%s:%d", cfg->controller_host, (int)cfg->controller_port);
		snprintf(self, sizeof self, "%s:%d",
			 strcmp(cfg->controller_host, "0.0.0.0") == 0 ? "127.0.0.1" : cfg->controller_host,
			 (int)cfg->controller_port);
	} else if (!is_voter) {
		tlog(TLOG_ERROR, METADATA_LOG,
		     "controller.listener.names: node %d is not in controller.quorum.voters and has no controller "
		     "listener to join the quorum on",
		     (int)cfg->node_id);
		goto err;
	}

	int32_t election = cfg->controller_quorum_election_timeout_ms;
	struct quorum_config qc = {
		.node_id = cfg->node_id,
		.data_dir = dir,
		.address = is_voter ? NULL : self,
		.bind_address = bind[0] != '\0' ? bind : NULL,
		.voters = voters,
		.n_voters = (size_t)cfg->voter_count,
		.election_timeout_ms = (unsigned)election,
		.heartbeat_ms = election >= 20 ? (unsigned)election / 10 : 1,
	};
	struct quorum_fsm fsm = {
		.arg = m,
		.apply_cb = metadata_apply_cb,
		.snapshot_cb = metadata_snapshot_cb,
		.restore_cb = metadata_restore_cb,
		.role_cb = metadata_role_cb,
	};

	m->fsm_image = image_empty();
	m->sink_ev = event_new(b->base, -1, 0, metadata_sink_cb, m);
	m->role_ev = event_new(b->base, -1, 0, metadata_role_ev_cb, m);
	m->image_ev = event_new(b->base, -1, 0, metadata_image_ev_cb, m);
	b->controller = controller_host_new(b);
	b->channel = controller_channel_new(b);
	b->publisher = publisher_new(b);
	b->replica_manager = replica_manager_new(b);
	if (m->fsm_image == NULL || m->sink_ev == NULL || m->role_ev == NULL || m->image_ev == NULL ||
	    b->controller == NULL || b->channel == NULL || b->publisher == NULL || b->replica_manager == NULL) {
		tlog(TLOG_ERROR, METADATA_LOG, "out of memory starting the metadata quorum");
		goto err;
	}
	metadata_publish(m, m->fsm_image);
	quorum_sink_init(&m->sink, metadata_sink_notify_cb, m);
	m->sink_ready = true;

	int err = 0;
	m->quorum = quorum_new(&qc, &fsm, &err);
	if (m->quorum == NULL) {
		tlog(TLOG_ERROR, METADATA_LOG, "controller.quorum.voters: cannot set up the quorum: %s",
		     quorum_strerror(err));
		goto err;
	}
	err = quorum_start(m->quorum);
	if (err != 0) {
		tlog(TLOG_ERROR, METADATA_LOG, "cannot start the metadata quorum on %s: %s",
		     bind[0] != '\0' ? bind : "its voter address", quorum_strerror(err));
		goto err;
	}
	free(voters);
	free(addrs);
	b->metadata = m;
	/* Registration starts once the member runs (it reads the quorum's state). */
	b->lifecycle = lifecycle_new(b);
	if (b->lifecycle == NULL) {
		tlog(TLOG_ERROR, METADATA_LOG, "out of memory starting the broker lifecycle");
		metadata_stop(b);
		return -1;
	}
	tlog(TLOG_INFO, METADATA_LOG, "node %d: metadata quorum of %d voter(s) running, data in %s", (int)cfg->node_id,
	     cfg->voter_count, dir);
	return 0;

err:
	free(voters);
	free(addrs);
	metadata_free(m);
	return -1;
}

void metadata_stop(struct broker *b)
{
	/* Waiting InitProducerIds are answered now; the quorum's and the
	 * channel's completions may still call the manager until it is freed
	 * after them. */
	producer_ids_stop(b->producer_ids);
	if (b->metadata != NULL) {
		metadata_free(b->metadata);
		b->metadata = NULL;
		tlog(TLOG_INFO, METADATA_LOG, "metadata quorum stopped");
	}
	producer_ids_free(b->producer_ids);
	b->producer_ids = NULL;
}

int metadata_controlled_shutdown(struct broker *b, void (*cb)(void *arg, bool granted), void *arg)
{
	if (b->metadata == NULL || b->lifecycle == NULL)
		return -1;
	return lifecycle_controlled_shutdown(b->lifecycle, cb, arg);
}

void metadata_quorum_status(struct metadata *m, struct quorum_status *out)
{
	quorum_status(m->quorum, out);
}

void metadata_notify_image(struct metadata *m)
{
	if (m != NULL && m->image_ev != NULL)
		event_active(m->image_ev, EV_READ, 0);
}

int metadata_propose(struct metadata *m, const void *buf, size_t len, quorum_propose_cb cb, void *arg)
{
	return quorum_propose(m->quorum, buf, len, &m->sink, cb, arg);
}

int metadata_add_standby(struct metadata *m, int32_t node_id, const char *address, quorum_propose_cb cb, void *arg)
{
	return quorum_add_standby(m->quorum, node_id, address, &m->sink, cb, arg);
}

int metadata_barrier(struct metadata *m, quorum_propose_cb cb, void *arg)
{
	return quorum_barrier(m->quorum, &m->sink, cb, arg);
}

struct metadata_image *metadata_image(struct metadata *m)
{
	pthread_mutex_lock(&m->lock);
	struct metadata_image *img = image_ref(m->published);
	pthread_mutex_unlock(&m->lock);
	return img;
}
