/* tern metadata-quorum: the metadata quorum's state, after
 * kafka-metadata-quorum.sh.
 *
 *   tern metadata-quorum --bootstrap-server HOST:PORT describe --status
 *   tern metadata-quorum --bootstrap-server HOST:PORT describe --replication
 *
 * Asks one broker with a raw DescribeQuorum v1 request (and Metadata v12 for
 * the cluster id), over a plain TCP socket with the project's codecs, and
 * prints the answer in the shape of Kafka's tool. The broker answers from its
 * own view of the quorum: only the leader knows every member's log end, so a
 * follower's answer shows -1 where it does not know.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/protocol/describe_quorum.h"
#include "broker/protocol/header.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/metadata.h"
#include "cmd/tern/commands.h"
#include "cmd/tern/kafka_client.h"

#define MQ_TIMEOUT_MS 10000
#define MQ_METADATA_VERSION 12
#define MQ_DESCRIBE_VERSION 1
#define MQ_TOPIC "__cluster_metadata"
/* A quorum description is small: bounds what a peer can make us allocate. */
#define MQ_MAX_RESPONSE (16 << 20)

/* One connection to a broker, with a deadline for the whole command. */
struct mq_conn {
	int fd;
	int64_t deadline; /* monotonic ms */
	int32_t next_corr;
};

