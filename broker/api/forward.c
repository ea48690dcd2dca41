/* Forwarding of admin requests to the active controller (KIP-590's idea:
 * any broker accepts CreateTopics & co. and passes them on).
 *
 * The request goes out as the client sent it, with two changes: the
 * channel's correlation id, and the client id "tern-forwarded", which tells
 * the receiver not to forward it again (two brokers with stale, crossed
 * views of the leader would otherwise bounce it between them). The answer
 * comes back byte for byte with the client's correlation id restored.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/controller_channel.h"
#include "broker/logger.h"
#include "broker/net/net.h"

#define FORWARD_CLIENT_ID "tern-forwarded"

struct forward_call {
	struct api_request *req;
	void (*fail)(struct api_request *req);
};

bool api_forwarded(const struct api_request *req)
{
	size_t n = strlen(FORWARD_CLIENT_ID);
	return req->hdr.client_id.len == (int32_t)n && memcmp(req->hdr.client_id.p, FORWARD_CLIENT_ID, n) == 0;
}

static void api_forward_cb(void *arg, int status, const uint8_t *resp, size_t len)
{
	struct forward_call *fc = arg;
	struct api_request *req = fc->req;
	void (*fail)(struct api_request *) = fc->fail;
	free(fc);
	if (status != 0 || len < 4) {
		tlog(TLOG_INFO, "forward", "api=%d corr=%d: the controller did not answer (%d)", req->hdr.api_key,
		     req->hdr.correlation_id, status);
		fail(req);
		return;
	}
	uint8_t *out = malloc(len);
	if (out == NULL) {
		fail(req);
		return;
	}
	memcpy(out, resp, len);
	uint32_t id = (uint32_t)req->hdr.correlation_id;
	out[0] = (uint8_t)(id >> 24);
	out[1] = (uint8_t)(id >> 16);
	out[2] = (uint8_t)(id >> 8);
	out[3] = (uint8_t)id;
	net_request_respond(req->net, out, len);
	free(req);
}

bool api_forward(struct api_request *req, void (*fail)(struct api_request *req))
{
	struct broker *b = req->broker;
	if (b->channel == NULL || api_forwarded(req))
		return false;
	/* The header up to the client id: api_key, api_version, correlation_id
	 * (8 bytes), then the INT16-length client id; what follows (tagged
	 * fields of a v2 header, then the body) is copied unchanged. */
	size_t id_len = req->hdr.client_id.len > 0 ? (size_t)req->hdr.client_id.len : 0;
	size_t rest_off = 8 + 2 + id_len;
	if (req->frame_len < rest_off)
		return false;
	size_t fwd_id_len = strlen(FORWARD_CLIENT_ID);
	size_t len = 8 + 2 + fwd_id_len + (req->frame_len - rest_off);
	uint8_t *frame = malloc(len);
	struct forward_call *fc = malloc(sizeof *fc);
	if (frame == NULL || fc == NULL) {
		free(frame);
		free(fc);
		return false;
	}
	memcpy(frame, req->frame, 8);
	frame[8] = (uint8_t)(fwd_id_len >> 8);
	frame[9] = (uint8_t)fwd_id_len;
	memcpy(frame + 10, FORWARD_CLIENT_ID, fwd_id_len);
	memcpy(frame + 10 + fwd_id_len, req->frame + rest_off, req->frame_len - rest_off);
	fc->req = req;
	fc->fail = fail;
	int rc = controller_channel_send(b->channel, frame, len, api_forward_cb, fc);
	free(frame);
	if (rc != 0) {
		free(fc);
		return false;
	}
	return true;
}
