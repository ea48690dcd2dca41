/* image_tree: the persistent (copy-on-write) trees under the metadata image,
 * and the reference-counted objects they hold. Private to raft/image.c. */
#ifndef TERN_RAFT_IMAGE_TREE_H
#define TERN_RAFT_IMAGE_TREE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/image.h"

struct image_node {
	atomic_uint refs;
	uint32_t prio;
	struct image_node *left;  /* keys below value's */
	struct image_node *right; /* keys above */
	struct image_obj *value;  /* one reference */
};

struct image_keyops {
	/* <0, 0, >0 as `key` sorts before, with, after the key of `value`. */
	int (*cmp)(const void *key, const struct image_obj *value);
	const void *(*key)(const struct image_obj *value);
	uint32_t (*prio)(const void *key);
};

typedef int (*image_visit_fn)(struct image_obj *value, void *arg);
typedef int (*image_pair_fn)(const struct image_obj *old, const struct image_obj *new, void *arg);

struct image_obj *image_tree_obj_ref(struct image_obj *o);
void image_tree_obj_unref(struct image_obj *o);
void image_tree_obj_init(struct image_obj *o, void (*destroy)(struct image_obj *));
struct image_node *image_tree_node_ref(struct image_node *n);
void image_tree_node_unref(struct image_node *n);
struct image_node *image_tree_node_new(uint32_t prio, struct image_node *left, struct image_node *right,
					 struct image_obj *value, int *err);
struct image_obj *image_tree_find(const struct image_node *t, const struct image_keyops *ops, const void *key);
void image_tree_split(const struct image_node *t, const struct image_keyops *ops, const void *key,
			     struct image_node **l, struct image_node **r, int *err);
struct image_node *image_tree_merge(const struct image_node *a, const struct image_node *b, int *err);
struct image_node *image_tree_insert(const struct image_node *t, const struct image_keyops *ops,
					    const void *key, uint32_t prio, struct image_obj *value, int *err);
struct image_node *image_tree_remove(const struct image_node *t, const struct image_keyops *ops,
					    const void *key, int *err);
int image_tree_put(struct image_node **root, const struct image_keyops *ops, struct image_obj *value);
int image_tree_del(struct image_node **root, const struct image_keyops *ops, const void *key);
int image_tree_each(const struct image_node *t, image_visit_fn fn, void *arg);
int image_tree_diff(const struct image_node *a, const struct image_node *b, const struct image_keyops *ops,
			   image_pair_fn fn, void *arg);

#endif
