/* config: defaults, file and override precedence, errors naming the key,
 * Kafka's time precedence, listeners. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/config.h"

struct fixture {
	char path[64];
	struct broker_config cfg;
	char err[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->path, sizeof f->path, "/tmp/tern-test-config-XXXXXX");
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	config_free(&f->cfg);
	unlink(f->path);
	free(f);
	return 0;
}

static void write_file(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int load(struct fixture *f, bool with_file, char **ov, int n)
{
	return config_load(&f->cfg, with_file ? f->path : NULL, ov, n, f->err, sizeof f->err);
}

static void config__defaults_match_kafka(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(load(f, false, NULL, 0), 0);
	struct broker_config *c = &f->cfg;
	assert_int_equal(c->node_id, 0);
	assert_int_equal(c->num_partitions, 1);
	assert_int_equal(c->default_replication_factor, 1);
	assert_int_equal(c->min_insync_replicas, 1);
	assert_true(c->auto_create_topics_enable);
	assert_true(c->delete_topic_enable);
	assert_int_equal(c->message_max_bytes, 1048588);
	assert_int_equal(c->socket_request_max_bytes, 104857600);
	assert_int_equal(c->log_segment_bytes, 1073741824);
	assert_true(c->log_roll_ms == 168LL * 3600000);
	assert_true(c->log_retention_ms == 168LL * 3600000);
	assert_true(c->log_retention_bytes == -1);
	assert_true(c->log_retention_check_interval_ms == 300000);
	assert_int_equal(c->log_index_interval_bytes, 4096);
	assert_true(c->log_flush_interval_messages == INT64_MAX);
	assert_true(c->log_flush_interval_ms == INT64_MAX);
	assert_string_equal(c->log_message_timestamp_type, "CreateTime");
	assert_string_equal(c->compression_type, "producer");
	assert_true(c->replica_lag_time_max_ms == 30000);
	assert_int_equal(c->broker_heartbeat_interval_ms, 2000);
	assert_int_equal(c->broker_session_timeout_ms, 9000);
	assert_int_equal(c->offsets_topic_replication_factor, 3);
	assert_int_equal(c->offsets_topic_num_partitions, 50);
	assert_int_equal(c->offsets_retention_minutes, 10080);
	assert_int_equal(c->group_initial_rebalance_delay_ms, 3000);
	assert_int_equal(c->group_min_session_timeout_ms, 6000);
	assert_int_equal(c->group_max_session_timeout_ms, 1800000);
	assert_true(c->auto_leader_rebalance_enable);
	assert_false(c->unclean_leader_election_enable);
	assert_int_equal(c->fetch_max_bytes, 57671680);
	assert_int_equal(c->queued_max_requests, 500);
	assert_null(c->broker_rack);
	assert_string_equal(c->log_dirs, "/tmp/kafka-logs");
	assert_int_equal(c->log_dirs_count, 1);
	assert_string_equal(c->listener_host, "0.0.0.0");
	assert_int_equal(c->listener_port, 9092);
	assert_int_equal(c->controller_port, -1);
	assert_non_null(c->advertised_host);
	assert_string_not_equal(c->advertised_host, "");
	assert_int_equal(c->advertised_port, 9092);
}

static void config__file_then_overrides_win(void **state)
{
	struct fixture *f = *state;
	write_file(f, "# a comment\n"
		      "! another\n"
		      "\n"
		      "node.id = 3\n"
		      "num.partitions: 4\n"
		      "log.dirs /data/a, /data/b\n"
		      "broker.rack=rack\\\n"
		      "    -1\n"
		      "auto.create.topics.enable=FALSE  \n"
		      "message.max.bytes=2000000\n");
	char *ov[] = {"num.partitions=6", "message.max.bytes = 3000000"};
	assert_int_equal(load(f, true, ov, 2), 0);
	struct broker_config *c = &f->cfg;
	assert_int_equal(c->node_id, 3);
	assert_int_equal(c->broker_id, 3);
	assert_int_equal(c->num_partitions, 6);
	assert_int_equal(c->message_max_bytes, 3000000);
	assert_false(c->auto_create_topics_enable);
	assert_string_equal(c->broker_rack, "rack-1");
	assert_int_equal(c->log_dirs_count, 2);
	assert_string_equal(c->log_dirs_list[0], "/data/a");
	assert_string_equal(c->log_dirs_list[1], "/data/b");
}

static void config__unknown_key_error_names_it(void **state)
{
	struct fixture *f = *state;
	write_file(f, "node.id=1\nno.such.key=5\n");
	assert_int_equal(load(f, true, NULL, 0), -1);
	assert_non_null(strstr(f->err, "no.such.key"));
	assert_non_null(strstr(f->err, ":2")); /* the line */

	char *ov[] = {"bogus.key=1"};
	assert_int_equal(load(f, false, ov, 1), -1);
	assert_non_null(strstr(f->err, "bogus.key"));
}

