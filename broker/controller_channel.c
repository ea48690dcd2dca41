#include "broker/controller_channel.h"

#include <stdio.h>
#include <stdbool.h>
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
	unsigned bootstrap_next; /* which bootstrap server to try next */
};

/* controller.quorum.bootstrap.servers entry `i` (mod their count) into
 * host/port; -1 when there are none. */
static int controller_channel_bootstrap(const struct broker_config *cfg, unsigned i, char *host, size_t hostlen,
					int *port)
{
	const char *list = cfg->controller_quorum_bootstrap_servers;
	if (list == NULL || list[0] == '\0')
		return -1;
	unsigned n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	i %= n;
	const char *s = list;
	for (unsigned k = 0; k < i; k++)
		s = strchr(s, ',') + 1;
	size_t len = strcspn(s, ",");
	const char *colon = memrchr(s, ':', len);
	if (colon == NULL || (size_t)(colon - s) >= hostlen)
		return -1;
	snprintf(host, hostlen, "%.*s", (int)(colon - s), s);
	*port = atoi(colon + 1);
	return *port > 0 ? 0 : -1;
}

static bool controller_channel_is_voter(const struct broker_config *cfg)
{
	for (int i = 0; i < cfg->voter_count; i++)
		if (cfg->voter_list[i].id == cfg->node_id)
			return true;
	return false;
}

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
static int controller_channel_aim(struct controller_channel *ch, int32_t node, const char *host, int port);

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
	if (st.leader_id < 0 && !controller_channel_is_voter(b->cfg)) {
		/* A node beyond the voters learns the leader only once the
		 * quorum took it in, which needs its registration first: it
		 * registers through a broker of controller.quorum.bootstrap.servers
		 * (read as broker listeners of existing members), which forwards
		 * to the controller. A new server each time the last failed. */
		if (ch->node == -2 && ch->client != NULL && net_client_connected(ch->client))
			return CONTROLLER_CHANNEL_REMOTE;
		char host[256];
		int port = 0;
		if (controller_channel_bootstrap(b->cfg, ch->bootstrap_next++, host, sizeof host, &port) != 0)
			return CONTROLLER_CHANNEL_NONE;
		return controller_channel_aim(ch, -2, host, port);
	}
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
	return controller_channel_aim(ch, st.leader_id, host, port);
}

void controller_channel_leader_changed(struct controller_channel *ch)
{
	if (ch == NULL)
		return;
	int32_t leader;
	/* Re-aims at the new leader, failing what waits on the former one. */
	if (controller_channel_target(ch, &leader) == CONTROLLER_CHANNEL_REMOTE || ch->client == NULL)
		return;
	struct net_client *old = ch->client; /* its callbacks may send again: detach first */
	ch->client = NULL;
	ch->node = -1;
	net_client_free(old);
}

/* Points the connection at `node` (-2: a bootstrap server) on host:port. */
static int controller_channel_aim(struct controller_channel *ch, int32_t node, const char *host, int port)
{
	struct broker *b = ch->b;
	if (ch->client != NULL && ch->node == node && strcmp(ch->host, host) == 0 && ch->port == port)
		return CONTROLLER_CHANNEL_REMOTE;
	struct net_client *old = ch->client;
	ch->client = NULL;
	ch->node = -1;
	net_client_free(old); /* fails what was queued for the former leader */
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
	ch->node = node;
	snprintf(ch->host, sizeof ch->host, "%s", host);
	ch->port = port;
	if (node >= 0)
		tlog(TLOG_INFO, CONTROLLER_CHANNEL_LOG, "controller is node %d at %s:%d", (int)node, host, port);
	else
		tlog(TLOG_INFO, CONTROLLER_CHANNEL_LOG, "no controller known: registering through %s:%d", host, port);
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
