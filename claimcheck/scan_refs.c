/* scan_refs: the object keys referenced by stored batches, for the objects'
 * lifecycle (retention and topic deletion). */
#include "claimcheck/claimcheck.h"

#include <stdlib.h>
#include <string.h>

#include "broker/protocol/batch.h"
#include "claimcheck/rewrite_internal.h"

/* Object keys are short ("<topic>/<partition>/<hash>"); longer ones still go
 * through a heap copy. */
#define CLAIMCHECK_SCAN_REFS_KEY_BUF 512

/* Calls fn with the key as a C string; keys that are empty or hold a NUL are
 * not references we wrote and are skipped. Returns 1 when counted, 0 when
 * skipped, CLAIMCHECK_ENOMEM. */
static int claimcheck_scan_refs_key(struct kbytes v, void (*fn)(void *arg, const char *key), void *arg)
{
	if (v.len <= 0 || memchr(v.p, '\0', (size_t)v.len) != NULL)
		return 0;
	char small[CLAIMCHECK_SCAN_REFS_KEY_BUF];
	char *key = small;
	if ((size_t)v.len >= sizeof(small)) {
		key = malloc((size_t)v.len + 1);
		if (key == NULL)
			return CLAIMCHECK_ENOMEM;
	}
	memcpy(key, v.p, (size_t)v.len);
	key[v.len] = '\0';
	if (fn != NULL)
		fn(arg, key);
	if (key != small)
		free(key);
	return 1;
}

static int claimcheck_scan_refs_batch(const uint8_t *batch, size_t size, void (*fn)(void *arg, const char *key),
				      void *arg)
{
	struct batch_header h;
	if (batch_header_parse(batch, size, &h) != 0 || h.magic != 2 || (h.attributes & BATCH_ATTR_CONTROL) ||
	    h.records_count <= 0)
		return 0;
	int codec = h.attributes & BATCH_ATTR_COMPRESSION_MASK;
	if (codec == BATCH_COMPRESSION_NONE &&
	    memmem(batch + BATCH_HEADER_SIZE, size - BATCH_HEADER_SIZE, CLAIMCHECK_HEADER_KEY,
		   strlen(CLAIMCHECK_HEADER_KEY)) == NULL)
		return 0;
	struct batch_records recs;
	int rc = claimcheck_rewrite_records_error(batch_records_open(batch, size, CLAIMCHECK_REWRITE_MAX_AREA, &recs));
	if (rc != CLAIMCHECK_OK)
		return rc == CLAIMCHECK_ENOMEM ? rc : CLAIMCHECK_EINVALID;
	struct kreader r;
	kr_init(&r, recs.p, recs.len);
	int count = 0;
	for (int32_t i = 0; i < h.records_count; i++) {
		struct record rec;
		if (record_decode(&r, &rec) != RECORD_OK) {
			count = CLAIMCHECK_EINVALID;
			break;
		}
		struct record_header_iter it;
		struct record_header hd;
		record_header_iter_init(&it, &rec);
		while (record_header_iter_next(&it, &hd)) {
			if (claimcheck_rewrite_ref_header(hd.key) != CLAIMCHECK_REWRITE_HDR_KEY)
				continue;
			int n = claimcheck_scan_refs_key(hd.value, fn, arg);
			if (n < 0) {
				batch_records_free(&recs);
				return n;
			}
			count += n;
		}
	}
	batch_records_free(&recs);
	return count;
}

int claimcheck_scan_refs(const uint8_t *data, size_t len, void (*fn)(void *arg, const char *key), void *arg)
{
	struct batch_iter it;
	batch_iter_init(&it, data, len);
	const uint8_t *batch;
	size_t size;
	int total = 0;
	while (batch_iter_next(&it, &batch, &size)) {
		int n = claimcheck_scan_refs_batch(batch, size, fn, arg);
		if (n < 0)
			return n;
		total = total > INT32_MAX - n ? INT32_MAX : total + n;
	}
	if (it.err != 0)
		return CLAIMCHECK_EINVALID;
	return total;
}