static void config__invalid_number_error_names_it(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = {"num.partitions=abc", "num.partitions=12x", "num.partitions=",
			     "num.partitions=0",   "message.max.bytes=99999999999", "log.retention.bytes=1e6",
			     "offsets.topic.replication.factor=40000"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *ov[] = {(char *)bad[i]};
		assert_int_equal(load(f, false, ov, 1), -1);
		char key[64];
		snprintf(key, sizeof key, "%.*s", (int)(strchr(bad[i], '=') - bad[i]), bad[i]);
		assert_non_null(strstr(f->err, key));
	}
	char *ov[] = {"delete.topic.enable=yes"};
	assert_int_equal(load(f, false, ov, 1), -1);
	assert_non_null(strstr(f->err, "delete.topic.enable"));
	char *ov2[] = {"log.message.timestamp.type=Whenever"};
	assert_int_equal(load(f, false, ov2, 1), -1);
	assert_non_null(strstr(f->err, "log.message.timestamp.type"));
	char *ov3[] = {"no-equals-sign"};
	assert_int_equal(load(f, false, ov3, 1), -1);
	assert_non_null(strstr(f->err, "no-equals-sign"));
}

static void config__retention_ms_minutes_hours_precedence(void **state)
{
	struct fixture *f = *state;
	char *hours[] = {"log.retention.hours=2"};
	assert_int_equal(load(f, false, hours, 1), 0);
	assert_true(f->cfg.log_retention_ms == 2LL * 3600000);
	config_free(&f->cfg);

	char *minutes[] = {"log.retention.hours=2", "log.retention.minutes=5"};
	assert_int_equal(load(f, false, minutes, 2), 0);
	assert_true(f->cfg.log_retention_ms == 5LL * 60000);
	config_free(&f->cfg);

	char *ms[] = {"log.retention.minutes=5", "log.retention.ms=1234", "log.retention.hours=9"};
	assert_int_equal(load(f, false, ms, 3), 0);
	assert_true(f->cfg.log_retention_ms == 1234);
	config_free(&f->cfg);

	char *unlimited[] = {"log.retention.hours=-1"};
	assert_int_equal(load(f, false, unlimited, 1), 0);
	assert_true(f->cfg.log_retention_ms == -1);
	config_free(&f->cfg);

	char *roll[] = {"log.roll.hours=1"};
	assert_int_equal(load(f, false, roll, 1), 0);
	assert_true(f->cfg.log_roll_ms == 3600000);
	config_free(&f->cfg);
	char *roll_ms[] = {"log.roll.hours=1", "log.roll.ms=500"};
	assert_int_equal(load(f, false, roll_ms, 2), 0);
	assert_true(f->cfg.log_roll_ms == 500);
}

static void config__listeners_parsed(void **state)
{
	struct fixture *f = *state;
	write_file(f, "listeners=PLAINTEXT://127.0.0.1:9093,CONTROLLER://127.0.0.1:19093\n"
		      "controller.listener.names=CONTROLLER\n"
		      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
		      "controller.quorum.voters=0@127.0.0.1:19092,1@127.0.0.1:19093,2@[::1]:19094\n");
	assert_int_equal(load(f, true, NULL, 0), 0);
	struct broker_config *c = &f->cfg;
	assert_int_equal(c->listener_count, 2);
	assert_string_equal(c->listener_list[0].name, "PLAINTEXT");
	assert_false(c->listener_list[0].controller);
	assert_true(c->listener_list[1].controller);
	assert_string_equal(c->listener_host, "127.0.0.1");
	assert_int_equal(c->listener_port, 9093);
	assert_string_equal(c->controller_host, "127.0.0.1");
	assert_int_equal(c->controller_port, 19093);
	/* Advertised defaults to the non-controller listeners. */
	assert_string_equal(c->advertised_listeners, "PLAINTEXT://127.0.0.1:9093");
	assert_string_equal(c->advertised_host, "127.0.0.1");
	assert_int_equal(c->advertised_port, 9093);
	assert_int_equal(c->voter_count, 3);
	assert_int_equal(c->voter_list[1].id, 1);
	assert_int_equal(c->voter_list[1].port, 19093);
	assert_string_equal(c->voter_list[2].host, "::1");
}

