#include "broker/producer_ids.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_internal.h"
#include "broker/controller_channel.h"
#include "broker/controller_host.h"
#include "broker/lifecycle.h"
#include "broker/log/checkpoint.h"
#include "broker/logger.h"
#include "broker/protocol/allocate_producer_ids.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/header.h"
#include "raft/controller.h"

#define PRODUCER_IDS_LOG "producer-ids"
#define PRODUCER_IDS_CLIENT_ID "tern-producer-ids"
#define PRODUCER_IDS_BLOCK CONTROLLER_PRODUCER_ID_BLOCK
/* Kafka's ProducerIdManager.PidPrefetchThreshold, in percent. */
#define PRODUCER_IDS_PREFETCH_PERCENT 90

/* ---- blocks --------------------------------------------------------------------- */

void producer_id_blocks_init(struct producer_id_blocks *s)
{
	memset(s, 0, sizeof *s);
}

int producer_id_blocks_claim(struct producer_id_blocks *s, int64_t *id, bool *fetch)
{
	*fetch = false;
	if (s->next >= s->end) {
		if (!s->has_next_block) {
			*fetch = true;
			return -EAGAIN;
		}
		s->first = s->next = s->next_first;
		s->end = s->next_end;
		s->has_next_block = false;
	}
	*id = s->next++;
	/* A block's length is an int32: these products fit in int64. */
	int64_t used = s->next - s->first, size = s->end - s->first;
	*fetch = !s->has_next_block && used * 100 >= size * PRODUCER_IDS_PREFETCH_PERCENT;
	return 0;
}

int producer_id_blocks_add(struct producer_id_blocks *s, int64_t start, int32_t len)
{
	if (s->has_next_block)
		return -EBUSY;
	if (start < 0 || len <= 0 || start > INT64_MAX - len || start < s->end)
		return -EINVAL;
	s->next_first = start;
	s->next_end = start + len;
	s->has_next_block = true;
	return 0;
}

int producer_id_file_allocate(const char *dir, int64_t *start)
{
	int64_t next = 0;
	int rc = checkpoint_read(dir, PRODUCER_IDS_FILE, &next);
	if (rc == -ENOENT)
		next = 0;
	else if (rc != 0)
		return rc;
	if (next > INT64_MAX - PRODUCER_IDS_BLOCK)
		return -EOVERFLOW;
	/* Durable before any id of the block is handed out. */
	rc = checkpoint_write(dir, PRODUCER_IDS_FILE, next + PRODUCER_IDS_BLOCK);
	if (rc != 0)
		return rc;
	*start = next;
	return 0;
}

/* ---- the manager ----------------------------------------------------------------- */

struct producer_ids_waiter {
	struct producer_ids *m;
	struct producer_ids_waiter *prev, *next;
	producer_ids_cb cb;
	void *arg;
	struct event *timeout;
};

struct producer_ids {
	struct broker *b; /* borrowed */
	struct producer_id_blocks blocks;
	struct producer_ids_waiter *head, *tail; /* oldest first */
	struct event *kick;  /* runs the next request for a block */
	bool inflight;       /* one AllocateProducerIds at a time */
	bool want;           /* a block is wanted: waiters, or the prefetch point passed */
	bool stopped;
	int16_t last_error;  /* to log changes only */
	int32_t correlation_id;
	/* The in-process controller's reply, kept until its proposal commits. */
	struct controller_producer_ids_reply local_reply;
};

static void producer_ids_schedule(struct producer_ids *m, int ms)
{
	if (m->stopped)
		return;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(m->kick, &tv);
}

static void producer_ids_unlink(struct producer_ids *m, struct producer_ids_waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		m->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		m->tail = w->prev;
	event_free(w->timeout);
}

/* Answers and frees the oldest waiter. */
static void producer_ids_answer_first(struct producer_ids *m, int16_t error, int64_t id)
{
	struct producer_ids_waiter *w = m->head;
	producer_ids_unlink(m, w);
	producer_ids_cb cb = w->cb;
	void *arg = w->arg;
	free(w);
	cb(arg, error, error == KERR_NONE ? id : -1);
}

/* Hands ids to the waiters, oldest first, while there are any. */
static void producer_ids_serve(struct producer_ids *m)
{
	while (m->head != NULL) {
		int64_t id;
		bool fetch;
		if (producer_id_blocks_claim(&m->blocks, &id, &fetch) != 0) {
			m->want = true;
			break;
		}
		m->want |= fetch;
		producer_ids_answer_first(m, KERR_NONE, id);
	}
	if (m->want && !m->inflight)
		producer_ids_schedule(m, 0);
}

static void producer_ids_fail_waiters(struct producer_ids *m, int16_t error)
{
	while (m->head != NULL)
		producer_ids_answer_first(m, error, -1);
}

