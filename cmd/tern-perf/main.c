/* tern-perf: command line. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/tern-perf/pace.h"
#include "cmd/tern-perf/perf.h"

static void main_usage(FILE *out)
{
	fputs("Usage: tern-perf produce|consume|e2e (--bootstrap-server H:P | --mock N) [OPTIONS]\n"
	      "       tern-perf mock --mock N [--topic T] [--partitions P]\n"
	      "Load a cluster and print one summary line:\n"
	      "  mode=produce records=N bytes=B secs=S rec_per_s=R MB_per_s=M p50_ms=X p99_ms=Y errors=E\n"
	      "(MB = 2^20 bytes; latency = delivery report time - produce time).\n"
	      "\n"
	      "'e2e' produces --count records at --rate records/s and consumes them in the\n"
	      "same process (one clock), from the end of the topic; it prints the achieved\n"
	      "rate and two latencies, produce -> ack and produce -> consumed:\n"
	      "  mode=e2e records=N ... rate=R sent_per_s=A late_max_ms=L\n"
	      "  ack_p50_ms= ack_p99_ms= ack_p999_ms= ack_max_ms=\n"
	      "  e2e_p50_ms= e2e_p99_ms= e2e_p999_ms= e2e_max_ms= missing=M duplicates=D errors=E\n"
	      "\n"
	      "  --bootstrap-server H:P  the cluster to load\n"
	      "  --mock N                run against librdkafka's mock cluster of N brokers,\n"
	      "                          in this process (consume first fills it, untimed)\n"
	      "  --topic T               topic (default tern-perf)\n"
	      "  --count N               records (default 100000)\n"
	      "  --size BYTES            value size (default 1024)\n"
	      "  --acks 0|1|all          produce acks (default 1)\n"
	      "  --rate R                produce, e2e: send R records/s (default: as fast as\n"
	      "                          the client allows)\n"
	      "  --compression C         none, gzip, snappy, lz4, zstd (default none)\n"
	      "  --partitions P          create the topic with P partitions if missing\n"
	      "  --timeout-ms MS         consume, e2e: give up after MS without a record (30000)\n"
	      "  --property k=v          librdkafka property, applied last (repeatable)\n"
	      "\n"
	      "'mock' starts a mock cluster, prints 'mock cluster listening on H:P' and\n"
	      "serves until SIGINT/SIGTERM (handy for trying clients without a broker).\n",
	      out);
}

enum {
	OPT_BOOTSTRAP = 256,
	OPT_MOCK,
	OPT_TOPIC,
	OPT_COUNT,
	OPT_SIZE,
	OPT_ACKS,
	OPT_COMPRESSION,
	OPT_PARTITIONS,
	OPT_TIMEOUT,
	OPT_RATE,
	OPT_PROPERTY,
	OPT_HELP,
};

static const struct option main_options[] = {
	{"bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP},
	{"mock", required_argument, NULL, OPT_MOCK},
	{"topic", required_argument, NULL, OPT_TOPIC},
	{"count", required_argument, NULL, OPT_COUNT},
	{"size", required_argument, NULL, OPT_SIZE},
	{"acks", required_argument, NULL, OPT_ACKS},
	{"compression", required_argument, NULL, OPT_COMPRESSION},
	{"partitions", required_argument, NULL, OPT_PARTITIONS},
	{"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	{"rate", required_argument, NULL, OPT_RATE},
	{"property", required_argument, NULL, OPT_PROPERTY},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int main_num(const char *name, const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || v < min || v > max) {
		perf_error("--%s must be a number in [%lld, %lld], not '%s'", name, (long long)min,
			   (long long)max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static volatile sig_atomic_t main_stop;

static void main_signal(int sig)
{
	main_stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		main_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	const char *mode = argv[1];
	if (strcmp(mode, "produce") != 0 && strcmp(mode, "consume") != 0 && strcmp(mode, "e2e") != 0 &&
	    strcmp(mode, "mock") != 0) {
		perf_error("unknown mode '%s' (produce, consume, e2e or mock)", mode);
		return 1;
	}
	struct perf_opts o = {
		.topic = "tern-perf",
		.count = 100000,
		.size = 1024,
		.acks = "1",
		.partitions = -1,
		.timeout_ms = 30000,
	};
	const char **keys = calloc((size_t)argc, sizeof(*keys));
	const char **vals = calloc((size_t)argc, sizeof(*vals));
	if (!keys || !vals)
		return 1;
	o.prop_keys = keys;
	o.prop_vals = vals;
	int64_t mock = 0;
	int c;
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", main_options, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case OPT_BOOTSTRAP: o.bootstrap = optarg; break;
		case OPT_MOCK: bad = main_num("mock", optarg, 1, 64, &mock); break;
		case OPT_TOPIC: o.topic = optarg; break;
		case OPT_COUNT: bad = main_num("count", optarg, 1, INT32_MAX, &o.count); break;
		case OPT_SIZE: bad = main_num("size", optarg, 0, 64 << 20, &o.size); break;
		case OPT_ACKS: o.acks = optarg; break;
		case OPT_COMPRESSION: o.compression = optarg; break;
		case OPT_PARTITIONS: bad = main_num("partitions", optarg, 1, 100000, &o.partitions); break;
		case OPT_TIMEOUT: bad = main_num("timeout-ms", optarg, 1, INT32_MAX, &o.timeout_ms); break;
		case OPT_RATE: bad = main_num("rate", optarg, 1, PACE_MAX_RATE, &o.rate); break;
		case OPT_PROPERTY: {
			char *eq = strchr(optarg, '=');
			if (!eq) {
				perf_error("--property wants key=value, not '%s'", optarg);
				bad = 1;
				break;
			}
			*eq = '\0';
			keys[o.prop_cnt] = optarg;
			vals[o.prop_cnt++] = eq + 1;
			break;
		}
		case OPT_HELP:
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			perf_error("unknown or incomplete option '%s' (see tern-perf --help)", argv[optind - 1]);
			bad = 1;
		}
		if (bad)
			return 1;
	}
	if (optind < argc) {
		perf_error("unexpected argument '%s'", argv[optind]);
		return 1;
	}
	if ((o.bootstrap != NULL) == (mock > 0)) {
		perf_error("give exactly one of --bootstrap-server and --mock");
		return 1;
	}
	if (strcmp(o.acks, "all") == 0)
		o.acks = "-1";

	struct perf_mock *m = NULL;
	if (mock > 0) {
		o.mock_brokers = (int)mock;
		m = perf_mock_start((int)mock, &o, &o.bootstrap);
		if (!m)
			return 1;
	} else if (o.partitions > 0 && strcmp(mode, "mock") != 0 && perf_ensure_topic(&o) != 0) {
		return 1;
	}

	int rc = 1;
	struct perf_result r = {0};
	if (strcmp(mode, "mock") == 0) {
		signal(SIGINT, main_signal);
		signal(SIGTERM, main_signal);
		printf("mock cluster listening on %s\n", o.bootstrap);
		fflush(stdout);
		while (!main_stop)
			pause();
		rc = 0;
	} else if (strcmp(mode, "produce") == 0) {
		rc = perf_produce(&o, &r);
		if (rc == 0 || r.records > 0)
			perf_print(&r);
	} else if (strcmp(mode, "e2e") == 0) {
		rc = perf_e2e(&o);
	} else {
		/* A mock cluster starts empty: fill it first, off the clock, with
		 * as much as it retains (5 MiB a partition); the consume run
		 * then re-reads that window (see rewind_at_eof). */
		if (m) {
			struct perf_opts fill = o;
			int64_t parts = o.partitions > 0 ? o.partitions : 1;
			int64_t window = parts * ((5 << 20) / (o.size > 0 ? o.size : 1));
			fill.acks = "1";
			fill.count = o.count < window ? o.count : window;
			o.rewind_at_eof = true;
			rc = perf_produce(&fill, &r);
		}
		if (!m || rc == 0) {
			rc = perf_consume(&o, &r);
			perf_print(&r);
		}
	}
	perf_mock_stop(m);
	free(keys);
	free(vals);
	return rc;
}
