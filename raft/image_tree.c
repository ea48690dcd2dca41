#include "raft/image_tree.h"

#include <errno.h>
#include <stdlib.h>

/* ---- shared objects -------------------------------------------------------- */

struct image_obj *image_tree_obj_ref(struct image_obj *o)
{
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	return o;
}

void image_tree_obj_unref(struct image_obj *o)
{
	if (o != NULL && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
		o->destroy(o);
}

void image_tree_obj_init(struct image_obj *o, void (*destroy)(struct image_obj *))
{
	atomic_init(&o->refs, 1);
	o->destroy = destroy;
}

/* ---- persistent treap -----------------------------------------------------
 *
 * A binary search tree by key that is also a max-heap by priority, the
 * priority being a hash of the key: the shape depends only on the set of
 * keys, expected depth O(log n). Nodes never change once built; an update
 * copies the path from the root to the change (path copying) and shares the
 * rest. Functions take trees borrowed and return owned trees; an allocation
 * failure sets the sticky *err, releases what was built and yields NULL.
 */



struct image_node *image_tree_node_ref(struct image_node *n)
{
	if (n != NULL)
		atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
	return n;
}

void image_tree_node_unref(struct image_node *n)
{
	/* Recurse left, loop right: the stack follows the tree's depth. */
	while (n != NULL && atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) == 1) {
		struct image_node *right = n->right;
		image_tree_node_unref(n->left);
		image_tree_obj_unref(n->value);
		free(n);
		n = right;
	}
}

/* left, right: owned (released on failure); value: borrowed (referenced). */
struct image_node *image_tree_node_new(uint32_t prio, struct image_node *left, struct image_node *right,
					 struct image_obj *value, int *err)
{
	struct image_node *n = *err == 0 ? malloc(sizeof *n) : NULL;
	if (n == NULL) {
		if (*err == 0)
			*err = -ENOMEM;
		image_tree_node_unref(left);
		image_tree_node_unref(right);
		return NULL;
	}
	atomic_init(&n->refs, 1);
	n->prio = prio;
	n->left = left;
	n->right = right;
	n->value = image_tree_obj_ref(value);
	return n;
}

struct image_obj *image_tree_find(const struct image_node *t, const struct image_keyops *ops, const void *key)
{
	while (t != NULL) {
		int c = ops->cmp(key, t->value);
		if (c == 0)
			return t->value;
		t = c < 0 ? t->left : t->right;
	}
	return NULL;
}

/* Splits t into the keys below `key` (*l) and above (*r); `key` itself, if
 * present, is left out. */
void image_tree_split(const struct image_node *t, const struct image_keyops *ops, const void *key,
			     struct image_node **l, struct image_node **r, int *err)
{
	*l = *r = NULL;
	if (t == NULL)
		return;
	struct image_node *a, *b;
	int c = ops->cmp(key, t->value);
	if (c > 0) {
		image_tree_split(t->right, ops, key, &a, &b, err);
		*l = image_tree_node_new(t->prio, image_tree_node_ref(t->left), a, t->value, err);
		*r = b;
	} else if (c < 0) {
		image_tree_split(t->left, ops, key, &a, &b, err);
		*l = a;
		*r = image_tree_node_new(t->prio, b, image_tree_node_ref(t->right), t->value, err);
	} else {
		*l = image_tree_node_ref(t->left);
		*r = image_tree_node_ref(t->right);
	}
	if (*err != 0) {
		image_tree_node_unref(*l);
		image_tree_node_unref(*r);
		*l = *r = NULL;
	}
}

/* Every key of a sorts before every key of b. */
struct image_node *image_tree_merge(const struct image_node *a, const struct image_node *b, int *err)
{
	if (a == NULL)
		return image_tree_node_ref((struct image_node *)b);
	if (b == NULL)
		return image_tree_node_ref((struct image_node *)a);
	if (a->prio > b->prio) {
		struct image_node *right = image_tree_merge(a->right, b, err);
		return image_tree_node_new(a->prio, image_tree_node_ref(a->left), right, a->value, err);
	}
	struct image_node *left = image_tree_merge(a, b->left, err);
	return image_tree_node_new(b->prio, left, image_tree_node_ref(b->right), b->value, err);
}

