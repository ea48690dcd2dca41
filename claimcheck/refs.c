/* refs: how many log records of one partition reference each object key.
 *
 * A chained hash map from key to count (FNV-1a, power-of-two buckets, grown
 * at load factor 1). The partition's log adds the references of every batch
 * it appends or recovers at open, and removes those of every segment that
 * retention deletes; a key whose count reaches zero is reported so its
 * object can be deleted. The counts are never persisted: rebuilding them
 * from the log at open is what makes a restart lose no reference.
 *
 * Thread safety: a mutex guards the map, so appends (network loop) and
 * retention (another thread) may share it. Callbacks (gone, foreach) run
 * after the lock is released, on the calling thread, so they may call back
 * into the map.
 *
 * Ownership: the map owns copies of its keys; keys passed to callbacks are
 * valid during the call only.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "claimcheck/claimcheck.h"
#include "broker/logger.h"

struct refs_entry {
	struct refs_entry *next;
	uint64_t hash;
	int64_t count;
	char key[]; /* NUL-terminated */
};

struct claimcheck_refs {
	pthread_mutex_t mu;
	struct refs_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count;    /* entries */
};

/* Keys collected under the lock, for callbacks run after it. */
struct refs_keylist {
	char **keys;
	size_t n, cap;
	bool oom;
};

#define REFS_INITIAL_BUCKETS 64

static uint64_t refs_hash(const char *key)
{
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return h;
}

static void refs_keylist_push(struct refs_keylist *l, const char *key)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **k = realloc(l->keys, cap * sizeof *k);
		if (!k) {
			l->oom = true;
			return;
		}
		l->keys = k;
		l->cap = cap;
	}
	char *copy = strdup(key);
	if (!copy) {
		l->oom = true;
		return;
	}
	l->keys[l->n++] = copy;
}

/* Calls fn for every key of l, then frees l. */
static void refs_keylist_drain(struct refs_keylist *l, void (*fn)(void *arg, const char *key), void *arg)
{
	if (l->oom)
		tlog(TLOG_ERROR, "claimcheck", "refs: out of memory, some objects were not reported");
	for (size_t i = 0; i < l->n; i++) {
		if (fn)
			fn(arg, l->keys[i]);
		free(l->keys[i]);
	}
	free(l->keys);
	memset(l, 0, sizeof *l);
}

static struct refs_entry **refs_slot(struct claimcheck_refs *r, const char *key, uint64_t h)
{
	struct refs_entry **pp = &r->buckets[h & (r->nbuckets - 1)];
	while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

static void refs_grow(struct claimcheck_refs *r)
{
	size_t n = r->nbuckets * 2;
	struct refs_entry **b = calloc(n, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct refs_entry *e = r->buckets[i];
		while (e) {
			struct refs_entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

struct claimcheck_refs *claimcheck_refs_new(void)
{
	struct claimcheck_refs *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->nbuckets = REFS_INITIAL_BUCKETS;
	r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
	if (!r->buckets || pthread_mutex_init(&r->mu, NULL) != 0) {
		free(r->buckets);
		free(r);
		return NULL;
	}
	return r;
}

void claimcheck_refs_free(struct claimcheck_refs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct refs_entry *e = r->buckets[i];
		while (e) {
			struct refs_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(r->buckets);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* Lock held. */
static void refs_add_key(void *arg, const char *key)
{
	struct claimcheck_refs *r = arg;
	uint64_t h = refs_hash(key);
	struct refs_entry **pp = refs_slot(r, key, h);
	if (*pp) {
		(*pp)->count++;
		return;
	}
	size_t klen = strlen(key);
	struct refs_entry *e = malloc(sizeof *e + klen + 1);
	if (!e) {
		/* Without an entry the object would never be deleted: a leak in
		 * the store, never a lost value. */
		tlog(TLOG_ERROR, "claimcheck", "refs: out of memory, not tracking %s", key);
		return;
	}
	e->next = NULL;
	e->hash = h;
	e->count = 1;
	memcpy(e->key, key, klen + 1);
	*pp = e;
	if (++r->count > r->nbuckets)
		refs_grow(r);
}

int64_t claimcheck_refs_count(struct claimcheck_refs *r, const char *key)
{
	pthread_mutex_lock(&r->mu);
	struct refs_entry **pp = refs_slot(r, key, refs_hash(key));
	int64_t n = *pp ? (*pp)->count : 0;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void claimcheck_refs_add(struct claimcheck_refs *r, const uint8_t *data, size_t len)
{
	pthread_mutex_lock(&r->mu);
	int n = claimcheck_scan_refs(data, len, refs_add_key, r);
	pthread_mutex_unlock(&r->mu);
	if (n < 0)
		tlog(TLOG_WARN, "claimcheck", "refs: undecodable batches (%d), references not counted", n);
}

struct refs_remove_ctx {
	struct claimcheck_refs *r;
	struct refs_keylist gone;
};

/* Lock held. */
static void refs_remove_key(void *arg, const char *key)
{
	struct refs_remove_ctx *c = arg;
	struct claimcheck_refs *r = c->r;
	uint64_t h = refs_hash(key);
	struct refs_entry **pp = refs_slot(r, key, h);
	struct refs_entry *e = *pp;
	if (!e) {
		tlog(TLOG_DEBUG, "claimcheck", "refs: %s removed but not counted", key);
		return;
	}
	if (--e->count > 0)
		return;
	*pp = e->next;
	r->count--;
	refs_keylist_push(&c->gone, e->key);
	free(e);
}

void claimcheck_refs_remove(struct claimcheck_refs *r, const uint8_t *data, size_t len,
			    void (*gone)(void *arg, const char *key), void *arg)
{
	struct refs_remove_ctx c = {.r = r};
	pthread_mutex_lock(&r->mu);
	int n = claimcheck_scan_refs(data, len, refs_remove_key, &c);
	pthread_mutex_unlock(&r->mu);
	if (n < 0)
		tlog(TLOG_WARN, "claimcheck", "refs: undecodable batches (%d) while removing references", n);
	refs_keylist_drain(&c.gone, gone, arg);
}

void claimcheck_refs_foreach(struct claimcheck_refs *r, void (*fn)(void *arg, const char *key), void *arg)
{
	struct refs_keylist l = {0};
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nbuckets; i++)
		for (struct refs_entry *e = r->buckets[i]; e; e = e->next)
			refs_keylist_push(&l, e->key);
	pthread_mutex_unlock(&r->mu);
	refs_keylist_drain(&l, fn, arg);
}
