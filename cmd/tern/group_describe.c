#include "cmd/tern/group_describe.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int group_describe_tp_cmp(const char *ta, int32_t pa, const char *tb, int32_t pb)
{
	int c = strcmp(ta, tb);
	if (c != 0)
		return c;
	return pa < pb ? -1 : pa > pb ? 1 : 0;
}

static int group_describe_row_cmp(const void *a, const void *b)
{
	const struct group_describe_row *x = a, *y = b;
	return group_describe_tp_cmp(x->topic, x->partition, y->topic, y->partition);
}

static int group_describe_offset_cmp(const void *a, const void *b)
{
	const struct group_describe_offset *x = a, *y = b;
	return group_describe_tp_cmp(x->topic, x->partition, y->topic, y->partition);
}

static int64_t group_describe_committed(const struct group_describe_offset *committed, int n, const char *topic,
					int32_t partition)
{
	for (int i = 0; i < n; i++)
		if (committed[i].partition == partition && strcmp(committed[i].topic, topic) == 0)
			return committed[i].offset;
	return -1;
}

static bool group_describe_is_assigned(const struct group_describe_member *members, int member_cnt,
				       const char *topic, int32_t partition)
{
	for (int m = 0; m < member_cnt; m++)
		for (int i = 0; i < members[m].assigned_cnt; i++)
			if (members[m].assigned[i].partition == partition &&
			    strcmp(members[m].assigned[i].topic, topic) == 0)
				return true;
	return false;
}

int group_describe_rows(const struct group_describe_member *members, int member_cnt,
			const struct group_describe_offset *committed, int committed_cnt,
			struct group_describe_row **out)
{
	*out = NULL;
	size_t cap = (size_t)(committed_cnt > 0 ? committed_cnt : 0);
	for (int m = 0; m < member_cnt; m++)
		cap += (size_t)(members[m].assigned_cnt > 0 ? members[m].assigned_cnt : 0);
	if (cap == 0)
		return 0;
	struct group_describe_row *rows = calloc(cap, sizeof *rows);
	int *order = calloc((size_t)member_cnt + 1, sizeof *order);
	if (!rows || !order) {
		free(rows);
		free(order);
		return -1;
	}
	/* Members by assignment size, largest first; insertion sort keeps ties
	 * in the order DescribeGroups gave (Java's sort is stable too). */
	for (int m = 0; m < member_cnt; m++) {
		int j = m;
		while (j > 0 && members[order[j - 1]].assigned_cnt < members[m].assigned_cnt) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = m;
	}
	int n = 0;
	for (int k = 0; k < member_cnt; k++) {
		const struct group_describe_member *mb = &members[order[k]];
		int first = n;
		for (int i = 0; i < mb->assigned_cnt; i++) {
			const struct group_describe_tp *tp = &mb->assigned[i];
			rows[n++] = (struct group_describe_row){
				.topic = tp->topic,
				.partition = tp->partition,
				.offset = group_describe_committed(committed, committed_cnt, tp->topic, tp->partition),
				.log_end = -1,
				.consumer_id = mb->consumer_id,
				.host = mb->host,
				.client_id = mb->client_id,
			};
		}
		qsort(rows + first, (size_t)(n - first), sizeof *rows, group_describe_row_cmp);
	}
	int first = n;
	for (int i = 0; i < committed_cnt; i++) {
		const struct group_describe_offset *c = &committed[i];
		if (group_describe_is_assigned(members, member_cnt, c->topic, c->partition))
			continue;
		rows[n++] = (struct group_describe_row){
			.topic = c->topic,
			.partition = c->partition,
			.offset = c->offset,
			.log_end = -1,
		};
	}
	qsort(rows + first, (size_t)(n - first), sizeof *rows, group_describe_row_cmp);
	free(order);
	if (n == 0) {
		free(rows);
		rows = NULL;
	}
	*out = rows;
	return n;
}

bool group_describe_lag(int64_t offset, int64_t log_end, int64_t *lag)
{
	if (offset == -1 || log_end == -1)
		return false;
	*lag = log_end - offset;
	return true;
}

static const char *group_describe_or_missing(const char *s)
{
	return s ? s : GROUP_DESCRIBE_MISSING;
}

/* Kafka prints a value or "-"; `buf` holds the decimal form. */
static const char *group_describe_i64(char *buf, size_t len, int64_t v, bool known)
{
	if (!known)
		return GROUP_DESCRIBE_MISSING;
	snprintf(buf, len, "%" PRId64, v);
	return buf;
}

static int group_describe_max(int a, size_t b)
{
	return (size_t)a > b ? a : (int)b;
}

