/* InitProducerId (22): a producer id and epoch for an idempotent producer.
 *
 * The id comes from this broker's block of producer ids (broker/producer_ids.h):
 * at once, or once the next block arrived from the controller. As Kafka's
 * TransactionCoordinator does for a request without a transactional id, the
 * producer gets a new id with epoch 0 whatever id and epoch it sent (v3+,
 * KIP-360): an idempotent producer that lost its state starts afresh.
 *
 * Checks, in Kafka's order (KafkaApis.handleInitProducerIdRequest, then
 * TransactionCoordinator.handleInitProducerId): a producer id without an
 * epoch or the reverse is INVALID_REQUEST; with a transactional id, an empty
 * one is INVALID_REQUEST and a transaction_timeout_ms outside
 * (0, transaction.max.timeout.ms] is INVALID_TRANSACTION_TIMEOUT. Without a
 * transactional id the timeout is not looked at, as in Kafka.
 */
#include <stdlib.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/producer_ids.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/init_producer_id.h"

/* Kafka's default transaction.max.timeout.ms (15 minutes). */
#define API_TRANSACTION_MAX_TIMEOUT_MS 900000

static void api_init_producer_id_reply(struct api_request *req, int16_t error, int64_t producer_id)
{
	struct init_producer_id_response resp = {
		.error_code = error,
		.producer_id = error == KERR_NONE ? producer_id : -1,
		.producer_epoch = error == KERR_NONE ? 0 : -1,
	};
	struct kwriter w;
	kw_init(&w, 24);
	init_producer_id_response_encode(&w, req->hdr.api_version, &resp);
	api_respond(req, &w);
}

static void api_init_producer_id_done(void *arg, int16_t error, int64_t producer_id)
{
	api_init_producer_id_reply(arg, error, producer_id);
}

void api_init_producer_id_handle(struct api_request *req)
{
	struct init_producer_id_request in;
	if (init_producer_id_request_decode(&req->body, req->hdr.api_version, &in) != 0) {
		api_close(req);
		return;
	}
	int16_t error = KERR_NONE;
	if ((in.producer_id == -1) != (in.producer_epoch == -1)) {
		error = KERR_INVALID_REQUEST;
	} else if (in.transactional_id.len >= 0) {
		if (in.transactional_id.len == 0)
			error = KERR_INVALID_REQUEST;
		else if (in.transaction_timeout_ms <= 0 || in.transaction_timeout_ms > API_TRANSACTION_MAX_TIMEOUT_MS)
			error = KERR_INVALID_TRANSACTION_TIMEOUT;
		else
			/* Tern runs no transaction coordinator. Kafka's answers
			 * for a coordinator that is not there (NOT_COORDINATOR,
			 * COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS)
			 * are retriable: librdkafka and the Java producer would
			 * look for a coordinator until max.block.ms / the
			 * transaction timeout ran out. This one is fatal to both
			 * (librdkafka's rd_kafka_idemp_check_error, Java's
			 * InitProducerIdHandler): initTransactions() fails at
			 * once, naming the transactional id. */
			error = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	}
	init_producer_id_request_free(&in);
	struct producer_ids *m = req->broker->producer_ids;
	if (error == KERR_NONE && m == NULL)
		error = KERR_COORDINATOR_NOT_AVAILABLE;
	if (error != KERR_NONE) {
		api_init_producer_id_reply(req, error, -1);
		return;
	}
	producer_ids_generate(m, api_init_producer_id_done, req);
}
