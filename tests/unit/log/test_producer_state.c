#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/producer_state.h"
#include "log/log_fixture.h"

/* The header of a batch of `n` records from producer `pid`, as the leader
 * sees it before offsets are assigned (base_offset 0) or as appended. */
static struct batch_header fx_hdr(int64_t pid, int16_t epoch, int32_t seq, int n, int64_t base_offset, int64_t ts)
{
	return (struct batch_header){
		.base_offset = base_offset,
		.magic = 2,
		.last_offset_delta = n - 1,
		.base_timestamp = ts,
		.max_timestamp = ts,
		.producer_id = pid,
		.producer_epoch = epoch,
		.base_sequence = seq,
		.records_count = n,
	};
}

/* Appends a batch of n records to `ps` at *next (advanced). */
static void fx_update(struct producer_state *ps, int64_t *next, int64_t pid, int16_t epoch, int32_t seq, int n)
{
	struct batch_header h = fx_hdr(pid, epoch, seq, n, *next, 1000 + *next);
	assert_int_equal(producer_state_prepare(ps, pid), 0);
	assert_int_equal(producer_state_update(ps, &h), 0);
	*next += n;
}

static enum producer_state_result fx_check(const struct producer_state *ps, int64_t pid, int16_t epoch, int32_t seq,
					   int n, struct producer_state_verdict *v)
{
	struct batch_header h = fx_hdr(pid, epoch, seq, n, 0, 0);
	producer_state_check(ps, &h, v);
	return v->result;
}

static void producer_state_last_seq__wraps_past_int32_max(void **state)
{
	(void)state;
	assert_int_equal(producer_state_last_seq(0, 4), 4);
	assert_int_equal(producer_state_last_seq(INT32_MAX - 2, 2), INT32_MAX);
	assert_int_equal(producer_state_last_seq(INT32_MAX - 2, 3), 0);
	assert_int_equal(producer_state_last_seq(INT32_MAX, 5), 4);
	assert_int_equal(producer_state_last_seq(PRODUCER_STATE_NO_SEQUENCE, 5), PRODUCER_STATE_NO_SEQUENCE);
}

