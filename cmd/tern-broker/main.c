/* tern-broker: the broker daemon.
 *
 *   tern-broker [server.properties] [--override key=value ...]
 *
 * Loads the configuration (an invalid one exits 2 with a message naming the
 * key), runs one broker on one libevent loop, and shuts down cleanly on
 * SIGTERM or SIGINT (exit 0): a controlled shutdown as Kafka's (KIP-631)
 * first - the active controller moves this broker's partition leaderships to
 * other in-sync replicas and says when they serve, waited for at most
 * 2 x broker.session.timeout.ms (less when the metadata quorum has lost its
 * leader: broker/lifecycle.h) - then the logs are closed with their
 * clean-shutdown markers and, if this node leads the metadata quorum, Raft
 * leadership is handed to another voter (raft_transfer) so the others do not
 * wait an election timeout. A second signal skips the wait.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/logger.h"
#include "broker/metadata.h"

#ifndef TERN_VERSION
#define TERN_VERSION "0.1.0"
#endif

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: tern-broker [server.properties] [--override key=value ...]\n"
		"\n"
		"Runs a Kafka-compatible Tern broker. The properties file uses Apache Kafka's\n"
		"(KRaft) key names; --override (or --override=key=value) sets one key and wins\n"
		"over the file.\n"
		"\n"
		"options:\n"
		"  --override key=value   set a configuration key (repeatable)\n"
		"  --help                 show this help\n"
		"  --version              show the version\n"
		"\n"
		"environment:\n"
		"  TERN_LOG_LEVEL         error|warn|info|debug (default info)\n");
}

/* Prints "tern-broker: invalid configuration: MSG" as exactly one line;
 * control characters in msg (from a configured value) are written as \n,
 * \t or \xHH. */
static void main_print_config_error(FILE *out, const char *msg)
{
	fputs("tern-broker: invalid configuration: ", out);
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('\n', out);
	fflush(out);
}

struct main_state {
	struct event_base *base;
	struct broker *b; /* NULL until started */
	bool shutting_down;
};

static void main_shutdown_done(void *arg, bool granted)
{
	(void)granted; /* the lifecycle logged how it ended */
	struct main_state *ms = arg;
	event_base_loopbreak(ms->base);
}

static void main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct main_state *ms = arg;
	const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
	if (ms->shutting_down) {
		tlog(TLOG_INFO, "main", "%s received again: stopping without waiting for the controller", name);
		event_base_loopbreak(ms->base);
		return;
	}
	ms->shutting_down = true;
	tlog(TLOG_INFO, "main", "%s received, shutting down", name);
	/* The broker keeps serving until the controller moved its leaderships. */
	if (ms->b == NULL || metadata_controlled_shutdown(ms->b, main_shutdown_done, ms) != 0)
		event_base_loopbreak(ms->base);
}

int main(int argc, char **argv)
{
	/* Fetch and produce buffers are large and short-lived: keep freed heap
	 * memory instead of returning it to the kernel and faulting it back in
	 * on the next request (measured: page faults were a third of the
	 * broker's time in the consume benchmark). */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);

	const char *path = NULL;
	char **overrides = calloc((size_t)argc + 1, sizeof *overrides);
	int n_overrides = 0;
	if (overrides == NULL) {
		fprintf(stderr, "tern-broker: out of memory\n");
		return 1;
	}

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			main_usage(stdout);
			free(overrides);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			printf("tern-broker %s\n", TERN_VERSION);
			free(overrides);
			return 0;
		}
		if (strcmp(a, "--override") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "tern-broker: --override needs key=value\n");
				free(overrides);
				return 2;
			}
			overrides[n_overrides++] = argv[++i];
			continue;
		}
		if (strncmp(a, "--override=", 11) == 0) {
			overrides[n_overrides++] = argv[i] + 11;
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "tern-broker: unknown option %s (see --help)\n", a);
			free(overrides);
			return 2;
		}
		if (path != NULL) {
			fprintf(stderr, "tern-broker: more than one properties file (%s, %s)\n", path, a);
			free(overrides);
			return 2;
		}
		path = a;
	}

	struct broker_config cfg;
	char err[1024];
	int rc = config_load(&cfg, path, overrides, n_overrides, err, sizeof err);
	free(overrides);
	if (rc != 0) {
		/* One line, first and alone on stderr, so scripts and people see
		 * the key at once: a value that carried a newline or another
		 * control character (a properties escape) is printed escaped. */
		main_print_config_error(stderr, err);
		return 2;
	}

	/* A peer that vanishes mid-write must cost an EPIPE, not the process. */
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "tern-broker: libevent has no pthreads support\n");
		config_free(&cfg);
		return 1;
	}
	struct event_base *base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "tern-broker: cannot create the event loop\n");
		config_free(&cfg);
		return 1;
	}

	int exit_code = 1;
	struct main_state ms = {.base = base};
	struct event *ev_term = evsignal_new(base, SIGTERM, main_signal_cb, &ms);
	struct event *ev_int = evsignal_new(base, SIGINT, main_signal_cb, &ms);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) != 0 || evsignal_add(ev_int, NULL) != 0) {
		fprintf(stderr, "tern-broker: cannot install signal handlers\n");
		goto out_events;
	}

	struct broker *b = broker_new(base, &cfg);
	if (b == NULL) {
		fprintf(stderr, "tern-broker: startup failed (see the log above)\n");
		goto out_events;
	}
	ms.b = b;
	/* Scripts and tests wait for this line. */
	printf("tern-broker: node %d listening on %s:%d\n", (int)cfg.node_id, cfg.listener_host, broker_port(b));
	fflush(stdout);
	tlog(TLOG_INFO, "main", "node %d listening on %s:%d (advertised %s:%d)", (int)cfg.node_id, cfg.listener_host,
	     broker_port(b), cfg.advertised_host, cfg.advertised_port ? cfg.advertised_port : broker_port(b));

	event_base_dispatch(base);

	broker_free(b);
	tlog(TLOG_INFO, "main", "node %d stopped", (int)cfg.node_id);
	exit_code = 0;

out_events:
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	event_base_free(base);
	config_free(&cfg);
	return exit_code;
}