static void config__listener_errors_name_the_key(void **state)
{
	struct fixture *f = *state;
	const char *cases[][2] = {
		{"listeners=PLAINTEXT//:9092", "listeners"},
		{"listeners=PLAINTEXT://:99999", "listeners"},
		{"listeners=PLAINTEXT://host", "listeners"},
		{"listeners=FOO://:9092", "listeners"}, /* no security protocol */
		{"listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners"},
		{"advertised.listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners"},
		{"controller.quorum.voters=x@h:1", "controller.quorum.voters"},
		{"controller.quorum.voters=1@h", "controller.quorum.voters"},
		{"process.roles=broker,zookeeper", "process.roles"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *ov[] = {(char *)cases[i][0]};
		assert_int_equal(load(f, false, ov, 1), -1);
		if (strstr(f->err, cases[i][1]) == NULL)
			fail_msg("'%s' gave '%s'", cases[i][0], f->err);
	}
	/* 0.0.0.0 binds fine when a routable address is advertised. */
	char *ok[] = {"listeners=PLAINTEXT://0.0.0.0:0", "advertised.listeners=PLAINTEXT://localhost:9092"};
	assert_int_equal(load(f, false, ok, 2), 0);
	assert_string_equal(f->cfg.listener_host, "0.0.0.0");
	assert_int_equal(f->cfg.listener_port, 0);
	assert_string_equal(f->cfg.advertised_host, "localhost");
}

static void config__broker_id_alias(void **state)
{
	struct fixture *f = *state;
	char *alias[] = {"broker.id=7"};
	assert_int_equal(load(f, false, alias, 1), 0);
	assert_int_equal(f->cfg.node_id, 7);
	config_free(&f->cfg);
	char *clash[] = {"broker.id=7", "node.id=8"};
	assert_int_equal(load(f, false, clash, 2), -1);
	assert_non_null(strstr(f->err, "node.id"));
}

static void config__describe_reports_values_and_defaults(void **state)
{
	struct fixture *f = *state;
	char *ov[] = {"num.partitions=3", "log.retention.hours=5"};
	assert_int_equal(load(f, false, ov, 2), 0);
	char buf[64];
	struct config_description d;
	int i = config_find("num.partitions");
	assert_true(i >= 0);
	assert_true(config_describe(&f->cfg, i, buf, sizeof buf, &d));
	assert_string_equal(d.name, "num.partitions");
	assert_string_equal(d.value, "3");
	assert_false(d.is_default);
	assert_int_equal(d.config_type, CONFIG_TYPE_INT);

	assert_true(config_describe(&f->cfg, config_find("log.retention.ms"), buf, sizeof buf, &d));
	assert_null(d.value); /* null until set, as Kafka reports it */
	assert_true(d.is_default);
	assert_true(config_describe(&f->cfg, config_find("delete.topic.enable"), buf, sizeof buf, &d));
	assert_string_equal(d.value, "true");
	assert_true(d.is_default);
	assert_int_equal(config_find("no.such"), -1);
	assert_false(config_describe(&f->cfg, config_count(), buf, sizeof buf, &d));

	/* Every row describes without trouble. */
	for (int k = 0; k < config_count(); k++) {
		assert_true(config_describe(&f->cfg, k, buf, sizeof buf, &d));
		assert_non_null(d.name);
		assert_non_null(d.doc);
	}
}

static void config__missing_file_is_an_error(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	assert_int_equal(load(f, true, NULL, 0), -1);
	assert_non_null(strstr(f->err, f->path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config__defaults_match_kafka, setup, teardown),
		cmocka_unit_test_setup_teardown(config__file_then_overrides_win, setup, teardown),
		cmocka_unit_test_setup_teardown(config__unknown_key_error_names_it, setup, teardown),
		cmocka_unit_test_setup_teardown(config__invalid_number_error_names_it, setup, teardown),
		cmocka_unit_test_setup_teardown(config__retention_ms_minutes_hours_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(config__listeners_parsed, setup, teardown),
		cmocka_unit_test_setup_teardown(config__listener_errors_name_the_key, setup, teardown),
		cmocka_unit_test_setup_teardown(config__broker_id_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(config__describe_reports_values_and_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(config__missing_file_is_an_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