static void producer_state_check__unknown_producer_any_sequence(void **state)
{
	(void)state;
	struct producer_state ps;
	producer_state_init(&ps);
	struct producer_state_verdict v;
	/* New, or forgotten (expired, or its batches gone): KIP-360. */
	assert_int_equal(fx_check(&ps, 7, 0, 0, 1, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_check(&ps, 7, 3, 12345, 1, &v), PRODUCER_STATE_NEW);
	assert_int_equal(v.known_epoch, PRODUCER_STATE_NO_EPOCH);
	assert_int_equal(v.known_last_seq, PRODUCER_STATE_NO_SEQUENCE);
	assert_int_equal(v.first_offset, -1);
	/* Not idempotent: never tracked, never refused. */
	int64_t next = 0;
	struct batch_header h = fx_hdr(-1, -1, -1, 3, 0, 1);
	assert_int_equal(producer_state_update(&ps, &h), 0);
	assert_int_equal(ps.count, 0);
	assert_int_equal(fx_check(&ps, -1, -1, -1, 3, &v), PRODUCER_STATE_NEW);

	/* Another producer's state says nothing about this one. */
	fx_update(&ps, &next, 8, 0, 0, 2);
	assert_int_equal(fx_check(&ps, 7, 0, 99, 1, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_check(&ps, 9, 0, 99, 1, &v), PRODUCER_STATE_NEW);
	producer_state_free(&ps);
}

static void producer_state_check__in_sequence_and_gaps(void **state)
{
	(void)state;
	struct producer_state ps;
	producer_state_init(&ps);
	int64_t next = 0;
	fx_update(&ps, &next, 5, 0, 0, 5); /* seq 0-4 */
	fx_update(&ps, &next, 5, 0, 5, 3); /* seq 5-7 */
	struct producer_state_verdict v;
	assert_int_equal(fx_check(&ps, 5, 0, 8, 2, &v), PRODUCER_STATE_NEW);
	assert_int_equal(v.known_epoch, 0);
	assert_int_equal(v.known_last_seq, 7);
	/* A gap. */
	assert_int_equal(fx_check(&ps, 5, 0, 9, 1, &v), PRODUCER_STATE_OUT_OF_ORDER);
	assert_int_equal(v.known_last_seq, 7);
	/* Overlapping a cached batch without matching it exactly. */
	assert_int_equal(fx_check(&ps, 5, 0, 5, 2, &v), PRODUCER_STATE_OUT_OF_ORDER);
	assert_int_equal(fx_check(&ps, 5, 0, 6, 2, &v), PRODUCER_STATE_OUT_OF_ORDER);
	assert_int_equal(fx_check(&ps, 5, 0, 0, 8, &v), PRODUCER_STATE_OUT_OF_ORDER);
	/* Going back. */
	assert_int_equal(fx_check(&ps, 5, 0, 7, 1, &v), PRODUCER_STATE_OUT_OF_ORDER);
	assert_int_equal(fx_check(&ps, 5, 0, 0, 1, &v), PRODUCER_STATE_OUT_OF_ORDER);
	producer_state_free(&ps);
}

static void producer_state_check__duplicate_answers_original_offsets(void **state)
{
	(void)state;
	struct producer_state ps;
	producer_state_init(&ps);
	int64_t next = 100;
	fx_update(&ps, &next, 5, 2, 0, 4);  /* offsets 100-103 */
	fx_update(&ps, &next, 6, 0, 0, 1);  /* another producer in between: 104 */
	fx_update(&ps, &next, 5, 2, 4, 10); /* 105-114 */
	struct producer_state_verdict v;
	assert_int_equal(fx_check(&ps, 5, 2, 0, 4, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(v.first_offset, 100);
	assert_int_equal(v.last_offset, 103);
	assert_int_equal(v.max_timestamp, 1100);
	assert_int_equal(fx_check(&ps, 5, 2, 4, 10, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(v.first_offset, 105);
	assert_int_equal(v.last_offset, 114);
	assert_int_equal(v.max_timestamp, 1105);
	assert_int_equal(fx_check(&ps, 6, 0, 0, 1, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(v.first_offset, 104);
	/* Same first sequence, other length: not the same batch. */
	assert_int_equal(fx_check(&ps, 5, 2, 4, 9, &v), PRODUCER_STATE_OUT_OF_ORDER);
	assert_int_equal(v.first_offset, -1);
	/* The state did not change: the duplicate is still answered. */
	assert_int_equal(fx_check(&ps, 5, 2, 0, 4, &v), PRODUCER_STATE_DUPLICATE);
	producer_state_free(&ps);
}

static void producer_state_check__window_of_five_batches(void **state)
{
	(void)state;
	struct producer_state ps;
	producer_state_init(&ps);
	int64_t next = 0;
	for (int i = 0; i < 6; i++)
		fx_update(&ps, &next, 42, 1, i * 2, 2); /* seq 2i..2i+1 at offsets 2i..2i+1 */
	const struct producer_state_entry *e = producer_state_find(&ps, 42);
	assert_non_null(e);
	assert_int_equal(e->nbatches, PRODUCER_STATE_BATCHES);
	assert_int_equal(e->batches[0].first_seq, 2);
	assert_int_equal(e->batches[4].last_seq, 11);
	struct producer_state_verdict v;
	/* The oldest fell out of the window: Kafka answers OUT_OF_ORDER. */
	assert_int_equal(fx_check(&ps, 42, 1, 0, 2, &v), PRODUCER_STATE_OUT_OF_ORDER);
	/* The five newest are found. */
	for (int i = 1; i < 6; i++) {
		assert_int_equal(fx_check(&ps, 42, 1, i * 2, 2, &v), PRODUCER_STATE_DUPLICATE);
		assert_int_equal(v.first_offset, i * 2);
		assert_int_equal(v.last_offset, i * 2 + 1);
	}
	assert_int_equal(fx_check(&ps, 42, 1, 12, 1, &v), PRODUCER_STATE_NEW);
	producer_state_free(&ps);
}

static void producer_state_check__sequence_wraps_at_int32_max(void **state)
{
	(void)state;
	struct producer_state ps;
	producer_state_init(&ps);
	int64_t next = 0;
	fx_update(&ps, &next, 1, 0, INT32_MAX - 2, 3); /* ends exactly at INT32_MAX */
	struct producer_state_verdict v;
	assert_int_equal(fx_check(&ps, 1, 0, 0, 1, &v), PRODUCER_STATE_NEW);
	assert_int_equal(v.known_last_seq, INT32_MAX);
	/* Neither INT32_MAX + 1 as an int nor a negative sequence follows it. */
	assert_int_equal(fx_check(&ps, 1, 0, 1, 1, &v), PRODUCER_STATE_OUT_OF_ORDER);
	assert_int_equal(fx_check(&ps, 1, 0, INT32_MIN, 1, &v), PRODUCER_STATE_OUT_OF_ORDER);

	/* A batch that wraps inside: INT32_MAX-1, INT32_MAX, 0, 1. */
	struct producer_state ws;
	producer_state_init(&ws);
	next = 0;
	fx_update(&ws, &next, 1, 0, INT32_MAX - 5, 4);
	fx_update(&ws, &next, 1, 0, INT32_MAX - 1, 4);
	const struct producer_state_entry *e = producer_state_find(&ws, 1);
	assert_int_equal(e->batches[1].last_seq, 1);
	assert_int_equal(fx_check(&ws, 1, 0, INT32_MAX - 1, 4, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(v.first_offset, 4);
	assert_int_equal(fx_check(&ws, 1, 0, 2, 1, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_check(&ws, 1, 0, 0, 1, &v), PRODUCER_STATE_OUT_OF_ORDER);
	producer_state_free(&ws);
	producer_state_free(&ps);
}

static void producer_state_check__epochs(void **state)
{
	(void)state;
	struct producer_state ps;
	producer_state_init(&ps);
	int64_t next = 0;
	fx_update(&ps, &next, 3, 5, 0, 2);
	fx_update(&ps, &next, 3, 5, 2, 2);
	struct producer_state_verdict v;
	/* An older epoch is fenced, even for what would be a duplicate. */
	assert_int_equal(fx_check(&ps, 3, 4, 4, 1, &v), PRODUCER_STATE_INVALID_EPOCH);
	assert_int_equal(v.known_epoch, 5);
	assert_int_equal(fx_check(&ps, 3, 4, 0, 2, &v), PRODUCER_STATE_INVALID_EPOCH);
	/* A newer epoch starts over at 0 and nowhere else. */
	assert_int_equal(fx_check(&ps, 3, 6, 0, 1, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_check(&ps, 3, 6, 4, 1, &v), PRODUCER_STATE_OUT_OF_ORDER);
	assert_int_equal(fx_check(&ps, 3, 9, 0, 3, &v), PRODUCER_STATE_NEW);

	/* The bump replaces the cached batches. */
	fx_update(&ps, &next, 3, 6, 0, 1);
	const struct producer_state_entry *e = producer_state_find(&ps, 3);
	assert_int_equal(e->producer_epoch, 6);
	assert_int_equal(e->nbatches, 1);
	assert_int_equal(e->batches[0].last_offset, 4);
	assert_int_equal(fx_check(&ps, 3, 5, 2, 2, &v), PRODUCER_STATE_INVALID_EPOCH);
	assert_int_equal(fx_check(&ps, 3, 6, 0, 1, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(v.first_offset, 4);
	assert_int_equal(fx_check(&ps, 3, 6, 1, 1, &v), PRODUCER_STATE_NEW);

	/* A follower takes what its leader wrote, older epoch included
	 * (Kafka warns and records it). */
	struct batch_header h = fx_hdr(3, 2, 7, 1, next, 5);
	assert_int_equal(producer_state_update(&ps, &h), 0);
	assert_int_equal(producer_state_find(&ps, 3)->producer_epoch, 2);
	assert_int_equal(producer_state_find(&ps, 3)->nbatches, 1);
	producer_state_free(&ps);
}

static void producer_state_update__keeps_producers_sorted(void **state)
{
	(void)state;
	struct producer_state ps;
	producer_state_init(&ps);
	int64_t next = 0;
	/* A permutation of 0..99 (37 is prime to 100), times 1000. */
	for (int i = 0; i < 100; i++)
		fx_update(&ps, &next, (int64_t)((i * 37) % 100) * 1000, 0, 0, 1);
	assert_int_equal(ps.count, 100);
	for (size_t i = 0; i < ps.count; i++)
		assert_int_equal(ps.entries[i].producer_id, (int64_t)i * 1000);
	for (int64_t p = 0; p < 100; p++) {
		const struct producer_state_entry *e = producer_state_find(&ps, p * 1000);
		assert_non_null(e);
		assert_int_equal(e->nbatches, 1);
		assert_null(producer_state_find(&ps, p * 1000 + 1));
	}
	/* Again from each: sequences continue, no new entry. */
	for (int64_t p = 0; p < 100; p++)
		fx_update(&ps, &next, p * 1000, 0, 1, 1);
	assert_int_equal(ps.count, 100);
	assert_int_equal(producer_state_find(&ps, 5000)->batches[1].first_seq, 1);
	producer_state_clear(&ps);
	assert_int_equal(ps.count, 0);
	assert_null(producer_state_find(&ps, 0));
	producer_state_free(&ps);
}

static void producer_state_expire__by_last_timestamp(void **state)
{
	(void)state;
	struct producer_state ps;
	producer_state_init(&ps);
	const int64_t now = 1700000000000LL, exp = PRODUCER_STATE_DEFAULT_EXPIRATION_MS;
	struct { int64_t pid, ts; } rows[] = {
		{1, now - exp - 1}, /* expired */
		{2, now - exp},     /* exactly expiration_ms ago: expired (Kafka's >=) */
		{3, now - exp + 1}, /* kept */
		{4, now + 5000},    /* ahead of the clock: kept */
		{5, -1},            /* NO_TIMESTAMP: long ago */
		{6, INT64_MIN},     /* must not overflow */
		{7, now},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct batch_header h = fx_hdr(rows[i].pid, 0, 0, 1, (int64_t)i, rows[i].ts);
		assert_int_equal(producer_state_update(&ps, &h), 0);
	}
	assert_int_equal(producer_state_find(&ps, 4)->last_timestamp, now + 5000);
	assert_int_equal(producer_state_expire(&ps, now, exp), 4);
	assert_int_equal(ps.count, 3);
	assert_non_null(producer_state_find(&ps, 3));
	assert_non_null(producer_state_find(&ps, 4));
	assert_non_null(producer_state_find(&ps, 7));
	assert_null(producer_state_find(&ps, 1));
	assert_null(producer_state_find(&ps, 2));
	assert_int_equal(producer_state_expire(&ps, now, exp), 0);
	/* An expired producer is unknown again: any sequence goes. */
	struct producer_state_verdict v;
	assert_int_equal(fx_check(&ps, 1, 0, 77, 1, &v), PRODUCER_STATE_NEW);
	producer_state_free(&ps);
}

/* A state with a few producers, one wrapping, one with the full window. */
static void fx_sample(struct producer_state *ps)
{
	int64_t next = 10;
	for (int i = 0; i < 7; i++)
		fx_update(ps, &next, 9, 1, i * 3, 3);
	fx_update(ps, &next, 2, 0, INT32_MAX, 2);
	fx_update(ps, &next, 123456789012LL, 32767, 0, 1);
}

static void fx_assert_same(const struct producer_state *a, const struct producer_state *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		const struct producer_state_entry *x = &a->entries[i], *y = &b->entries[i];
		assert_int_equal(x->producer_id, y->producer_id);
		assert_int_equal(x->producer_epoch, y->producer_epoch);
		assert_int_equal(x->last_timestamp, y->last_timestamp);
		assert_int_equal(x->nbatches, y->nbatches);
		for (size_t j = 0; j < x->nbatches; j++) {
			assert_int_equal(x->batches[j].first_seq, y->batches[j].first_seq);
			assert_int_equal(x->batches[j].last_seq, y->batches[j].last_seq);
			assert_int_equal(x->batches[j].last_offset, y->batches[j].last_offset);
			assert_int_equal(x->batches[j].offset_delta, y->batches[j].offset_delta);
			assert_int_equal(x->batches[j].max_timestamp, y->batches[j].max_timestamp);
		}
	}
}

static void producer_state_encode__round_trip(void **state)
{
	(void)state;
	struct producer_state ps, back;
	producer_state_init(&ps);
	producer_state_init(&back);
	fx_sample(&ps);
	uint8_t *buf;
	size_t len;
	assert_int_equal(producer_state_encode(&ps, 1000, &buf, &len), 0);
	assert_int_equal(len, 20 + 3 * 19 + (5 + 1 + 1) * 28);
	int64_t at = -1;
	assert_int_equal(producer_state_decode(&back, buf, len, &at), 0);
	assert_int_equal(at, 1000);
	fx_assert_same(&ps, &back);
	free(buf);

	/* Empty. */
	producer_state_clear(&ps);
	assert_int_equal(producer_state_encode(&ps, 0, &buf, &len), 0);
	assert_int_equal(len, 20);
	assert_int_equal(producer_state_decode(&back, buf, len, &at), 0);
	assert_int_equal(back.count, 0);
	assert_int_equal(at, 0);
	free(buf);
	producer_state_free(&ps);
	producer_state_free(&back);
}

static void fx_put32(uint8_t *p, uint32_t v)
{
	batch_put_i32(p, (int32_t)v);
}

/* Re-seals a hand-edited snapshot so only the edited field is wrong. */
static void fx_reseal(uint8_t *buf, size_t len)
{
	fx_put32(buf + 4, crc32c(0, buf + 8, len - 8));
}

static void producer_state_decode__rejects_malformed(void **state)
{
	(void)state;
	struct producer_state ps, back;
	producer_state_init(&ps);
	producer_state_init(&back);
	fx_sample(&ps);
	uint8_t *buf;
	size_t len;
	int64_t at;
	assert_int_equal(producer_state_encode(&ps, 1000, &buf, &len), 0);
	uint8_t *copy = malloc(len + 8);

	/* Every prefix, and a trailing byte. */
	for (size_t n = 0; n < len; n++) {
		memcpy(copy, buf, len);
		assert_int_equal(producer_state_decode(&back, copy, n, &at), -EBADMSG);
		assert_int_equal(back.count, 0);
	}
	memcpy(copy, buf, len);
	copy[len] = 0;
	assert_int_equal(producer_state_decode(&back, copy, len + 1, &at), -EBADMSG);
	fx_reseal(copy, len + 1);
	assert_int_equal(producer_state_decode(&back, copy, len + 1, &at), -EBADMSG);

	/* Every single flipped bit: the CRC (or the magic) catches it. */
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, buf, len);
		copy[i] ^= 0x10;
		assert_int_equal(producer_state_decode(&back, copy, len, &at), -EBADMSG);
	}

	/* Fields out of range under a valid CRC. */
	struct {
		size_t off;
		uint32_t v;
	} edits[] = {
		{0, 0x4b414641},          /* magic */
		{16, 4},                  /* one producer more than there are */
		{16, 0xffffffffu},        /* a count the bytes cannot hold */
		{20, 0x80000000u},        /* negative producer id */
		{20 + 18, 0x06000000u},   /* six batches (u8 at 38) */
		{20 + 19 + 8, 0x00000400u}, /* first batch's last_offset 1024 >= snapshot offset 1000 */
		{20 + 19 + 16, 0xffffffffu}, /* negative offset_delta */
	};
	for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
		memcpy(copy, buf, len);
		if (edits[k].off == 20 + 18)
			copy[edits[k].off] = 6;
		else if (edits[k].off == 20 + 19 + 8)
			batch_put_i64(copy + edits[k].off, 1024);
		else
			fx_put32(copy + edits[k].off, edits[k].v);
		fx_reseal(copy, len);
		assert_int_equal(producer_state_decode(&back, copy, len, &at), -EBADMSG);
		assert_int_equal(back.count, 0);
	}
	/* Producer ids must increase strictly: 2, 9, ... (producer 2 comes
	 * first, with one batch). 2, 3 is fine; 2, 2 is not. */
	memcpy(copy, buf, len);
	size_t second = 20 + 19 + 28;
	batch_put_i64(copy + second, 3);
	fx_reseal(copy, len);
	assert_int_equal(producer_state_decode(&back, copy, len, &at), 0);
	assert_non_null(producer_state_find(&back, 3));
	batch_put_i64(copy + second, 2);
	fx_reseal(copy, len);
	assert_int_equal(producer_state_decode(&back, copy, len, &at), -EBADMSG);
	assert_int_equal(back.count, 0);
	free(copy);
	free(buf);
	producer_state_free(&ps);
	producer_state_free(&back);
}

static void producer_state_snapshot__files(void **state)
{
	(void)state;
	char *dir = fx_tmpdir();
	assert_non_null(dir);
	struct producer_state ps, back;
	producer_state_init(&ps);
	producer_state_init(&back);
	fx_sample(&ps);

	char name[32];
	producer_state_snapshot_name(1000, name);
	assert_string_equal(name, "00000000000000001000.snapshot");
	assert_int_equal(producer_state_snapshot_write(&ps, dir, 1000, true), 0);
	assert_int_equal(producer_state_snapshot_write(&ps, dir, 2000, false), 0);
	assert_false(fx_exists(dir, "00000000000000002000.snapshot.tmp"));
	/* Other files are not snapshots. */
	FILE *fp = fopen(fx_path(dir, "00000000000000000005.log"), "w");
	fclose(fp);
	fp = fopen(fx_path(dir, "0000000000000000300.snapshot"), "w");
	fclose(fp);

	int64_t *offsets;
	size_t n;
	assert_int_equal(producer_state_snapshot_list(dir, &offsets, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(offsets[0], 1000);
	assert_int_equal(offsets[1], 2000);
	free(offsets);

	assert_int_equal(producer_state_snapshot_read(&back, dir, 2000), 0);
	fx_assert_same(&ps, &back);
	assert_int_equal(producer_state_snapshot_read(&back, dir, 3000), -ENOENT);
	assert_int_equal(back.count, 0);

	/* A file under another offset's name is not trusted. */
	char from[4096];
	snprintf(from, sizeof from, "%s", fx_path(dir, "00000000000000001000.snapshot"));
	assert_int_equal(rename(from, fx_path(dir, "00000000000000004000.snapshot")), 0);
	assert_int_equal(producer_state_snapshot_read(&back, dir, 4000), -EBADMSG);
	/* Nor a truncated one, nor one past the size bound. */
	assert_int_equal(truncate(fx_path(dir, "00000000000000002000.snapshot"), 30), 0);
	assert_int_equal(producer_state_snapshot_read(&back, dir, 2000), -EBADMSG);
	assert_int_equal(truncate(fx_path(dir, "00000000000000002000.snapshot"), PRODUCER_STATE_SNAPSHOT_MAX_BYTES + 1), 0);
	assert_int_equal(producer_state_snapshot_read(&back, dir, 2000), -EBADMSG);

	assert_int_equal(producer_state_snapshot_delete(dir, 2000), 0);
	assert_int_equal(producer_state_snapshot_delete(dir, 2000), 0); /* already gone */
	assert_int_equal(producer_state_snapshot_delete(dir, 4000), 0);
	assert_int_equal(producer_state_snapshot_list(dir, &offsets, &n), 0);
	assert_int_equal(n, 0);
	assert_null(offsets);
	producer_state_free(&ps);
	producer_state_free(&back);
	fx_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(producer_state_last_seq__wraps_past_int32_max),
		cmocka_unit_test(producer_state_check__unknown_producer_any_sequence),
		cmocka_unit_test(producer_state_check__in_sequence_and_gaps),
		cmocka_unit_test(producer_state_check__duplicate_answers_original_offsets),
		cmocka_unit_test(producer_state_check__window_of_five_batches),
		cmocka_unit_test(producer_state_check__sequence_wraps_at_int32_max),
		cmocka_unit_test(producer_state_check__epochs),
		cmocka_unit_test(producer_state_update__keeps_producers_sorted),
		cmocka_unit_test(producer_state_expire__by_last_timestamp),
		cmocka_unit_test(producer_state_encode__round_trip),
		cmocka_unit_test(producer_state_decode__rejects_malformed),
		cmocka_unit_test(producer_state_snapshot__files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
