#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/config.h"
#include "broker/log/log.h"
#include "broker/protocol/errors.h"
#include "broker/topics.h"

struct fixture {
	char dir[256];
	struct broker_config cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256], over[300];
	snprintf(f->dir, sizeof f->dir, "/tmp/tern-test-topics-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(over, sizeof over, "log.dirs=%s/data", f->dir);
	char *ov[] = {over};
	assert_int_equal(config_load(&f->cfg, NULL, ov, 1, err, sizeof err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static void topics_create__persists_across_reopen(void **state)
{
	struct fixture *f = *state;
	struct topics t;
	struct topic *topic;
	char err[256], path[512];
	uint8_t id[16];

	assert_int_equal(topics_open(&t, &f->cfg, 0, err, sizeof err), 0);
	struct topic_overrides ov = {0};
	assert_int_equal(topic_overrides_set(&ov, "retention.ms", "12345"), 0);
	assert_int_equal(topics_create(&t, "orders", 3, &ov, 0, &topic), KERR_NONE);
	topic_overrides_free(&ov);
	memcpy(id, topic->id, 16);
	assert_int_equal(topic->config.log.retention_ms, 12345);
	assert_int_equal(topics_create(&t, "orders", 1, NULL, 0, NULL), KERR_TOPIC_ALREADY_EXISTS);
	snprintf(path, sizeof path, "%s/data/orders-2/partition.metadata", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	topics_close(&t);

	assert_int_equal(topics_open(&t, &f->cfg, 0, err, sizeof err), 0);
	topic = topics_find_cstr(&t, "orders");
	assert_non_null(topic);
	assert_int_equal(topic->partition_count, 3);
	assert_memory_equal(topic->id, id, 16);
	assert_string_equal(topic_overrides_get(&topic->overrides, "retention.ms"), "12345");
	assert_int_equal(topic->config.log.retention_ms, 12345);
	topics_close(&t);
}

static void topics_delete__removes_logs_and_catalog(void **state)
{
	struct fixture *f = *state;
	struct topics t;
	struct topic *topic;
	char err[256], path[512];
	assert_int_equal(topics_open(&t, &f->cfg, 0, err, sizeof err), 0);
	assert_int_equal(topics_create(&t, "gone", 2, NULL, 0, &topic), KERR_NONE);
	assert_int_equal(topics_delete(&t, topic), KERR_NONE);
	assert_null(topics_find_cstr(&t, "gone"));
	snprintf(path, sizeof path, "%s/data/gone-0", f->dir);
	assert_int_not_equal(access(path, F_OK), 0);
	topics_close(&t);
	assert_int_equal(topics_open(&t, &f->cfg, 0, err, sizeof err), 0);
	assert_int_equal(t.count, 0);
	topics_close(&t);
}

static void topics_add_partitions__grows_only(void **state)
{
	struct fixture *f = *state;
	struct topics t;
	struct topic *topic;
	char err[256];
	assert_int_equal(topics_open(&t, &f->cfg, 0, err, sizeof err), 0);
	assert_int_equal(topics_create(&t, "grow", 1, NULL, 0, &topic), KERR_NONE);
	assert_int_equal(topics_add_partitions(&t, topic, 1, 0), KERR_INVALID_PARTITIONS);
	assert_int_equal(topics_add_partitions(&t, topic, 4, 0), KERR_NONE);
	assert_int_equal(topic->partition_count, 4);
	struct kstr name = {"grow", 4};
	assert_non_null(topics_partition(&t, name, 3));
	assert_null(topics_partition(&t, name, 4));
	topics_close(&t);
}

static void topics_name_valid__kafka_rules(void **state)
{
	assert_true(topics_name_valid("a.b_c-D9", 8));
	assert_false(topics_name_valid(".", 1));
	assert_false(topics_name_valid("..", 2));
	assert_false(topics_name_valid("a b", 3));
	assert_false(topics_name_valid("a/b", 3));
	char big[251];
	memset(big, 'x', sizeof big);
	assert_true(topics_name_valid(big, 249));
	assert_false(topics_name_valid(big, 250));
}

static void topics_uuid_str__kafka_base64url(void **state)
{
	uint8_t id[16];
	char s[23];
	memset(id, 0xff, sizeof id);
	topics_uuid_str(id, s);
	assert_string_equal(s, "_____________________w");
	memset(id, 0, sizeof id);
	id[15] = 1;
	topics_uuid_str(id, s);
	assert_string_equal(s, "AAAAAAAAAAAAAAAAAAAAAQ");
}

static void topic_config__validate_and_resolve(void **state)
{
	struct fixture *f = *state;
	char err[256];
	assert_int_equal(topic_config_validate("segment.bytes", "16384", err, sizeof err), 0);
	assert_int_not_equal(topic_config_validate("segment.bytes", "abc", err, sizeof err), 0);
	assert_int_not_equal(topic_config_validate("no.such.config", "1", err, sizeof err), 0);
	assert_non_null(strstr(err, "no.such.config"));
	assert_int_not_equal(topic_config_validate("message.timestamp.type", "Wrong", err, sizeof err), 0);

	struct topic_overrides ov = {0};
	struct topic_config tc;
	topic_config_resolve(&f->cfg, &ov, &tc);
	assert_int_equal(tc.max_message_bytes, 1048588);
	assert_int_equal(tc.log.segment_bytes, 1073741824);
	assert_false(tc.log_append_time);
	topic_overrides_set(&ov, "message.timestamp.type", "LogAppendTime");
	topic_overrides_set(&ov, "max.message.bytes", "100");
	topic_config_resolve(&f->cfg, &ov, &tc);
	assert_true(tc.log_append_time);
	assert_int_equal(tc.max_message_bytes, 100);
	topic_overrides_free(&ov);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(topics_create__persists_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(topics_delete__removes_logs_and_catalog, setup, teardown),
		cmocka_unit_test_setup_teardown(topics_add_partitions__grows_only, setup, teardown),
		cmocka_unit_test(topics_name_valid__kafka_rules),
		cmocka_unit_test(topics_uuid_str__kafka_base64url),
		cmocka_unit_test_setup_teardown(topic_config__validate_and_resolve, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
