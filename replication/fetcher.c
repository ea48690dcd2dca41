#include "replication/fetcher.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/logger.h"
#include "broker/net/net.h"
#include "broker/protocol/header.h"

#define FETCHER_LOG "fetcher"
#define FETCHER_VERSION 12 /* topic names, diverging epochs (KIP-320) */
#define FETCHER_CLIENT_ID "tern-replica-fetcher"
/* Partitions in one round (a bound on the request, not on the cluster). */
#define FETCHER_MAX_PARTITIONS 4096

struct fetcher {
	struct event_base *base;     /* borrowed */
	struct fetcher_config cfg;   /* host owned */
	struct fetcher_ops ops;
	struct net_client *client;   /* owned */
	struct event *next_round;    /* a round soon (poke) or after a backoff */
	bool inflight;               /* a Fetch is out */
	bool dead;                   /* being freed: drop what comes back */
	int32_t correlation_id;
};

int32_t fetcher_leader(const struct fetcher *f)
{
	return f->cfg.leader;
}

int fetcher_same_endpoint(const struct fetcher *f, const char *host, int port)
{
	return strcmp(f->cfg.host, host) == 0 && f->cfg.port == port;
}

static void fetcher_schedule(struct fetcher *f, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(f->next_round, &tv);
}

static void fetcher_response_cb(void *arg, int status, const uint8_t *resp, size_t len)
{
	struct fetcher *f = arg;
	f->inflight = false;
	if (f->dead)
		return;
	if (status != 0) {
		tlog(TLOG_DEBUG, FETCHER_LOG, "leader %d: fetch failed (%d)", (int)f->cfg.leader, status);
		fetcher_schedule(f, f->cfg.backoff_ms);
		return;
	}
	struct kreader r;
	int32_t corr;
	struct fetch_response out;
	kr_init(&r, resp, len);
	if (response_header_decode(&r, 1, &corr) != 0 || fetch_response_decode(&r, FETCHER_VERSION, &out) != 0) {
		tlog(TLOG_WARN, FETCHER_LOG, "leader %d: unreadable Fetch response", (int)f->cfg.leader);
		fetcher_schedule(f, f->cfg.backoff_ms);
		return;
	}
	bool errors = out.error_code != 0;
	for (int32_t i = 0; i < out.responses_count; i++) {
		const struct fetch_topic_response *t = &out.responses[i];
		for (int32_t j = 0; j < t->partitions_count; j++) {
			errors |= t->partitions[j].error_code != 0;
			f->ops.apply(f->ops.arg, f->cfg.leader, t->topic.p, t->topic.len > 0 ? (size_t)t->topic.len : 0,
				     &t->partitions[j]);
		}
	}
	fetch_response_free(&out);
	/* A partition in error (not the leader any more, stale epoch) waits for
	 * the metadata to move on rather than spinning. */
	fetcher_schedule(f, errors ? f->cfg.backoff_ms : 0);
}

/* Builds and sends one Fetch; false when there is nothing to fetch or it
 * could not be sent. */
static bool fetcher_send(struct fetcher *f)
{
	struct fetcher_partition *parts = calloc(FETCHER_MAX_PARTITIONS, sizeof *parts);
	struct fetch_partition *fps = calloc(FETCHER_MAX_PARTITIONS, sizeof *fps);
	struct fetch_topic *topics = calloc(FETCHER_MAX_PARTITIONS, sizeof *topics);
	bool sent = false;
	if (parts == NULL || fps == NULL || topics == NULL)
		goto out;
	size_t n = f->ops.collect(f->ops.arg, f->cfg.leader, parts, FETCHER_MAX_PARTITIONS);
	if (n == 0)
		goto out;
	int32_t nt = 0;
	for (size_t i = 0; i < n; i++) {
		if (nt == 0 || strcmp(parts[i].topic, parts[i - 1].topic) != 0) {
			topics[nt].topic.p = parts[i].topic;
			topics[nt].topic.len = (int32_t)strlen(parts[i].topic);
			topics[nt].partitions = &fps[i];
			topics[nt].partitions_count = 0;
			nt++;
		}
		fps[i] = (struct fetch_partition){
			.partition = parts[i].partition,
			.current_leader_epoch = parts[i].current_leader_epoch,
			.fetch_offset = parts[i].fetch_offset,
			.last_fetched_epoch = parts[i].last_fetched_epoch,
			.log_start_offset = parts[i].log_start_offset,
			.partition_max_bytes = f->cfg.partition_max_bytes,
		};
		topics[nt - 1].partitions_count++;
	}
	struct fetch_request req = {
		.replica_id = f->cfg.self,
		.max_wait_ms = f->cfg.max_wait_ms,
		.min_bytes = f->cfg.min_bytes,
		.max_bytes = f->cfg.max_bytes,
		.isolation_level = 0,
		.session_id = 0,
		.session_epoch = -1, /* no fetch session: full requests */
		.topics = topics,
		.topics_count = nt,
		.rack_id = {"", 0},
	};
	struct request_header h = {
		.api_key = 1,
		.api_version = FETCHER_VERSION,
		.correlation_id = f->correlation_id++ & 0x7fffffff,
		.client_id = {FETCHER_CLIENT_ID, (int32_t)strlen(FETCHER_CLIENT_ID)},
	};
	struct kwriter w;
	kw_init(&w, 512);
	request_header_encode(&w, 2, &h);
	fetch_request_encode(&w, FETCHER_VERSION, &req);
	if (kw_ok(&w) && net_client_send(f->client, w.buf, w.len, true, fetcher_response_cb, f) == 0) {
		f->inflight = true;
		sent = true;
	}
	kw_free(&w);
out:
	free(parts);
	free(fps);
	free(topics);
	return sent;
}

static void fetcher_round_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fetcher *f = arg;
	if (f->inflight || f->dead)
		return;
	(void)fetcher_send(f); /* nothing to do: idle until poked */
}

void fetcher_poke(struct fetcher *f)
{
	if (f != NULL && !f->inflight)
		fetcher_schedule(f, 0);
}

struct fetcher *fetcher_new(struct event_base *base, const struct fetcher_config *cfg, const struct fetcher_ops *ops)
{
	struct fetcher *f = calloc(1, sizeof *f);
	if (f == NULL)
		return NULL;
	f->base = base;
	f->cfg = *cfg;
	f->ops = *ops;
	f->cfg.host = strdup(cfg->host);
	/* A response holds at most max_bytes of records plus per-partition
	 * overhead; anything far larger is a protocol error. */
	struct net_client_config cc = {
		.host = cfg->host,
		.port = cfg->port,
		.max_response_bytes = cfg->max_bytes + (16 << 20),
		.connect_timeout_ms = 2000,
		.request_timeout_ms = cfg->max_wait_ms + 10000,
	};
	f->client = net_client_new(base, &cc);
	f->next_round = event_new(base, -1, 0, fetcher_round_cb, f);
	if (f->cfg.host == NULL || f->client == NULL || f->next_round == NULL) {
		fetcher_free(f);
		return NULL;
	}
	tlog(TLOG_INFO, FETCHER_LOG, "following leader %d at %s:%d", (int)cfg->leader, cfg->host, cfg->port);
	return f;
}

void fetcher_free(struct fetcher *f)
{
	if (f == NULL)
		return;
	f->dead = true;
	net_client_free(f->client); /* its callback sees `dead` and returns */
	if (f->next_round)
		event_free(f->next_round);
	free((char *)f->cfg.host);
	free(f);
}
