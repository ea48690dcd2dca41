#include "replication/replica_set.h"

#include <string.h>

static struct replica_progress *replica_set_find(struct replica_set *rs, int32_t id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].id == id)
			return &rs->r[i];
	return NULL;
}

static bool replica_set_listed(const int32_t *ids, size_t n, int32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

void replica_set_reset(struct replica_set *rs, int32_t self, const int32_t *replicas, size_t n_replicas,
		       const int32_t *isr, size_t n_isr, int64_t high_watermark, int64_t now_ms, bool keep_joining)
{
	struct replica_set old = *rs;
	memset(rs, 0, sizeof *rs);
	rs->self = self;
	rs->high_watermark = high_watermark > old.high_watermark ? high_watermark : old.high_watermark;
	for (size_t i = 0; i < n_replicas && rs->n < REPLICA_SET_MAX; i++) {
		if (replicas[i] == self)
			continue;
		struct replica_progress *p = &rs->r[rs->n++];
		const struct replica_progress *was = replica_set_find(&old, replicas[i]);
		if (was != NULL)
			*p = *was;
		else
			*p = (struct replica_progress){.id = replicas[i], .log_end_offset = -1};
		bool in = replica_set_listed(isr, n_isr, replicas[i]);
		/* Entering the ISR starts the lag clock. */
		if (in && (was == NULL || !was->in_isr))
			p->last_caught_up_ms = now_ms;
		p->in_isr = in;
		p->joining = keep_joining && !in && was != NULL && was->joining;
	}
}

void replica_set_expanding(struct replica_set *rs, const int32_t *isr, size_t n)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!rs->r[i].in_isr && replica_set_listed(isr, n, rs->r[i].id))
			rs->r[i].joining = true;
}

void replica_set_expansion_over(struct replica_set *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rs->r[i].joining = false;
}

bool replica_set_fetched(struct replica_set *rs, int32_t id, int64_t fetch_offset, int64_t leader_log_end_offset,
			 int64_t now_ms)
{
	struct replica_progress *p = replica_set_find(rs, id);
	if (p == NULL)
		return false;
	p->fetched = true;
	p->log_end_offset = fetch_offset;
	p->last_fetch_ms = now_ms;
	if (fetch_offset >= leader_log_end_offset)
		p->last_caught_up_ms = now_ms;
	return true;
}

bool replica_set_wanted_isr(const struct replica_set *rs, int64_t now_ms, int64_t lag_ms, int32_t *isr, size_t *n)
{
	bool changed = false;
	*n = 0;
	isr[(*n)++] = rs->self;
	for (size_t i = 0; i < rs->n; i++) {
		const struct replica_progress *p = &rs->r[i];
		bool keep;
		if (p->in_isr)
			keep = now_ms - p->last_caught_up_ms <= lag_ms;
		else
			keep = p->fetched && now_ms - p->last_fetch_ms <= lag_ms &&
			       p->log_end_offset >= rs->high_watermark;
		if (keep)
			isr[(*n)++] = p->id;
		changed |= keep != p->in_isr;
	}
	return changed;
}

int64_t replica_set_update(struct replica_set *rs, int64_t leader_log_end_offset)
{
	int64_t low = leader_log_end_offset;
	for (size_t i = 0; i < rs->n; i++) {
		const struct replica_progress *p = &rs->r[i];
		if (!p->in_isr && !p->joining)
			continue;
		if (!p->fetched)
			return rs->high_watermark; /* unknown: holds it */
		if (p->log_end_offset < low)
			low = p->log_end_offset;
	}
	if (low > rs->high_watermark)
		rs->high_watermark = low;
	return rs->high_watermark;
}

size_t replica_set_isr_size(const struct replica_set *rs)
{
	size_t n = 1;
	for (size_t i = 0; i < rs->n; i++)
		n += rs->r[i].in_isr;
	return n;
}
