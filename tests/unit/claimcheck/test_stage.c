/* stage: the worker pool with a real event_base. Callbacks run on the loop
 * thread only; a slow backend does not block the loop; free with jobs queued
 * neither hangs nor leaks and runs every callback; produce and fetch go
 * through the real rewriting over the fs backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "broker/logger.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/batch_builder.h"
#include "claimcheck/backend_internal.h"
#include "claimcheck/claimcheck.h"

/* ---- A fake backend: delays, failures, and where it ran ---------------- */

struct fake {
	int delay_ms;
	bool fail;
	pthread_t loop;
	atomic_int calls;
	atomic_int running;
	atomic_int max_running;
	atomic_int on_loop_thread; /* calls made on the loop thread: must stay 0 */
	atomic_bool *closed;       /* set by close (outlives the fake) */
};

static void fake_enter(struct fake *fk)
{
	atomic_fetch_add(&fk->calls, 1);
	if (pthread_equal(pthread_self(), fk->loop))
		atomic_fetch_add(&fk->on_loop_thread, 1);
	int now = atomic_fetch_add(&fk->running, 1) + 1;
	int max = atomic_load(&fk->max_running);
	while (now > max && !atomic_compare_exchange_weak(&fk->max_running, &max, now))
		;
	if (fk->delay_ms)
		usleep((useconds_t)fk->delay_ms * 1000);
}

static int fake_leave(struct fake *fk, const char *op, char *errbuf, size_t errlen)
{
	atomic_fetch_sub(&fk->running, 1);
	if (fk->fail) {
		snprintf(errbuf, errlen, "fake %s: injected failure", op);
		return CLAIMCHECK_EBACKEND;
	}
	return 0;
}

static int fake_put(void *ctx, const char *key, const uint8_t *data, size_t len, char *errbuf, size_t errlen)
{
	fake_enter(ctx);
	return fake_leave(ctx, "put", errbuf, errlen);
}

static int fake_get(void *ctx, const char *key, size_t max_len, uint8_t **data, size_t *len, char *errbuf,
		    size_t errlen)
{
	fake_enter(ctx);
	fake_leave(ctx, "get", errbuf, errlen);
	return CLAIMCHECK_ENOTFOUND;
}

static int fake_del(void *ctx, const char *key, char *errbuf, size_t errlen)
{
	fake_enter(ctx);
	return fake_leave(ctx, "delete", errbuf, errlen);
}

static void fake_close(void *ctx)
{
	struct fake *fk = ctx;
	atomic_store(fk->closed, true);
	free(fk);
}

static const struct claimcheck_backend_ops fake_ops = {
	.name = "fake",
	.put = fake_put,
	.get = fake_get,
	.del = fake_del,
	.close = fake_close,
};

/* ---- Fixture ----------------------------------------------------------- */

struct fixture {
	struct event_base *base;
	struct fake *fk; /* owned by the stage's backend */
	atomic_bool closed;
	struct claimcheck_stage *s;
	struct event *watchdog;
	char dir[64];

	int done;
	int want;
	int ok;
	int failed;
	int off_loop; /* callbacks not on the loop thread: must stay 0 */
	char last_err[256];
	struct timespec done_at;
};

static double ms_since(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) * 1e3 + (double)(t1->tv_nsec - t0->tv_nsec) / 1e6;
}

