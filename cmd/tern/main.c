/* tern: the Tern command-line tool, a subcommand per Kafka shell script. */
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cmd/tern/commands.h"
#include "cmd/tern/kafka_client.h"

static void main_usage(FILE *out)
{
	fputs("Usage: tern COMMAND [OPTIONS]\n"
	      "Administer and use a Tern (or any Kafka) cluster.\n"
	      "\n"
	      "Commands:\n"
	      "  topics    create, list, describe and delete topics     (kafka-topics.sh)\n"
	      "  produce   send stdin lines as records                 (kafka-console-producer.sh)\n"
	      "  consume   print a topic's records                     (kafka-console-consumer.sh)\n"
	      "  groups    list/describe/delete groups, reset offsets  (kafka-consumer-groups.sh)\n"
	      "  metadata-quorum  describe the metadata quorum         (kafka-metadata-quorum.sh)\n"
	      "\n"
	      "Run 'tern COMMAND --help' for a command's options. Every command needs\n"
	      "--bootstrap-server HOST:PORT.\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return 1;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		main_usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("tern (librdkafka %s)\n", rd_kafka_version_str());
		return 0;
	}
	if (strcmp(cmd, "topics") == 0)
		return topics_main(argc - 1, argv + 1);
	if (strcmp(cmd, "produce") == 0)
		return console_produce_main(argc - 1, argv + 1);
	if (strcmp(cmd, "consume") == 0)
		return console_consume_main(argc - 1, argv + 1);
	if (strcmp(cmd, "metadata-quorum") == 0)
		return metadata_quorum_main(argc - 1, argv + 1);
	if (strcmp(cmd, "groups") == 0)
		return groups_main(argc - 1, argv + 1);
	cli_error("unknown command '%s' (see tern --help)", cmd);
	return 1;
}
