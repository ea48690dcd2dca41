/* AllocateProducerIds (67): another broker asks this node's active
 * controller for a block of producer ids (broker/producer_ids.c is the
 * sending side).
 *
 * Served only with a quorum and never listed in ApiVersions (internal). A
 * node that is not the active controller forwards it, as AlterPartition, or
 * answers NOT_CONTROLLER; the sender asks again. The block is answered once
 * the ProducerIds record that hands it out committed, or NOT_CONTROLLER if
 * it did not: a block is never used before it is in the metadata log.
 */
#include <stdlib.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/controller_host.h"
#include "broker/protocol/allocate_producer_ids.h"
#include "broker/protocol/errors.h"
#include "raft/controller.h"

/* A request waiting for its proposal (owned until the reply is sent). */
struct allocate_call {
	struct api_request *req;
	struct controller_producer_ids_reply reply;
};

static void api_allocate_producer_ids_reply(struct api_request *req, int16_t error,
					    const struct controller_producer_ids_reply *r)
{
	struct allocate_producer_ids_response resp = {
		.error_code = error,
		.producer_id_start = error == KERR_NONE ? r->producer_id_start : -1,
		.producer_id_len = error == KERR_NONE ? r->producer_id_len : 0,
	};
	struct kwriter w;
	kw_init(&w, 32);
	allocate_producer_ids_response_encode(&w, req->hdr.api_version, &resp);
	api_respond(req, &w);
}

static void api_allocate_producer_ids_done(void *arg, int16_t error)
{
	struct allocate_call *c = arg;
	api_allocate_producer_ids_reply(c->req, error != KERR_NONE ? error : c->reply.error_code, &c->reply);
	free(c);
}

static void api_allocate_producer_ids_not_controller(struct api_request *req)
{
	api_allocate_producer_ids_reply(req, KERR_NOT_CONTROLLER, NULL);
}

void api_allocate_producer_ids_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl == NULL) {
		if (!api_forward(req, api_allocate_producer_ids_not_controller))
			api_allocate_producer_ids_not_controller(req);
		return;
	}
	struct allocate_producer_ids_request in;
	if (allocate_producer_ids_request_decode(&req->body, req->hdr.api_version, &in) != 0) {
		api_close(req);
		return;
	}
	struct allocate_call *c = calloc(1, sizeof *c);
	if (c == NULL) {
		api_allocate_producer_ids_reply(req, KERR_UNKNOWN_SERVER_ERROR, NULL);
		return;
	}
	c->req = req;
	struct controller_proposal *p = NULL;
	if (controller_allocate_producer_ids(ctl, in.broker_id, in.broker_epoch, controller_host_now_ms(), &c->reply,
					     &p) != 0) {
		free(c);
		api_allocate_producer_ids_reply(req, KERR_UNKNOWN_SERVER_ERROR, NULL);
		return;
	}
	/* With an error there is no proposal: the reply goes out on the next
	 * loop turn. */
	if (controller_host_commit(b->controller, p, api_allocate_producer_ids_done, c) != 0) {
		free(c);
		api_allocate_producer_ids_reply(req, KERR_NOT_CONTROLLER, NULL);
	}
}