/* t with `value` under `key` (replacing an equal key). */
struct image_node *image_tree_insert(const struct image_node *t, const struct image_keyops *ops,
					    const void *key, uint32_t prio, struct image_obj *value, int *err)
{
	if (t == NULL)
		return image_tree_node_new(prio, NULL, NULL, value, err);
	int c = ops->cmp(key, t->value);
	if (c == 0)
		return image_tree_node_new(t->prio, image_tree_node_ref(t->left), image_tree_node_ref(t->right), value, err);
	if (prio > t->prio) {
		/* Heap order: `key` cannot be below t (its priority would be <= t's). */
		struct image_node *l, *r;
		image_tree_split(t, ops, key, &l, &r, err);
		return image_tree_node_new(prio, l, r, value, err);
	}
	if (c < 0) {
		struct image_node *left = image_tree_insert(t->left, ops, key, prio, value, err);
		return image_tree_node_new(t->prio, left, image_tree_node_ref(t->right), t->value, err);
	}
	struct image_node *right = image_tree_insert(t->right, ops, key, prio, value, err);
	return image_tree_node_new(t->prio, image_tree_node_ref(t->left), right, t->value, err);
}

/* t without `key` (which the caller found in t). */
struct image_node *image_tree_remove(const struct image_node *t, const struct image_keyops *ops,
					    const void *key, int *err)
{
	if (t == NULL)
		return NULL;
	int c = ops->cmp(key, t->value);
	if (c == 0)
		return image_tree_merge(t->left, t->right, err);
	if (c < 0) {
		struct image_node *left = image_tree_remove(t->left, ops, key, err);
		return image_tree_node_new(t->prio, left, image_tree_node_ref(t->right), t->value, err);
	}
	struct image_node *right = image_tree_remove(t->right, ops, key, err);
	return image_tree_node_new(t->prio, image_tree_node_ref(t->left), right, t->value, err);
}

/* Replaces *root (owned) by a tree with `value` set / `key` removed. */
int image_tree_put(struct image_node **root, const struct image_keyops *ops, struct image_obj *value)
{
	int err = 0;
	const void *key = ops->key(value);
	struct image_node *t = image_tree_insert(*root, ops, key, ops->prio(key), value, &err);
	if (err != 0)
		return err;
	image_tree_node_unref(*root);
	*root = t;
	return 0;
}

int image_tree_del(struct image_node **root, const struct image_keyops *ops, const void *key)
{
	int err = 0;
	struct image_node *t = image_tree_remove(*root, ops, key, &err);
	if (err != 0)
		return err;
	image_tree_node_unref(*root);
	*root = t;
	return 0;
}


int image_tree_each(const struct image_node *t, image_visit_fn fn, void *arg)
{
	while (t != NULL) {
		int rc = image_tree_each(t->left, fn, arg);
		if (rc == 0)
			rc = fn(t->value, arg);
		if (rc != 0)
			return rc;
		t = t->right;
	}
	return 0;
}

struct image_collect {
	struct image_obj **items;
	size_t n, cap;
};

static int image_tree_collect_fn(struct image_obj *value, void *arg)
{
	struct image_collect *c = arg;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct image_obj **items = realloc(c->items, cap * sizeof *items);
		if (items == NULL)
			return -ENOMEM;
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n++] = value;
	return 0;
}

/* Called for each key whose value differs: old or new NULL when absent. */

/* Merge-joins two subtrees covering the same key interval. */
static int image_tree_diff_flat(const struct image_node *a, const struct image_node *b,
				const struct image_keyops *ops, image_pair_fn fn, void *arg)
{
	struct image_collect ca = {0}, cb = {0};
	int rc = image_tree_each(a, image_tree_collect_fn, &ca);
	if (rc == 0)
		rc = image_tree_each(b, image_tree_collect_fn, &cb);
	size_t i = 0, j = 0;
	while (rc == 0 && (i < ca.n || j < cb.n)) {
		int c = i == ca.n ? 1 : j == cb.n ? -1 : ops->cmp(ops->key(ca.items[i]), cb.items[j]);
		if (c < 0)
			rc = fn(ca.items[i++], NULL, arg);
		else if (c > 0)
			rc = fn(NULL, cb.items[j++], arg);
		else {
			if (ca.items[i] != cb.items[j])
				rc = fn(ca.items[i], cb.items[j], arg);
			i++;
			j++;
		}
	}
	free(ca.items);
	free(cb.items);
	return rc;
}

/* In key order. Identical subtrees (shared nodes) are skipped; where both
 * trees kept the same root key - the common case after path copying - the
 * walk descends pairwise, elsewhere it merge-joins. */
int image_tree_diff(const struct image_node *a, const struct image_node *b, const struct image_keyops *ops,
			   image_pair_fn fn, void *arg)
{
	if (a == b)
		return 0;
	if (a == NULL || b == NULL || ops->cmp(ops->key(a->value), b->value) != 0)
		return image_tree_diff_flat(a, b, ops, fn, arg);
	int rc = image_tree_diff(a->left, b->left, ops, fn, arg);
	if (rc == 0 && a->value != b->value)
		rc = fn(a->value, b->value, arg);
	if (rc == 0)
		rc = image_tree_diff(a->right, b->right, ops, fn, arg);
	return rc;
}