enum group_describe_outcome group_describe_print(const char *group, const char *state,
						  const struct group_describe_row *rows, int row_cnt, FILE *out,
						  FILE *err)
{
	if (state && strcmp(state, "Dead") == 0)
		return GROUP_DESCRIBE_NOT_FOUND;
	if (state && strcmp(state, "Empty") == 0)
		fprintf(err, "\nConsumer group '%s' has no active members.\n", group);
	else if (state && (strcmp(state, "PreparingRebalance") == 0 || strcmp(state, "CompletingRebalance") == 0 ||
			   strcmp(state, "Assigning") == 0 || strcmp(state, "Reconciling") == 0))
		fprintf(err, "\nWarning: Consumer group '%s' is rebalancing.\n", group);
	if (row_cnt <= 0)
		return GROUP_DESCRIBE_PRINTED;

	int wg = group_describe_max(15, strlen(group)), wt = 15, wc = 15, wh = 15;
	for (int i = 0; i < row_cnt; i++) {
		wt = group_describe_max(wt, strlen(group_describe_or_missing(rows[i].topic)));
		wc = group_describe_max(wc, strlen(group_describe_or_missing(rows[i].consumer_id)));
		wh = group_describe_max(wh, strlen(group_describe_or_missing(rows[i].host)));
	}
	fprintf(out, "\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", wg, "GROUP", wt, "TOPIC", "PARTITION",
		"CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", wc, "CONSUMER-ID", wh, "HOST", "CLIENT-ID");
	for (int i = 0; i < row_cnt; i++) {
		const struct group_describe_row *r = &rows[i];
		char pb[16], ob[24], eb[24], lb[24];
		int64_t lag = 0;
		bool has_lag = group_describe_lag(r->offset, r->log_end, &lag);
		snprintf(pb, sizeof pb, "%" PRId32, r->partition);
		fprintf(out, "%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", wg, group, wt,
			group_describe_or_missing(r->topic), pb, group_describe_i64(ob, sizeof ob, r->offset, r->offset != -1),
			group_describe_i64(eb, sizeof eb, r->log_end, r->log_end != -1), group_describe_i64(lb, sizeof lb, lag, has_lag),
			wc, group_describe_or_missing(r->consumer_id), wh, group_describe_or_missing(r->host),
			group_describe_or_missing(r->client_id));
	}
	return GROUP_DESCRIBE_PRINTED;
}

int64_t group_describe_reset_clamp(int64_t requested, int64_t log_start, int64_t log_end, bool *clamped)
{
	int64_t v = requested;
	if (log_end != -1 && v > log_end)
		v = log_end;
	else if (log_start != -1 && v < log_start)
		v = log_start;
	*clamped = v != requested;
	return v;
}

void group_describe_reset_print(const char *group, struct group_describe_offset *plan, int n, FILE *out)
{
	if (n > 0)
		qsort(plan, (size_t)n, sizeof *plan, group_describe_offset_cmp);
	int wg = group_describe_max(15, strlen(group)), wt = 15;
	for (int i = 0; i < n; i++)
		wt = group_describe_max(wt, strlen(plan[i].topic));
	if (n > 0)
		fprintf(out, "\n%-*s %-*s %-10s %s\n", wg, "GROUP", wt, "TOPIC", "PARTITION", "NEW-OFFSET");
	for (int i = 0; i < n; i++) {
		char pb[16];
		snprintf(pb, sizeof pb, "%" PRId32, plan[i].partition);
		fprintf(out, "%-*s %-*s %-10s %" PRId64 "\n", wg, group, wt, plan[i].topic, pb, plan[i].offset);
	}
}

/* One partition number of "T:0,2": a whole decimal in [0, INT32_MAX]. */
static int group_describe_partition(const char *s, size_t len, int32_t *out)
{
	if (len == 0 || len > 10)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT32_MAX)
		return -1;
	*out = (int32_t)v;
	return 0;
}

int group_describe_parse_topic(const char *arg, char **topic, int32_t **parts, int *n, char *err, size_t errlen)
{
	*topic = NULL;
	*parts = NULL;
	*n = 0;
	const char *colon = strchr(arg, ':');
	size_t tlen = colon ? (size_t)(colon - arg) : strlen(arg);
	if (tlen == 0) {
		snprintf(err, errlen, "Invalid topic arg '%s', expected topic name and partitions", arg);
		return -1;
	}
	if (colon && strchr(colon + 1, ':')) {
		snprintf(err, errlen, "Invalid topic arg '%s', expected topic name and partitions", arg);
		return -1;
	}
	int cnt = 0;
	int32_t *ps = NULL;
	if (colon) {
		const char *list = colon + 1;
		int max = 1;
		for (const char *c = list; *c; c++)
			max += *c == ',';
		ps = calloc((size_t)max, sizeof *ps);
		if (!ps) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (const char *s = list;;) {
			const char *e = strchr(s, ',');
			size_t len = e ? (size_t)(e - s) : strlen(s);
			if (group_describe_partition(s, len, &ps[cnt]) != 0) {
				snprintf(err, errlen, "Invalid partition '%.*s' specified in topic arg '%s'", (int)len, s,
					 arg);
				free(ps);
				return -1;
			}
			cnt++;
			if (!e)
				break;
			s = e + 1;
		}
	}
	char *t = strndup(arg, tlen);
	if (!t) {
		free(ps);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*topic = t;
	*parts = ps;
	*n = cnt;
	return 0;
}
