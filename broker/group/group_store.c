#include "broker/group/group_store.h"

#include "broker/protocol/errors.h"

static void group_store_noop_group(void *impl, const struct group_store_group *g, group_store_done_cb done,
				   void *done_arg)
{
	(void)impl;
	(void)g;
	done(done_arg, KERR_NONE);
}

static void group_store_noop_offsets(void *impl, const char *group_id, const struct group_offset_entry *entries,
				     int32_t n, group_store_done_cb done, void *done_arg)
{
	(void)impl;
	(void)group_id;
	(void)entries;
	(void)n;
	done(done_arg, KERR_NONE);
}

static const struct group_store_ops group_store_noop_ops = {
	.store_group = group_store_noop_group,
	.store_offsets = group_store_noop_offsets,
};

static struct group_store group_store_noop_store = {&group_store_noop_ops, NULL};

struct group_store *group_store_noop(void)
{
	return &group_store_noop_store;
}
