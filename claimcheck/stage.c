/* stage: the claim-check worker pool.
 *
 * Jobs (produce rewrite, fetch rehydration, object delete) wait in a FIFO
 * guarded by a mutex and a condition variable; `workers` threads take them
 * one at a time and run the blocking layers (backend, rewrite). A finished
 * job goes on a completion list and the worker makes one libevent event
 * active (event_active is thread-safe once evthread_use_pthreads() was
 * called before the base was created); that event's callback runs on the
 * loop thread, takes the whole completion list and runs each job's callback.
 * So a callback never runs on a worker, and the loop never waits on a
 * transfer.
 *
 * Shutdown (claimcheck_stage_free, on the loop thread): queued jobs are
 * taken off the queue, running ones finish, the threads are joined, and then
 * every callback not yet run - finished jobs with their results, cancelled
 * ones with CLAIMCHECK_EBACKEND - runs before free returns. A callback may
 * queue new jobs (during free they fail at once the same way) but must not
 * free the stage.
 *
 * Ownership: the stage owns the backend (closed by free) and every job;
 * inputs (batch bytes) are borrowed until the job's callback runs, strings
 * are copied. A job's output buffer passes to its callback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "claimcheck/claimcheck.h"
#include "broker/logger.h"

enum stage_kind {
	STAGE_PRODUCE,
	STAGE_FETCH,
	STAGE_DELETE,
};

struct stage_job {
	struct stage_job *next;
	enum stage_kind kind;
	/* inputs */
	char *topic; /* produce (owned) */
	int32_t partition;
	struct claimcheck_policy policy;
	const uint8_t *data; /* produce, fetch (borrowed) */
	size_t len;
	size_t max_value_bytes; /* fetch */
	char *key;              /* delete (owned) */
	claimcheck_done_cb cb;
	void *arg;
	/* results */
	int err;
	uint8_t *out; /* owned until handed to cb */
	size_t out_len;
	char errmsg[512];
};

struct claimcheck_stage {
	struct event_base *base;
	struct claimcheck_backend *backend; /* owned */
	struct event *done_ev;              /* owned; fired by workers */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct stage_job *queue_head, *queue_tail; /* waiting for a worker */
	struct stage_job *done_head, *done_tail;   /* waiting for the loop */
	bool stopping;

	pthread_t *threads;
	int nthreads; /* started */
};

static void stage_job_free(struct stage_job *j)
{
	free(j->topic);
	free(j->key);
	free(j->out);
	free(j);
}

static void stage_run(struct claimcheck_stage *s, struct stage_job *j)
{
	j->errmsg[0] = '\0';
	switch (j->kind) {
	case STAGE_PRODUCE:
		j->err = claimcheck_rewrite_produce(s->backend, j->topic, j->partition, &j->policy, j->data, j->len,
						    &j->out, &j->out_len, j->errmsg, sizeof j->errmsg);
		break;
	case STAGE_FETCH:
		j->err = claimcheck_rehydrate(s->backend, j->data, j->len, j->max_value_bytes, &j->out, &j->out_len,
					      j->errmsg, sizeof j->errmsg);
		break;
	case STAGE_DELETE:
		j->err = claimcheck_backend_delete(s->backend, j->key, j->errmsg, sizeof j->errmsg);
		break;
	}
	if (j->err != 0) {
		/* A failed job hands out no buffer. */
		free(j->out);
		j->out = NULL;
		j->out_len = 0;
		if (!j->errmsg[0])
			snprintf(j->errmsg, sizeof j->errmsg, "claim-check error %d", j->err);
	}
	j->errmsg[sizeof j->errmsg - 1] = '\0';
}

static void *stage_worker(void *arg)
{
	struct claimcheck_stage *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stopping && !s->queue_head)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stopping)
			break;
		struct stage_job *j = s->queue_head;
		s->queue_head = j->next;
		if (!s->queue_head)
			s->queue_tail = NULL;
		j->next = NULL;
		pthread_mutex_unlock(&s->mu);

		stage_run(s, j);

		pthread_mutex_lock(&s->mu);
		if (s->done_tail)
			s->done_tail->next = j;
		else
			s->done_head = j;
		s->done_tail = j;
		pthread_mutex_unlock(&s->mu);
		/* Wake-ups coalesce: the loop drains the whole list. The event
		 * outlives the workers (free joins them first). */
		event_active(s->done_ev, EV_READ, 0);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Runs the callback of one job (loop thread) and frees it. */
static void stage_complete(struct stage_job *j)
{
	uint8_t *out = j->out;
	j->out = NULL;
	if (j->cb) {
		/* errmsg is "" on success, never NULL. */
		j->cb(j->arg, j->err, j->errmsg, out, out ? j->out_len : 0);
	} else {
		free(out);
		if (j->err)
			tlog(TLOG_WARN, "claimcheck", "%s: %s", j->kind == STAGE_DELETE ? "delete" : "job",
			     j->errmsg);
	}
	stage_job_free(j);
}