static void watchdog_fired(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *f = arg;
	fprintf(stderr, "watchdog: %d of %d callbacks after 20 s\n", f->done, f->want);
	event_base_loopbreak(f->base);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_int_equal(evthread_use_pthreads(), 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->watchdog = evtimer_new(f->base, watchdog_fired, f);
	struct timeval tv = {.tv_sec = 20};
	evtimer_add(f->watchdog, &tv);
	*state = f;
	return 0;
}

static void start_fake(struct fixture *f, int workers, int delay_ms, bool fail)
{
	f->fk = calloc(1, sizeof *f->fk);
	f->fk->delay_ms = delay_ms;
	f->fk->fail = fail;
	f->fk->loop = pthread_self();
	f->fk->closed = &f->closed;
	struct claimcheck_backend *b = claimcheck_backend_wrap(&fake_ops, f->fk);
	assert_non_null(b);
	f->s = claimcheck_stage_new(f->base, b, workers);
	assert_non_null(f->s);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	claimcheck_stage_free(f->s);
	event_free(f->watchdog);
	event_base_free(f->base);
	if (f->dir[0])
		nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void count_done(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len)
{
	struct fixture *f = arg;
	if (!pthread_equal(pthread_self(), f->fk ? f->fk->loop : pthread_self()))
		f->off_loop++;
	if (err == 0) {
		f->ok++;
	} else {
		f->failed++;
		snprintf(f->last_err, sizeof f->last_err, "%s", errmsg ? errmsg : "(null)");
	}
	free(out);
	clock_gettime(CLOCK_MONOTONIC, &f->done_at);
	if (++f->done == f->want)
		event_base_loopbreak(f->base);
}

/* ---- Tests ------------------------------------------------------------- */

static void stage__jobs_complete_on_the_loop_thread(void **state)
{
	struct fixture *f = *state;
	start_fake(f, 4, 2, false);
	f->want = 200;
	char key[32];
	for (int i = 0; i < f->want; i++) {
		snprintf(key, sizeof key, "t/0/%d", i); /* copied by the stage */
		claimcheck_stage_delete(f->s, key, count_done, f);
	}
	assert_int_equal(f->done, 0); /* nothing runs synchronously */
	event_base_dispatch(f->base);
	assert_int_equal(f->done, 200);
	assert_int_equal(f->ok, 200);
	assert_int_equal(f->off_loop, 0);
	assert_int_equal(atomic_load(&f->fk->calls), 200);
	assert_int_equal(atomic_load(&f->fk->on_loop_thread), 0);
	assert_true(atomic_load(&f->fk->max_running) >= 2); /* a pool, not one thread */
	assert_true(claimcheck_stage_backend(f->s) != NULL);
}

struct timer_probe {
	struct timespec start, fired_at;
	bool fired;
};

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct timer_probe *p = arg;
	clock_gettime(CLOCK_MONOTONIC, &p->fired_at);
	p->fired = true;
}

static void stage__slow_backend_does_not_block_the_loop(void **state)
{
	struct fixture *f = *state;
	start_fake(f, 1, 600, false);
	f->want = 1;
	struct timer_probe p = {0};
	struct event *t = evtimer_new(f->base, timer_fired, &p);
	struct timeval tv = {.tv_usec = 20 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	claimcheck_stage_delete(f->s, "slow/0/k", count_done, f);
	evtimer_add(t, &tv);
	event_base_dispatch(f->base);
	event_free(t);
	assert_int_equal(f->ok, 1);
	assert_true(p.fired);
	assert_true(ms_since(&p.start, &p.fired_at) < 450); /* not held up by the 600 ms delete */
	assert_true(ms_since(&p.fired_at, &f->done_at) > 0); /* which finished later */
	assert_true(ms_since(&p.start, &f->done_at) >= 590);
}

/* A callback that queues one more job while the stage is being freed. */
struct resubmit {
	struct fixture *f;
	int calls;
	int err;
};

static void resubmit_done(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len)
{
	struct resubmit *r = arg;
	r->calls++;
	r->err = err;
}

static void resubmit_first(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len)
{
	struct resubmit *r = arg;
	r->calls++;
	claimcheck_stage_delete(r->f->s, "again/0/k", resubmit_done, r);
}

static void stage__free_with_jobs_queued(void **state)
{
	struct fixture *f = *state;
	start_fake(f, 1, 300, false);
	f->want = -1; /* never break: nothing dispatches anyway */
	for (int i = 0; i < 10; i++)
		claimcheck_stage_delete(f->s, "q/0/k", count_done, f);
	struct resubmit r = {.f = f};
	claimcheck_stage_delete(f->s, "q/0/last", resubmit_first, &r);
	/* Wait until the single worker is inside the first job. */
	for (int i = 0; i < 5000 && atomic_load(&f->fk->calls) == 0; i++)
		usleep(1000);
	assert_true(atomic_load(&f->fk->calls) >= 1);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	claimcheck_stage_free(f->s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f->s = NULL;

	/* The running job finished; free did not wait for the ~3 s of queued
	 * ones, which were cancelled. */
	assert_true(ms_since(&t0, &t1) < 1000);
	assert_int_equal(f->done, 10);
	assert_true(f->ok >= 1);
	assert_true(f->failed >= 7);
	assert_int_equal(f->ok + f->failed, 10);
	assert_non_null(strstr(f->last_err, "stopped"));
	assert_int_equal(f->off_loop, 0);
	assert_int_equal(r.calls, 2); /* the queued one and the one it queued */
	assert_int_equal(r.err, CLAIMCHECK_EBACKEND);
	assert_true(atomic_load(&f->closed)); /* the stage closed its backend */
	f->fk = NULL;
}

static void stage__free_of_an_idle_stage(void **state)
{
	struct fixture *f = *state;
	start_fake(f, 3, 0, false);
	claimcheck_stage_free(f->s);
	f->s = NULL;
	f->fk = NULL;
	assert_true(atomic_load(&f->closed));
	claimcheck_stage_free(NULL);
}

static void stage__failures_carry_the_backend_message(void **state)
{
	struct fixture *f = *state;
	start_fake(f, 2, 0, true);
	f->want = 2;
	uint8_t value[300];
	memset(value, 'v', sizeof value);
	struct batch_builder_record rec = {.timestamp = 1, .key = {NULL, -1}, .value = {value, sizeof value}};
	struct batch_builder_opts opts = batch_builder_opts_default();
	uint8_t *batch;
	size_t len;
	assert_int_equal(batch_builder_build(&opts, &rec, 1, &batch, &len), 0);
	struct claimcheck_policy policy = {.threshold_bytes = 100, .max_value_bytes = 1 << 20};
	claimcheck_stage_produce(f->s, "t", 0, &policy, batch, len, count_done, f);
	/* Fire and forget: the failure is only logged. */
	claimcheck_stage_delete(f->s, "t/0/k", NULL, NULL);
	claimcheck_stage_delete(f->s, "t/0/k", count_done, f);
	event_base_dispatch(f->base);
	assert_int_equal(f->failed, 2);
	assert_int_equal(f->ok, 0);
	assert_non_null(strstr(f->last_err, "injected failure"));
	assert_int_equal(f->off_loop, 0);
	free(batch);
}

/* Produce then fetch over the fs backend and the real rewriting. */
struct round_trip {
	struct fixture *f;
	int step;
	int err;
	char errmsg[256];
	uint8_t *stored;
	size_t stored_len;
	uint8_t *fetched;
	size_t fetched_len;
	bool off_loop;
	pthread_t loop;
};

static void round_trip_done(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len)
{
	struct round_trip *rt = arg;
	if (!pthread_equal(pthread_self(), rt->loop))
		rt->off_loop = true;
	rt->err = err;
	if (err)
		snprintf(rt->errmsg, sizeof rt->errmsg, "%s", errmsg);
	if (rt->step == 0) {
		rt->stored = out;
		rt->stored_len = out_len;
	} else {
		rt->fetched = out;
		rt->fetched_len = out_len;
	}
	rt->step++;
	if (err || rt->step == 2) {
		event_base_loopbreak(rt->f->base);
		return;
	}
	claimcheck_stage_fetch(rt->f->s, rt->stored, rt->stored_len, 64u << 20, round_trip_done, rt);
}

static void stage__produce_and_fetch_round_trip(void **state)
{
	struct fixture *f = *state;
	snprintf(f->dir, sizeof f->dir, "/tmp/tern-test-ccstage-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	struct claimcheck_config cfg = {.backend = "fs", .fs_dir = f->dir, .workers = 2};
	struct claimcheck_backend *b;
	char err[256];
	assert_int_equal(claimcheck_backend_open(&cfg, &b, err, sizeof err), 0);
	f->s = claimcheck_stage_new(f->base, b, 2);
	assert_non_null(f->s);

	size_t big = 5u << 20;
	uint8_t *value = malloc(big);
	for (size_t i = 0; i < big; i++)
		value[i] = (uint8_t)(i ^ (i >> 9));
	struct batch_builder_record recs[2] = {
		{.timestamp = 10, .key = {(const uint8_t *)"k0", 2}, .value = {(const uint8_t *)"small", 5}},
		{.timestamp = 11, .key = {(const uint8_t *)"k1", 2}, .value = {value, (int32_t)big}},
	};
	struct batch_builder_opts opts = batch_builder_opts_default();
	uint8_t *batch;
	size_t len;
	assert_int_equal(batch_builder_build(&opts, recs, 2, &batch, &len), 0);

	struct claimcheck_policy policy = {.threshold_bytes = 1 << 20, .max_value_bytes = 64 << 20};
	struct round_trip rt = {.f = f, .loop = pthread_self()};
	claimcheck_stage_produce(f->s, "orders", 7, &policy, batch, len, round_trip_done, &rt);
	event_base_dispatch(f->base);
	if (rt.err)
		fail_msg("step %d: %d %s", rt.step, rt.err, rt.errmsg);
	assert_int_equal(rt.step, 2);
	assert_false(rt.off_loop);

	/* Stored: small, valid, and the object is under orders/7/. */
	assert_non_null(rt.stored);
	assert_true(rt.stored_len < 4096);
	assert_int_equal(batch_validate(rt.stored, rt.stored_len, 1 << 20, NULL), 0);
	char objdir[128];
	snprintf(objdir, sizeof objdir, "%s/orders/7", f->dir);
	struct stat st;
	assert_int_equal(stat(objdir, &st), 0);

	/* Fetched: the producer's batch again. */
	assert_int_equal(rt.fetched_len, len);
	assert_true(memcmp(rt.fetched, batch, len) == 0);
	free(rt.stored);
	free(rt.fetched);
	free(batch);
	free(value);
}

int main(void)
{
	logger_set_level(TLOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stage__jobs_complete_on_the_loop_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(stage__slow_backend_does_not_block_the_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(stage__free_with_jobs_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(stage__free_of_an_idle_stage, setup, teardown),
		cmocka_unit_test_setup_teardown(stage__failures_carry_the_backend_message, setup, teardown),
		cmocka_unit_test_setup_teardown(stage__produce_and_fetch_round_trip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