static bool producer_ids_retriable(int16_t error)
{
	switch (error) {
	case KERR_NOT_CONTROLLER:          /* the controller moved: ask the new one */
	case KERR_STALE_BROKER_EPOCH:      /* this broker registers again */
	case KERR_BROKER_ID_NOT_REGISTERED:
	case KERR_NETWORK_EXCEPTION:
	case KERR_REQUEST_TIMED_OUT:
	case KERR_CORRUPT_MESSAGE: /* an unreadable answer */
		return true;
	default:
		return false;
	}
}

/* The controller's answer (either path). */
static void producer_ids_block_answer(struct producer_ids *m, int16_t error, int64_t start, int32_t len)
{
	m->inflight = false;
	if (m->stopped)
		return;
	if (error != m->last_error && error != KERR_NONE)
		tlog(TLOG_WARN, PRODUCER_IDS_LOG, "AllocateProducerIds: error %d%s", (int)error,
		     producer_ids_retriable(error) ? ", asking again" : "");
	m->last_error = error;
	if (error == KERR_NONE) {
		int rc = producer_id_blocks_add(&m->blocks, start, len);
		if (rc != 0) {
			/* Kafka's RPCProducerIdManager fails the waiting
			 * requests on such a block, and so do we. */
			tlog(TLOG_ERROR, PRODUCER_IDS_LOG,
			     "AllocateProducerIds: unusable block [%" PRId64 ", +%" PRId32 ") after %" PRId64 ": %s", start,
			     len, m->blocks.end, strerror(-rc));
			m->want = false;
			producer_ids_fail_waiters(m, KERR_UNKNOWN_SERVER_ERROR);
			return;
		}
		tlog(TLOG_DEBUG, PRODUCER_IDS_LOG, "producer id block [%" PRId64 ", %" PRId64 ")", start, start + len);
		m->want = false;
		producer_ids_serve(m);
		return;
	}
	if (producer_ids_retriable(error)) {
		if (m->want)
			producer_ids_schedule(m, PRODUCER_IDS_RETRY_MS);
		return;
	}
	/* Kafka gives up on other errors and fails what waits; the next
	 * InitProducerId asks again. */
	m->want = false;
	producer_ids_fail_waiters(m, error);
}

static void producer_ids_local_cb(void *arg, int16_t error)
{
	struct producer_ids *m = arg;
	const struct controller_producer_ids_reply *r = &m->local_reply;
	producer_ids_block_answer(m, error != KERR_NONE ? error : r->error_code, r->producer_id_start,
				  r->producer_id_len);
}

static void producer_ids_remote_cb(void *arg, int status, const uint8_t *resp, size_t len)
{
	struct producer_ids *m = arg;
	if (status != 0) {
		producer_ids_block_answer(m, KERR_NETWORK_EXCEPTION, -1, 0);
		return;
	}
	struct kreader r;
	int32_t corr;
	struct allocate_producer_ids_response out;
	kr_init(&r, resp, len);
	if (response_header_decode(&r, 1, &corr) != 0 ||
	    allocate_producer_ids_response_decode(&r, ALLOCATE_PRODUCER_IDS_MAX_VERSION, &out) != 0) {
		producer_ids_block_answer(m, KERR_CORRUPT_MESSAGE, -1, 0);
		return;
	}
	producer_ids_block_answer(m, out.error_code, out.producer_id_start, out.producer_id_len);
	allocate_producer_ids_response_free(&out);
}

/* Sends AllocateProducerIds to the active controller: in-process when it
 * runs here, else over the controller channel. Returns 0 when it went out
 * (an answer follows), -1 to try again later. */
static int producer_ids_send(struct producer_ids *m)
{
	struct broker *b = m->b;
	int64_t epoch = lifecycle_broker_epoch(b->lifecycle);
	if (epoch < 0)
		return -1; /* not registered yet: the controller would refuse */
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl != NULL) {
		struct controller_proposal *p = NULL;
		if (controller_allocate_producer_ids(ctl, b->cfg->node_id, epoch, controller_host_now_ms(),
						     &m->local_reply, &p) != 0)
			return -1;
		/* An error comes without a proposal: committing NULL answers it
		 * from the loop, like a block. */
		m->inflight = true;
		if (controller_host_commit(b->controller, p, producer_ids_local_cb, m) != 0) {
			m->inflight = false;
			return -1;
		}
		return 0;
	}
	struct request_header h = {
		.api_key = ALLOCATE_PRODUCER_IDS_API_KEY,
		.api_version = ALLOCATE_PRODUCER_IDS_MAX_VERSION,
		.correlation_id = m->correlation_id++ & 0x7fffffff, /* the channel sets its own */
		.client_id = {PRODUCER_IDS_CLIENT_ID, (int32_t)strlen(PRODUCER_IDS_CLIENT_ID)},
	};
	struct allocate_producer_ids_request req = {.broker_id = b->cfg->node_id, .broker_epoch = epoch};
	struct kwriter w;
	kw_init(&w, 64);
	request_header_encode(&w, 2, &h);
	allocate_producer_ids_request_encode(&w, ALLOCATE_PRODUCER_IDS_MAX_VERSION, &req);
	m->inflight = true;
	int rc = kw_ok(&w) ? controller_channel_send(b->channel, w.buf, w.len, producer_ids_remote_cb, m) : -1;
	kw_free(&w);
	if (rc != 0)
		m->inflight = false;
	return rc;
}

