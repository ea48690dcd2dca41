/* Fuzz target for the metadata records (raft/records.c) and what consumes
 * them (raft/image.c). The first byte picks the mode:
 *   even: the rest is one Raft entry. Whatever decodes must re-encode to a
 *         canonical form that decodes again to the same bytes, and applying
 *         it to a small image must not fail.
 *   odd:  the rest is a snapshot; whatever restores must snapshot again to
 *         bytes that restore.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/logger.h"
#include "raft/image.h"
#include "raft/records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct metadata_image *fuzz_base;

/* A small image for records to land on: broker 1, topic "t" (id 01..01)
 * with partition 0. */
static struct metadata_image *fuzz_base_image(void)
{
	static const int32_t replicas[] = {1};
	struct metadata_record recs[3] = {
		{.type = METADATA_REGISTER_BROKER},
		{.type = METADATA_TOPIC},
		{.type = METADATA_PARTITION},
	};
	recs[0].register_broker.broker_id = 1;
	recs[1].topic.name = "t";
	memset(recs[1].topic.topic_id, 1, 16);
	memset(recs[2].partition.topic_id, 1, 16);
	recs[2].partition.replicas = (struct metadata_id_list){replicas, 1};
	recs[2].partition.isr = (struct metadata_id_list){replicas, 1};
	recs[2].partition.leader = 1;
	struct metadata_image *img = image_empty();
	for (int i = 0; i < 3; i++) {
		struct metadata_image *next;
		if (image_apply(img, &recs[i], &next) != 0)
			abort();
		image_unref(img);
		img = next;
	}
	return img;
}

static void fuzz_record(const uint8_t *p, size_t n)
{
	struct metadata_record *rec;
	if (records_decode(p, n, &rec) != 0)
		return;
	uint8_t *a, *b;
	size_t alen, blen;
	if (records_encode(rec, &a, &alen) != 0)
		abort();
	struct metadata_record *again;
	if (records_decode(a, alen, &again) != 0)
		abort();
	if (records_encode(again, &b, &blen) != 0 || blen != alen || memcmp(a, b, alen) != 0)
		abort();
	struct metadata_image *next;
	if (image_apply(fuzz_base, rec, &next) != 0)
		abort();
	image_unref(next);
	records_free(again);
	records_free(rec);
	free(a);
	free(b);
}

static void fuzz_snapshot(const uint8_t *p, size_t n)
{
	struct metadata_image *img;
	if (image_from_snapshot(p, n, &img) != 0)
		return;
	uint8_t *a;
	size_t alen;
	if (image_encode_snapshot(img, &a, &alen) != 0)
		abort();
	struct metadata_image *back;
	if (image_from_snapshot(a, alen, &back) != 0)
		abort();
	image_unref(back);
	image_unref(img);
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_base == NULL) {
		logger_set_level(TLOG_ERROR);
		fuzz_base = fuzz_base_image();
	}
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_record(data + 1, size - 1);
	else
		fuzz_snapshot(data + 1, size - 1);
	return 0;
}