static void stage_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct claimcheck_stage *s = arg;
	pthread_mutex_lock(&s->mu);
	struct stage_job *j = s->done_head;
	s->done_head = s->done_tail = NULL;
	pthread_mutex_unlock(&s->mu);
	while (j) {
		struct stage_job *next = j->next;
		stage_complete(j);
		j = next;
	}
}

struct claimcheck_stage *claimcheck_stage_new(struct event_base *base, struct claimcheck_backend *backend,
					      int workers)
{
	if (!base || !backend)
		return NULL;
	if (workers < 1)
		workers = 1;
	struct claimcheck_stage *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->base = base;
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return NULL;
	}
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	s->done_ev = event_new(base, -1, 0, stage_on_done, s);
	s->threads = calloc((size_t)workers, sizeof *s->threads);
	if (!s->done_ev || !s->threads)
		goto fail;
	for (int i = 0; i < workers; i++) {
		int rc = pthread_create(&s->threads[i], NULL, stage_worker, s);
		if (rc != 0) {
			tlog(TLOG_ERROR, "claimcheck", "stage: cannot start worker %d: %s", i, strerror(rc));
			goto fail;
		}
		s->nthreads++;
	}
	s->backend = backend; /* only now: on failure the caller keeps it */
	return s;

fail:
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	free(s->threads);
	if (s->done_ev)
		event_free(s->done_ev);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return NULL;
}

void claimcheck_stage_free(struct claimcheck_stage *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	struct stage_job *cancelled = s->queue_head;
	s->queue_head = s->queue_tail = NULL;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);

	/* Running jobs finish; nothing touches the queues after the joins. */
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);

	/* Finished jobs first, with their real results, then the cancelled. */
	struct stage_job *done = s->done_head;
	s->done_head = s->done_tail = NULL;
	while (done) {
		struct stage_job *next = done->next;
		stage_complete(done);
		done = next;
	}
	while (cancelled) {
		struct stage_job *next = cancelled->next;
		cancelled->err = CLAIMCHECK_EBACKEND;
		snprintf(cancelled->errmsg, sizeof cancelled->errmsg, "claim-check stage stopped");
		stage_complete(cancelled);
		cancelled = next;
	}

	event_free(s->done_ev);
	free(s->threads);
	claimcheck_backend_close(s->backend);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

struct claimcheck_backend *claimcheck_stage_backend(struct claimcheck_stage *s)
{
	return s->backend;
}

/* Queues j, or, when the stage is stopping, completes it at once. */
static void stage_submit(struct claimcheck_stage *s, struct stage_job *j)
{
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		j->err = CLAIMCHECK_EBACKEND;
		snprintf(j->errmsg, sizeof j->errmsg, "claim-check stage stopped");
		stage_complete(j);
		return;
	}
	if (s->queue_tail)
		s->queue_tail->next = j;
	else
		s->queue_head = j;
	s->queue_tail = j;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* A job that could not even be allocated fails at once, on the caller's
 * thread (the loop). */
static void stage_fail_oom(claimcheck_done_cb cb, void *arg)
{
	tlog(TLOG_ERROR, "claimcheck", "stage: out of memory for a job");
	if (cb)
		cb(arg, CLAIMCHECK_ENOMEM, "claim-check: out of memory", NULL, 0);
}

void claimcheck_stage_produce(struct claimcheck_stage *s, const char *topic, int32_t partition,
			      const struct claimcheck_policy *policy, const uint8_t *batch, size_t len,
			      claimcheck_done_cb cb, void *arg)
{
	struct stage_job *j = calloc(1, sizeof *j);
	if (!j || !(j->topic = strdup(topic ? topic : ""))) {
		free(j);
		stage_fail_oom(cb, arg);
		return;
	}
	j->kind = STAGE_PRODUCE;
	j->partition = partition;
	j->policy = *policy;
	j->data = batch;
	j->len = len;
	j->cb = cb;
	j->arg = arg;
	stage_submit(s, j);
}

void claimcheck_stage_fetch(struct claimcheck_stage *s, const uint8_t *data, size_t len, size_t max_value_bytes,
			    claimcheck_done_cb cb, void *arg)
{
	struct stage_job *j = calloc(1, sizeof *j);
	if (!j) {
		stage_fail_oom(cb, arg);
		return;
	}
	j->kind = STAGE_FETCH;
	j->data = data;
	j->len = len;
	j->max_value_bytes = max_value_bytes;
	j->cb = cb;
	j->arg = arg;
	stage_submit(s, j);
}

void claimcheck_stage_delete(struct claimcheck_stage *s, const char *key, claimcheck_done_cb cb, void *arg)
{
	struct stage_job *j = calloc(1, sizeof *j);
	if (!j || !(j->key = strdup(key ? key : ""))) {
		free(j);
		stage_fail_oom(cb, arg);
		return;
	}
	j->kind = STAGE_DELETE;
	j->cb = cb;
	j->arg = arg;
	stage_submit(s, j);
}
