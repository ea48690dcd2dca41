#include "broker/controller_channel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_internal.h"
#include "broker/logger.h"
#include "broker/metadata.h"
#include "raft/image.h"

#define CONTROLLER_CHANNEL_LOG "controller-channel"
/* Forwarded produce-sized admin requests are small; a response this large
 * from a controller is a protocol error. */
#define CONTROLLER_CHANNEL_MAX_RESPONSE (64 * 1024 * 1024)

struct controller_channel {
	struct broker *b;          /* borrowed */
	struct net_client *client; /* owned; aimed at `node` */
	int32_t node;              /* -1: none */
	char host[256];
	int port;
	int32_t next_correlation_id;
};

struct controller_channel *controller_channel_new(struct broker *b)
{
	struct controller_channel *ch = calloc(1, sizeof *ch);
	if (ch == NULL)
		return NULL;
	ch->b = b;
	ch->node = -1;
	return ch;
}

void controller_channel_free(struct controller_channel *ch)
{
	if (ch == NULL)
		return;
	net_client_free(ch->client);
	free(ch);
}

/* The endpoint clients use on broker `id`: its first endpoint that is not a
 * controller listener (brokers register only their broker listener). */
static int controller_channel_endpoint(const struct metadata_image *img, int32_t id, char *host, size_t hostlen,
				       int *port)
{
	const struct image_broker *br = image_broker(img, id);
	if (br == NULL || br->n_endpoints == 0)
		return -1;
	snprintf(host, hostlen, "%s", br->endpoints[0].host);
	*port = br->endpoints[0].port;
	return 0;
}

int controller_channel_target(struct controller_channel *ch, int32_t *leader_id)
{
	struct broker *b = ch->b;
	struct quorum_status st;
	metadata_quorum_status(b->metadata, &st);
	*leader_id = st.leader_id;
	if (st.leader_id < 0)
		return CONTROLLER_CHANNEL_NONE;
	if (st.leader_id == b->cfg->node_id)
		return CONTROLLER_CHANNEL_LOCAL;
	if (ch->node == st.leader_id && ch->client != NULL)
		return CONTROLLER_CHANNEL_REMOTE;

	char host[256];
	int port = 0;
	struct metadata_image *img = metadata_image(b->metadata);
	int rc = controller_channel_endpoint(img, st.leader_id, host, sizeof host, &port);
	image_unref(img);
	if (rc != 0)
		return CONTROLLER_CHANNEL_NONE;
	net_client_free(ch->client); /* fails what was queued for the former leader */
	ch->client = NULL;
	struct net_client_config cc = {
		.host = host,
		.port = port,
		.max_response_bytes = CONTROLLER_CHANNEL_MAX_RESPONSE,
		.connect_timeout_ms = 2000,
		.request_timeout_ms = 10000,
	};
	ch->client = net_client_new(b->base, &cc);
	if (ch->client == NULL) {
		ch->node = -1;
		return CONTROLLER_CHANNEL_NONE;
	}
	ch->node = st.leader_id;
	snprintf(ch->host, sizeof ch->host, "%s", host);
	ch->port = port;
	tlog(TLOG_INFO, CONTROLLER_CHANNEL_LOG, "controller is node %d at %s:%d", (int)st.leader_id, host, port);
	return CONTROLLER_CHANNEL_REMOTE;
}

int controller_channel_send(struct controller_channel *ch, const uint8_t *frame, size_t len, net_client_cb cb,
			    void *arg)
{
	int32_t leader;
	if (len < 8 || controller_channel_target(ch, &leader) != CONTROLLER_CHANNEL_REMOTE)
		return -1;
	uint8_t *copy = malloc(len);
	if (copy == NULL)
		return -1;
	memcpy(copy, frame, len);
	uint32_t id = (uint32_t)(ch->next_correlation_id++ & 0x7fffffff);
	copy[4] = (uint8_t)(id >> 24);
	copy[5] = (uint8_t)(id >> 16);
	copy[6] = (uint8_t)(id >> 8);
	copy[7] = (uint8_t)id;
	int rc = net_client_send(ch->client, copy, len, true, cb, arg);
	free(copy);
	return rc == 0 ? 0 : -1;
}
