#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "raft/image.h"
#include "raft/record_batch.h"

static const int32_t R01[] = {0, 1};

static void three_records(struct metadata_record r[3])
{
	memset(r, 0, 3 * sizeof *r);
	r[0].type = METADATA_TOPIC;
	r[0].topic.name = "orders";
	memset(r[0].topic.topic_id, 7, 16);
	for (int i = 1; i < 3; i++) {
		r[i].type = METADATA_PARTITION;
		memset(r[i].partition.topic_id, 7, 16);
		r[i].partition.partition_id = i - 1;
		r[i].partition.replicas = (struct metadata_id_list){R01, 2};
		r[i].partition.isr = (struct metadata_id_list){R01, 2};
		r[i].partition.leader = 0;
	}
}

static uint8_t *encode(const struct metadata_record *r, size_t n, size_t *len)
{
	assert_int_equal(record_batch_encoded_size(r, n, len), 0);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(record_batch_encode_into(r, n, buf, *len), 0);
	return buf;
}

static void record_batch__round_trip_and_apply_all(void **state)
{
	(void)state;
	struct metadata_record r[3];
	three_records(r);
	size_t len;
	uint8_t *buf = encode(r, 3, &len);
	struct metadata_record **out;
	size_t n;
	assert_int_equal(record_batch_decode(buf, len, &out, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(out[0]->topic.name, "orders");
	assert_int_equal(out[2]->partition.partition_id, 1);
	record_batch_free(out, n);

	struct metadata_image *empty = image_empty(), *img;
	assert_int_equal(record_batch_apply(empty, buf, len, &img), 0);
	const struct image_topic *t = image_topic_by_name(img, "orders");
	assert_non_null(t);
	assert_int_equal(t->n_partitions, 2);
	image_unref(img);

	/* A wrong length is refused. */
	assert_int_equal(record_batch_encode_into(r, 3, buf, len - 1), -EINVAL);
	free(buf);
	image_unref(empty);
}

static void record_batch__one_record_is_a_plain_entry(void **state)
{
	(void)state;
	struct metadata_record r[3];
	three_records(r);
	size_t len, plain_len;
	uint8_t *buf = encode(r, 1, &len);
	uint8_t *plain;
	assert_int_equal(records_encode(&r[0], &plain, &plain_len), 0);
	assert_int_equal(len, plain_len);
	assert_memory_equal(buf, plain, len);
	struct metadata_record **out;
	size_t n;
	assert_int_equal(record_batch_decode(plain, plain_len, &out, &n), 0);
	assert_int_equal(n, 1);
	record_batch_free(out, n);
	free(plain);
	free(buf);
	assert_int_equal(record_batch_encoded_size(r, 0, &len), -EINVAL);
}

static void record_batch__malformed_is_skipped_whole(void **state)
{
	(void)state;
	struct metadata_record r[3];
	three_records(r);
	size_t len;
	uint8_t *buf = encode(r, 3, &len);
	struct metadata_record **out;
	size_t n;
	struct metadata_image *empty = image_empty(), *img;
	/* Truncated: the last frame is cut. */
	assert_int_equal(record_batch_decode(buf, len - 1, &out, &n), -EBADMSG);
	assert_int_equal(record_batch_apply(empty, buf, len - 1, &img), -EBADMSG);
	assert_ptr_equal(img, empty);
	assert_int_equal(image_topic_count(img), 0);
	image_unref(img);
	/* A count past what the bytes can hold. */
	buf[7] = 0xff;
	assert_int_equal(record_batch_decode(buf, len, &out, &n), -EBADMSG);
	/* A count of one frame fewer leaves trailing bytes. */
	buf[7] = 2;
	assert_int_equal(record_batch_decode(buf, len, &out, &n), -EBADMSG);
	/* Every byte cut is refused without a crash. */
	buf[7] = 3;
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(record_batch_decode(buf, cut, &out, &n), 0);
	free(buf);
	image_unref(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_batch__round_trip_and_apply_all),
		cmocka_unit_test(record_batch__one_record_is_a_plain_entry),
		cmocka_unit_test(record_batch__malformed_is_skipped_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
