#include "cmd/tern/topic_id.h"

#include <stdlib.h>
#include <string.h>

#include "broker/protocol/header.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/metadata.h"
#include "cmd/tern/raw_conn.h"

#define TOPIC_ID_API_KEY 3
#define TOPIC_ID_VERSION 12
/* A Metadata answer for a handful of topics is small; this bounds what a
 * misbehaving peer can make us allocate. */
#define TOPIC_ID_MAX_RESPONSE (64 << 20)

/* One Metadata v12 round trip on a connected socket; fills ids. */
static int topic_id_ask(int fd, const char *const *names, int n, uint8_t (*ids)[16], int64_t deadline)
{
	struct metadata_request_topic *topics = calloc((size_t)n + 1, sizeof(*topics));
	if (!topics)
		return -1;
	for (int i = 0; i < n; i++)
		topics[i].name = (struct kstr){names[i], (int32_t)strlen(names[i])};
	struct metadata_request req = {.topics = topics, .topics_count = n};
	const int32_t corr = 1;
	struct request_header h = {
		.api_key = TOPIC_ID_API_KEY,
		.api_version = TOPIC_ID_VERSION,
		.correlation_id = corr,
		.client_id = {"tern", 4},
	};
	struct kwriter w;
	kw_init(&w, 256);
	size_t size_at = kw_reserve(&w, 4);
	request_header_encode(&w, 2, &h); /* flexible request: header v2 */
	metadata_request_encode(&w, TOPIC_ID_VERSION, &req);
	kw_put_i32_at(&w, size_at, (int32_t)(w.len - 4));
	free(topics);
	int rc = -1;
	uint8_t *body = NULL;
	size_t size = 0;
	if (!kw_ok(&w) || raw_conn_round_trip(fd, w.buf, w.len, TOPIC_ID_MAX_RESPONSE, &body, &size, deadline) != 0)
		goto out;

	struct kreader r;
	kr_init(&r, body, size);
	int32_t got_corr = 0;
	struct metadata_response resp;
	if (response_header_decode(&r, 1, &got_corr) != 0 || got_corr != corr ||
	    metadata_response_decode(&r, TOPIC_ID_VERSION, &resp) != 0)
		goto out;
	for (int32_t t = 0; t < resp.topics_count; t++) {
		const struct metadata_response_topic *mt = &resp.topics[t];
		if (mt->error_code != 0 || mt->name.len < 0)
			continue;
		for (int i = 0; i < n; i++)
			if (kstr_eq(mt->name, names[i]))
				memcpy(ids[i], mt->topic_id, 16);
	}
	metadata_response_free(&resp);
	rc = 0;
out:
	free(body);
	kw_free(&w);
	return rc;
}

struct topic_id_query {
	const char *const *names;
	int n;
	uint8_t (*ids)[16];
	int64_t deadline;
};

static int topic_id_ask_cb(int fd, void *arg)
{
	struct topic_id_query *q = arg;
	return topic_id_ask(fd, q->names, q->n, q->ids, q->deadline);
}

int topic_id_fetch(const char *bootstrap, const char *const *names, int n, uint8_t (*ids)[16],
		   int timeout_ms)
{
	memset(ids, 0, (size_t)n * 16);
	struct topic_id_query q = {names, n, ids, raw_conn_now_ms() + timeout_ms};
	return raw_conn_each_server(bootstrap, q.deadline, topic_id_ask_cb, &q);
}
