/* The __consumer_offsets record codec (see group_log.h for the layouts). */
#include "broker/group/group_log.h"

#include <stdlib.h>
#include <string.h>

/* Decodes one UTF-8 sequence at s[*i] (n bytes), advancing *i; malformed
 * bytes give U+FFFD, one per byte, as Java's decoder replaces them. */
static uint32_t group_log_utf8_next(const uint8_t *s, int32_t n, int32_t *i)
{
	uint8_t c = s[*i];
	int need;
	uint32_t cp, min;
	if (c < 0x80) {
		(*i)++;
		return c;
	} else if ((c & 0xe0) == 0xc0) {
		need = 1, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 2, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		need = 3, cp = c & 0x07, min = 0x10000;
	} else {
		(*i)++;
		return 0xfffd;
	}
	if (*i + need >= n) {
		(*i)++;
		return 0xfffd;
	}
	for (int k = 1; k <= need; k++) {
		uint8_t cc = s[*i + k];
		if ((cc & 0xc0) != 0x80) {
			(*i)++;
			return 0xfffd;
		}
		cp = (cp << 6) | (cc & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		(*i)++;
		return 0xfffd;
	}
	*i += need + 1;
	return cp;
}

int32_t group_log_partition_for(struct kstr group_id, int32_t partitions)
{
	uint32_t h = 0; /* Java's int arithmetic wraps: compute unsigned */
	const uint8_t *s = (const uint8_t *)group_id.p;
	int32_t n = group_id.len > 0 ? group_id.len : 0;
	for (int32_t i = 0; i < n;) {
		uint32_t cp = group_log_utf8_next(s, n, &i);
		if (cp >= 0x10000) {
			/* Outside the BMP: two UTF-16 code units (a surrogate pair). */
			cp -= 0x10000;
			h = 31 * h + (0xd800 + (cp >> 10));
			h = 31 * h + (0xdc00 + (cp & 0x3ff));
		} else {
			h = 31 * h + cp;
		}
	}
	int32_t hs = (int32_t)h;
	/* Kafka's Utils.abs: Integer.MIN_VALUE maps to 0, not to itself. */
	int32_t a = hs == INT32_MIN ? 0 : (hs < 0 ? -hs : hs);
	return a % partitions;
}

/* ---- encoding ---- */

static void group_log_kstr_nonnull(struct kwriter *w, struct kstr s)
{
	kw_string(w, s.len >= 0 ? s.p : "", s.len >= 0 ? s.len : 0);
}

static void group_log_cstr_nonnull(struct kwriter *w, const char *s)
{
	kw_string(w, s ? s : "", s ? (int32_t)strlen(s) : 0);
}

static void group_log_cstr_nullable(struct kwriter *w, const char *s)
{
	kw_string(w, s, s ? (int32_t)strlen(s) : -1);
}

void group_log_offset_key(struct kwriter *w, struct kstr group, struct kstr topic, int32_t partition)
{
	kw_i16(w, GROUP_LOG_OFFSET_KEY_VERSION);
	group_log_kstr_nonnull(w, group);
	group_log_kstr_nonnull(w, topic);
	kw_i32(w, partition);
}

void group_log_offset_value(struct kwriter *w, int64_t offset, int32_t leader_epoch, struct kstr metadata,
			    int64_t commit_timestamp_ms)
{
	kw_i16(w, GROUP_LOG_OFFSET_VALUE_VERSION);
	kw_i64(w, offset);
	kw_i32(w, leader_epoch);
	group_log_kstr_nonnull(w, metadata);
	kw_i64(w, commit_timestamp_ms);
}

void group_log_group_key(struct kwriter *w, struct kstr group)
{
	kw_i16(w, GROUP_LOG_GROUP_KEY_VERSION);
	group_log_kstr_nonnull(w, group);
}

void group_log_group_value(struct kwriter *w, const struct group_store_group *g)
{
	kw_i16(w, GROUP_LOG_GROUP_VALUE_VERSION);
	group_log_cstr_nonnull(w, g->protocol_type);
	kw_i32(w, g->generation_id);
	group_log_cstr_nullable(w, g->protocol_name);
	group_log_cstr_nullable(w, g->leader);
	kw_i64(w, g->current_state_timestamp_ms);
	kw_i32(w, g->members_count);
	for (int32_t i = 0; i < g->members_count; i++) {
		const struct group_store_member *m = &g->members[i];
		group_log_cstr_nonnull(w, m->member_id);
		group_log_cstr_nullable(w, m->group_instance_id);
		group_log_cstr_nonnull(w, m->client_id);
		group_log_cstr_nonnull(w, m->client_host);
		kw_i32(w, m->rebalance_timeout_ms);
		kw_i32(w, m->session_timeout_ms);
		kw_bytes(w, m->metadata.len > 0 ? m->metadata.p : (const uint8_t *)"", m->metadata.len > 0 ? m->metadata.len : 0);
		kw_bytes(w, m->assignment.len > 0 ? m->assignment.p : (const uint8_t *)"",
			 m->assignment.len > 0 ? m->assignment.len : 0);
	}
}

/* ---- decoding ---- */

static void group_log_str(struct kreader *r, bool flexible, struct kstr *out)
{
	kr_str_f(r, flexible, out);
}

static void group_log_nullable_str(struct kreader *r, bool flexible, struct kstr *out)
{
	kr_nullable_str_f(r, flexible, out);
}

static int group_log_decode_offset_value(struct kreader *r, int16_t v, struct group_log_record *out)
{
	if (v < 0 || v > 4)
		return -1;
	bool flexible = v >= 4;
	out->offset = kr_i64(r);
	out->leader_epoch = v >= 3 ? kr_i32(r) : -1;
	group_log_str(r, flexible, &out->metadata);
	out->commit_timestamp_ms = kr_i64(r);
	out->expire_timestamp_ms = v == 1 ? kr_i64(r) : -1;
	if (flexible)
		kr_skip_tags(r);
	return kr_ok(r) ? 0 : -1;
}

/* The smallest member any version can encode (v4: four empty compact
 * strings, two int32, two empty compact bytes, an empty tag section): bounds
 * the member count by the bytes left before anything is allocated. */
#define GROUP_LOG_MEMBER_MIN_BYTES 15

static int group_log_decode_group_value(struct kreader *r, int16_t v, struct group_log_record *out)
{
	if (v < 0 || v > 4)
		return -1;
	bool flexible = v >= 4;
	group_log_str(r, flexible, &out->protocol_type);
	out->generation = kr_i32(r);
	group_log_nullable_str(r, flexible, &out->protocol);
	group_log_nullable_str(r, flexible, &out->leader);
	out->current_state_timestamp_ms = v >= 2 ? kr_i64(r) : -1;
	int32_t n = kr_array_len_f(r, flexible, GROUP_LOG_MEMBER_MIN_BYTES);
	if (!kr_ok(r) || n < 0)
		return -1;
	if (n > 0) {
		out->members = calloc((size_t)n, sizeof *out->members);
		if (!out->members)
			return -1;
	}
	out->members_count = n;
	for (int32_t i = 0; i < n && kr_ok(r); i++) {
		struct group_log_member *m = &out->members[i];
		group_log_str(r, flexible, &m->member_id);
		if (v >= 3)
			group_log_nullable_str(r, flexible, &m->group_instance_id);
		else
			m->group_instance_id = (struct kstr){NULL, -1};
		group_log_str(r, flexible, &m->client_id);
		group_log_str(r, flexible, &m->client_host);
		int32_t rebalance = v >= 1 ? kr_i32(r) : -1;
		m->session_timeout_ms = kr_i32(r);
		m->rebalance_timeout_ms = v >= 1 ? rebalance : m->session_timeout_ms;
		kr_bytes_f(r, flexible, &m->subscription);
		kr_bytes_f(r, flexible, &m->assignment);
		if (flexible)
			kr_skip_tags(r);
	}
	if (flexible)
		kr_skip_tags(r);
	return kr_ok(r) ? 0 : -1;
}

int group_log_decode(struct kbytes key, struct kbytes value, struct group_log_record *out)
{
	memset(out, 0, sizeof *out);
	out->value_version = -1;
	out->leader_epoch = -1;
	out->expire_timestamp_ms = -1;
	out->current_state_timestamp_ms = -1;
	if (key.len < 2)
		return -1;
	struct kreader r;
	kr_init(&r, key.p, (size_t)key.len);
	out->key_version = kr_i16(&r);
	switch (out->key_version) {
	case 0:
	case 1:
		out->kind = GROUP_LOG_OFFSET;
		kr_string(&r, &out->group);
		kr_string(&r, &out->topic);
		out->partition = kr_i32(&r);
		break;
	case GROUP_LOG_GROUP_KEY_VERSION:
		out->kind = GROUP_LOG_GROUP;
		kr_string(&r, &out->group);
		break;
	default:
		out->kind = GROUP_LOG_OTHER;
		return 0;
	}
	if (!kr_ok(&r))
		return -1;
	if (value.len < 0) {
		out->tombstone = true;
		return 0;
	}
	if (value.len < 2)
		return -1;
	kr_init(&r, value.p, (size_t)value.len);
	out->value_version = kr_i16(&r);
	if (out->kind == GROUP_LOG_OFFSET)
		return group_log_decode_offset_value(&r, out->value_version, out);
	return group_log_decode_group_value(&r, out->value_version, out);
}

void group_log_record_free(struct group_log_record *r)
{
	free(r->members);
	r->members = NULL;
	r->members_count = 0;
}