static void producer_ids_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct producer_ids *m = arg;
	if (m->stopped || m->inflight || !m->want || m->b->metadata == NULL)
		return;
	if (producer_ids_send(m) != 0)
		producer_ids_schedule(m, PRODUCER_IDS_RETRY_MS);
}

static void producer_ids_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct producer_ids_waiter *w = arg;
	struct producer_ids *m = w->m;
	producer_ids_unlink(m, w);
	tlog(TLOG_INFO, PRODUCER_IDS_LOG,
	     "no producer id block from the controller within %d ms: COORDINATOR_LOAD_IN_PROGRESS", PRODUCER_IDS_WAIT_MS);
	producer_ids_cb cb = w->cb;
	void *cb_arg = w->arg;
	free(w);
	cb(cb_arg, KERR_COORDINATOR_LOAD_IN_PROGRESS, -1);
}

/* Standalone: a block from the local file, at once. */
static int16_t producer_ids_local_block(struct producer_ids *m)
{
	const char *dir = m->b->topics.log_dir;
	int64_t start = -1;
	int rc = producer_id_file_allocate(dir, &start);
	if (rc == 0)
		rc = producer_id_blocks_add(&m->blocks, start, PRODUCER_IDS_BLOCK);
	if (rc != 0) {
		tlog(TLOG_ERROR, PRODUCER_IDS_LOG, "%s/%s: cannot take the next producer id block: %s", dir,
		     PRODUCER_IDS_FILE, strerror(-rc));
		return KERR_UNKNOWN_SERVER_ERROR;
	}
	return KERR_NONE;
}

void producer_ids_generate(struct producer_ids *m, producer_ids_cb cb, void *arg)
{
	if (m->stopped) {
		cb(arg, KERR_COORDINATOR_LOAD_IN_PROGRESS, -1);
		return;
	}
	int64_t id;
	bool fetch;
	if (m->b->metadata == NULL) {
		/* Standalone: one synchronous block write per 1000 ids (a
		 * small file and its fsync, like a checkpoint). */
		if (producer_id_blocks_claim(&m->blocks, &id, &fetch) != 0) {
			int16_t err = producer_ids_local_block(m);
			if (err == KERR_NONE && producer_id_blocks_claim(&m->blocks, &id, &fetch) != 0)
				err = KERR_UNKNOWN_SERVER_ERROR;
			if (err != KERR_NONE) {
				cb(arg, err, -1);
				return;
			}
		}
		cb(arg, KERR_NONE, id);
		return;
	}
	if (m->head == NULL && producer_id_blocks_claim(&m->blocks, &id, &fetch) == 0) {
		if (fetch && !m->want) {
			m->want = true;
			if (!m->inflight)
				producer_ids_schedule(m, 0);
		}
		cb(arg, KERR_NONE, id);
		return;
	}
	struct producer_ids_waiter *w = calloc(1, sizeof *w);
	if (w != NULL)
		w->timeout = event_new(m->b->base, -1, 0, producer_ids_timeout_cb, w);
	struct timeval tv = {PRODUCER_IDS_WAIT_MS / 1000, (PRODUCER_IDS_WAIT_MS % 1000) * 1000};
	if (w == NULL || w->timeout == NULL || event_add(w->timeout, &tv) != 0) {
		if (w != NULL && w->timeout != NULL)
			event_free(w->timeout);
		free(w);
		cb(arg, KERR_UNKNOWN_SERVER_ERROR, -1);
		return;
	}
	w->m = m;
	w->cb = cb;
	w->arg = arg;
	w->prev = m->tail;
	if (m->tail != NULL)
		m->tail->next = w;
	else
		m->head = w;
	m->tail = w;
	m->want = true;
	if (!m->inflight)
		producer_ids_schedule(m, 0);
}

struct producer_ids *producer_ids_new(struct broker *b)
{
	struct producer_ids *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->b = b;
	producer_id_blocks_init(&m->blocks);
	m->kick = event_new(b->base, -1, 0, producer_ids_kick_cb, m);
	if (m->kick == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void producer_ids_stop(struct producer_ids *m)
{
	if (m == NULL || m->stopped)
		return;
	m->stopped = true;
	event_del(m->kick);
	producer_ids_fail_waiters(m, KERR_COORDINATOR_LOAD_IN_PROGRESS);
}

void producer_ids_free(struct producer_ids *m)
{
	if (m == NULL)
		return;
	producer_ids_stop(m);
	event_free(m->kick);
	free(m);
}