static int64_t mq_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mq_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mq_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return (p.revents & (events | POLLHUP | POLLERR)) ? 0 : -1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Connects to "host:port" ("[v6]:port" and a scheme prefix accepted). */
static int mq_connect(const char *server, int64_t deadline)
{
	char buf[512];
	const char *scheme = strstr(server, "://");
	snprintf(buf, sizeof buf, "%s", scheme ? scheme + 3 : server);
	char *colon = strrchr(buf, ':');
	if (colon == NULL)
		return -1;
	*colon = '\0';
	char *host = buf, *port = colon + 1;
	if (host[0] == '[') {
		host++;
		char *end = strchr(host, ']');
		if (end)
			*end = '\0';
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		int err = 0;
		socklen_t len = sizeof err;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && mq_wait(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int mq_send(struct mq_conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		} else if (mq_wait(c->fd, POLLOUT, c->deadline) != 0) {
			return -1;
		}
	}
	return 0;
}

static int mq_recv(struct mq_conn *c, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			return -1;
		} else if (mq_wait(c->fd, POLLIN, c->deadline) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Sends the request framed in `w` (4 bytes reserved at its start, header
 * written) and reads the response frame into *body (malloc'd, caller frees),
 * with the reader placed after a response header v1 of the right id.
 * Returns 0 or -1. */
static int mq_round_trip(struct mq_conn *c, struct kwriter *w, int32_t corr, uint8_t **body, struct kreader *r)
{
	*body = NULL;
	kw_put_i32_at(w, 0, (int32_t)(w->len - 4));
	if (!kw_ok(w) || mq_send(c, w->buf, w->len) != 0)
		return -1;
	uint8_t szb[4];
	if (mq_recv(c, szb, 4) != 0)
		return -1;
	uint32_t size = (uint32_t)szb[0] << 24 | (uint32_t)szb[1] << 16 | (uint32_t)szb[2] << 8 | szb[3];
	if (size < 4 || size > MQ_MAX_RESPONSE)
		return -1;
	*body = malloc(size);
	if (*body == NULL || mq_recv(c, *body, size) != 0)
		return -1;
	kr_init(r, *body, size);
	int32_t got = 0;
	if (response_header_decode(r, 1, &got) != 0 || got != corr)
		return -1;
	return 0;
}

static void mq_begin(struct mq_conn *c, struct kwriter *w, int16_t key, int16_t version, int32_t *corr)
{
	*corr = ++c->next_corr;
	struct request_header h = {
		.api_key = key,
		.api_version = version,
		.correlation_id = *corr,
		.client_id = {"tern-metadata-quorum", 20},
	};
	kw_init(w, 128);
	(void)kw_reserve(w, 4);
	request_header_encode(w, 2, &h); /* both requests are flexible: header v2 */
}

/* The cluster id from Metadata v12 (no topics), into buf; "" if unknown. */
static void mq_cluster_id(struct mq_conn *c, char *buf, size_t len)
{
	struct kwriter w;
	int32_t corr;
	uint8_t *body = NULL;
	struct kreader r;
	struct metadata_request req = {.topics = NULL, .topics_count = 0};
	buf[0] = '\0';
	mq_begin(c, &w, 3, MQ_METADATA_VERSION, &corr);
	metadata_request_encode(&w, MQ_METADATA_VERSION, &req);
	if (mq_round_trip(c, &w, corr, &body, &r) == 0) {
		struct metadata_response resp;
		if (metadata_response_decode(&r, MQ_METADATA_VERSION, &resp) == 0) {
			if (resp.cluster_id.len > 0)
				snprintf(buf, len, "%.*s", (int)resp.cluster_id.len, resp.cluster_id.p);
			metadata_response_free(&resp);
		}
	}
	free(body);
	kw_free(&w);
}

/* DescribeQuorum for __cluster_metadata-0. On success fills *resp (free with
 * describe_quorum_response_free; its strings point into *body, which the
 * caller frees after) and *part. Returns 0, -1 on a transport or parse
 * failure, or the Kafka error code (> 0) the broker answered with. */
static int mq_describe(struct mq_conn *c, uint8_t **body, struct describe_quorum_response *resp,
		       const struct describe_quorum_partition_result **part)
{
	struct kwriter w;
	int32_t corr;
	struct kreader r;
	struct describe_quorum_partition p0 = {.partition_index = 0};
	struct describe_quorum_topic t = {
		.topic_name = {MQ_TOPIC, (int32_t)strlen(MQ_TOPIC)},
		.partitions = &p0,
		.partitions_count = 1,
	};
	struct describe_quorum_request req = {.topics = &t, .topics_count = 1};
	mq_begin(c, &w, DESCRIBE_QUORUM_API_KEY, MQ_DESCRIBE_VERSION, &corr);
	describe_quorum_request_encode(&w, MQ_DESCRIBE_VERSION, &req);
	int rc = mq_round_trip(c, &w, corr, body, &r);
	kw_free(&w);
	if (rc != 0 || describe_quorum_response_decode(&r, MQ_DESCRIBE_VERSION, resp) != 0)
		return -1;
	if (resp->error_code != 0)
		return resp->error_code;
	for (int32_t i = 0; i < resp->topics_count; i++) {
		if (!kstr_eq(resp->topics[i].topic_name, MQ_TOPIC))
			continue;
		for (int32_t j = 0; j < resp->topics[i].partitions_count; j++) {
			const struct describe_quorum_partition_result *pr = &resp->topics[i].partitions[j];
			if (pr->partition_index != 0)
				continue;
			if (pr->error_code != 0)
				return pr->error_code;
			*part = pr;
			return 0;
		}
	}
	return -1;
}

static const struct describe_quorum_replica_state *mq_find(const struct describe_quorum_partition_result *p,
							   int32_t id)
{
	for (int32_t i = 0; i < p->current_voters_count; i++)
		if (p->current_voters[i].replica_id == id)
			return &p->current_voters[i];
	return NULL;
}

static void mq_print_ids(const char *label, const struct describe_quorum_replica_state *rs, int32_t n)
{
	printf("%-24s[", label);
	for (int32_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)rs[i].replica_id);
	printf("]\n");
}

static void mq_print_status(const char *cluster_id, const struct describe_quorum_partition_result *p)
{
	const struct describe_quorum_replica_state *leader = mq_find(p, p->leader_id);
	/* Kafka's rule: the most lagging voter decides both lag figures. */
	int64_t max_lag = -1, max_lag_time = -1;
	if (leader != NULL && leader->log_end_offset >= 0) {
		const struct describe_quorum_replica_state *worst = leader;
		for (int32_t i = 0; i < p->current_voters_count; i++) {
			const struct describe_quorum_replica_state *v = &p->current_voters[i];
			if (v->log_end_offset < worst->log_end_offset)
				worst = v;
		}
		max_lag = worst->log_end_offset >= 0 ? leader->log_end_offset - worst->log_end_offset : -1;
		if (worst == leader)
			max_lag_time = 0;
		else if (leader->last_caught_up_timestamp >= 0 && worst->last_caught_up_timestamp >= 0)
			max_lag_time = leader->last_caught_up_timestamp - worst->last_caught_up_timestamp;
	}
	printf("%-24s%s\n", "ClusterId:", cluster_id[0] ? cluster_id : "-");
	printf("%-24s%d\n", "LeaderId:", (int)p->leader_id);
	printf("%-24s%d\n", "LeaderEpoch:", (int)p->leader_epoch);
	printf("%-24s%lld\n", "HighWatermark:", (long long)p->high_watermark);
	printf("%-24s%lld\n", "MaxFollowerLag:", (long long)max_lag);
	printf("%-24s%lld\n", "MaxFollowerLagTimeMs:", (long long)max_lag_time);
	mq_print_ids("CurrentVoters:", p->current_voters, p->current_voters_count);
	mq_print_ids("CurrentObservers:", p->observers, p->observers_count);
}

static void mq_print_row(const struct describe_quorum_replica_state *rs, int64_t leader_leo, const char *status)
{
	int64_t lag = leader_leo >= 0 && rs->log_end_offset >= 0 ? leader_leo - rs->log_end_offset : -1;
	printf("%-8d%-16lld%-8lld%-24lld%-24lld%s\n", (int)rs->replica_id, (long long)rs->log_end_offset,
	       (long long)lag, (long long)rs->last_fetch_timestamp, (long long)rs->last_caught_up_timestamp, status);
}

static void mq_print_replication(const struct describe_quorum_partition_result *p)
{
	const struct describe_quorum_replica_state *leader = mq_find(p, p->leader_id);
	int64_t leo = leader != NULL ? leader->log_end_offset : -1;
	printf("%-8s%-16s%-8s%-24s%-24s%s\n", "NodeId", "LogEndOffset", "Lag", "LastFetchTimestamp",
	       "LastCaughtUpTimestamp", "Status");
	if (leader != NULL)
		mq_print_row(leader, leo, "Leader");
	for (int32_t i = 0; i < p->current_voters_count; i++)
		if (&p->current_voters[i] != leader)
			mq_print_row(&p->current_voters[i], leo, "Follower");
	for (int32_t i = 0; i < p->observers_count; i++)
		mq_print_row(&p->observers[i], leo, "Observer");
}

static void mq_usage(FILE *out)
{
	fputs("Usage: tern metadata-quorum --bootstrap-server HOST:PORT describe (--status | --replication)\n"
	      "Describe the metadata quorum (kafka-metadata-quorum.sh).\n"
	      "\n"
	      "  --bootstrap-server HOST:PORT  the broker to ask (its own view of the quorum)\n"
	      "  describe --status             leader, epoch, high watermark, lag, voters, observers\n"
	      "  describe --replication        one row per member: log end offset, lag, status\n",
	      out);
}

int metadata_quorum_main(int argc, char **argv)
{
	const char *bootstrap = NULL;
	bool describe = false, status = false, replication = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			mq_usage(stdout);
			return 0;
		} else if (strcmp(a, "--bootstrap-server") == 0 && i + 1 < argc) {
			bootstrap = argv[++i];
		} else if (strncmp(a, "--bootstrap-server=", 19) == 0) {
			bootstrap = a + 19;
		} else if (strcmp(a, "describe") == 0) {
			describe = true;
		} else if (strcmp(a, "--status") == 0) {
			status = true;
		} else if (strcmp(a, "--replication") == 0) {
			replication = true;
		} else {
			cli_error("metadata-quorum: unexpected argument '%s' (see --help)", a);
			return 1;
		}
	}
	if (bootstrap == NULL) {
		cli_error("metadata-quorum: --bootstrap-server is required");
		return 1;
	}
	if (!describe || status == replication) {
		cli_error("metadata-quorum: say 'describe' with exactly one of --status or --replication");
		return 1;
	}

	/* The first server of a list that answers. */
	struct mq_conn c = {.fd = -1, .deadline = mq_now_ms() + MQ_TIMEOUT_MS};
	char *list = strdup(bootstrap), *save = NULL;
	if (list == NULL) {
		cli_error("metadata-quorum: out of memory");
		return 1;
	}
	for (char *s = strtok_r(list, ",", &save); s && c.fd < 0; s = strtok_r(NULL, ",", &save)) {
		while (*s == ' ')
			s++;
		c.fd = mq_connect(s, c.deadline);
	}
	free(list);
	if (c.fd < 0) {
		cli_error("metadata-quorum: cannot connect to %s", bootstrap);
		return 1;
	}

	char cluster_id[128];
	if (status)
		mq_cluster_id(&c, cluster_id, sizeof cluster_id);
	uint8_t *body = NULL;
	struct describe_quorum_response resp = {0};
	const struct describe_quorum_partition_result *part = NULL;
	int rc = mq_describe(&c, &body, &resp, &part);
	close(c.fd);
	int exit_code = 1;
	if (rc < 0)
		cli_error("metadata-quorum: %s did not answer DescribeQuorum (does it run a metadata quorum? "
			  "controller.quorum.voters)",
			  bootstrap);
	else if (rc > 0)
		cli_error("metadata-quorum: DescribeQuorum failed with Kafka error %d", rc);
	else {
		if (status)
			mq_print_status(cluster_id, part);
		else
			mq_print_replication(part);
		exit_code = 0;
	}
	describe_quorum_response_free(&resp);
	free(body);
	return exit_code;
}
