#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/logger.h"
#include "raft/metadata.pb-c.h"
#include "raft/records.h"

static const uint8_t TOPIC_ID[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				     0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};

/* Encodes rec, decodes it back; the caller frees with records_free(). */
static struct metadata_record *round_trip(const struct metadata_record *rec)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(records_encode(rec, &buf, &len), 0);
	size_t size;
	assert_int_equal(records_encoded_size(rec, &size), 0);
	assert_int_equal(size, len);
	assert_int_equal(buf[0], (unsigned)rec->type >> 8);
	assert_int_equal(buf[1], (uint8_t)rec->type);
	struct metadata_record *out = NULL;
	assert_int_equal(records_decode(buf, len, &out), 0);
	free(buf);
	assert_int_equal(out->type, rec->type);
	assert_int_equal(out->version, rec->version);
	return out;
}

static void assert_ids_equal(const struct metadata_id_list *a, const struct metadata_id_list *b)
{
	assert_int_equal(a->n, b->n);
	if (a->n > 0)
		assert_memory_equal(a->ids, b->ids, a->n * sizeof(int32_t));
}

static void records__register_broker_round_trip(void **state)
{
	struct metadata_endpoint eps[] = {
		{.name = "PLAINTEXT", .host = "localhost", .port = 9092, .security_protocol = 0},
		{.name = "CONTROLLER", .host = "127.0.0.1", .port = 65535, .security_protocol = 1},
	};
	struct metadata_record rec = {.type = METADATA_REGISTER_BROKER, .version = 3};
	rec.register_broker = (struct metadata_register_broker){
		.broker_id = 2,
		.broker_epoch = 1234567890123LL,
		.endpoints = eps,
		.n_endpoints = 2,
		.rack = "rack-a",
		.fenced = false,
	};
	memcpy(rec.register_broker.incarnation_id, TOPIC_ID, 16);
	struct metadata_record *out = round_trip(&rec);
	const struct metadata_register_broker *b = &out->register_broker;
	assert_int_equal(b->broker_id, 2);
	assert_int_equal(b->broker_epoch, 1234567890123LL);
	assert_memory_equal(b->incarnation_id, TOPIC_ID, 16);
	assert_int_equal(b->n_endpoints, 2);
	assert_string_equal(b->endpoints[0].name, "PLAINTEXT");
	assert_string_equal(b->endpoints[0].host, "localhost");
	assert_int_equal(b->endpoints[0].port, 9092);
	assert_int_equal(b->endpoints[1].port, 65535);
	assert_int_equal(b->endpoints[1].security_protocol, 1);
	assert_string_equal(b->rack, "rack-a");
	assert_false(b->fenced);
	records_free(out);

	/* No rack, no endpoints, fenced. */
	rec.register_broker.rack = NULL;
	rec.register_broker.n_endpoints = 0;
	rec.register_broker.endpoints = NULL;
	rec.register_broker.fenced = true;
	out = round_trip(&rec);
	assert_null(out->register_broker.rack);
	assert_int_equal(out->register_broker.n_endpoints, 0);
	assert_true(out->register_broker.fenced);
	records_free(out);
}

static void records__fence_unfence_round_trip(void **state)
{
	struct metadata_record rec = {.type = METADATA_FENCE_BROKER};
	rec.fence_broker = (struct metadata_broker_epoch){.id = 7, .epoch = -5};
	struct metadata_record *out = round_trip(&rec);
	assert_int_equal(out->fence_broker.id, 7);
	assert_int_equal(out->fence_broker.epoch, -5);
	records_free(out);

	rec = (struct metadata_record){.type = METADATA_UNFENCE_BROKER};
	rec.unfence_broker = (struct metadata_broker_epoch){.id = 0, .epoch = 42};
	out = round_trip(&rec);
	assert_int_equal(out->unfence_broker.id, 0);
	assert_int_equal(out->unfence_broker.epoch, 42);
	records_free(out);
}

static void records__topic_and_remove_topic_round_trip(void **state)
{
	struct metadata_record rec = {.type = METADATA_TOPIC};
	rec.topic.name = "my-failsafe-topic";
	memcpy(rec.topic.topic_id, TOPIC_ID, 16);
	struct metadata_record *out = round_trip(&rec);
	assert_string_equal(out->topic.name, "my-failsafe-topic");
	assert_memory_equal(out->topic.topic_id, TOPIC_ID, 16);
	records_free(out);

	rec = (struct metadata_record){.type = METADATA_REMOVE_TOPIC};
	memcpy(rec.remove_topic.topic_id, TOPIC_ID, 16);
	out = round_trip(&rec);
	assert_memory_equal(out->remove_topic.topic_id, TOPIC_ID, 16);
	records_free(out);
}

static void records__partition_round_trip(void **state)
{
	int32_t replicas[] = {0, 2, 1}, isr[] = {2, 1}, removing[] = {0}, adding[] = {3, -7};
	struct metadata_record rec = {.type = METADATA_PARTITION};
	rec.partition = (struct metadata_partition){
		.partition_id = 5,
		.replicas = {replicas, 3},
		.isr = {isr, 2},
		.removing_replicas = {removing, 1},
		.adding_replicas = {adding, 2},
		.leader = 2,
		.leader_epoch = 9,
		.partition_epoch = 11,
	};
	memcpy(rec.partition.topic_id, TOPIC_ID, 16);
	struct metadata_record *out = round_trip(&rec);
	const struct metadata_partition *p = &out->partition;
	assert_memory_equal(p->topic_id, TOPIC_ID, 16);
	assert_int_equal(p->partition_id, 5);
	assert_ids_equal(&p->replicas, &rec.partition.replicas);
	assert_ids_equal(&p->isr, &rec.partition.isr);
	assert_ids_equal(&p->removing_replicas, &rec.partition.removing_replicas);
	assert_ids_equal(&p->adding_replicas, &rec.partition.adding_replicas);
	assert_int_equal(p->leader, 2);
	assert_int_equal(p->leader_epoch, 9);
	assert_int_equal(p->partition_epoch, 11);
	records_free(out);

	/* Offline partition, empty lists. */
	rec.partition = (struct metadata_partition){.partition_id = 0, .leader = -1, .leader_epoch = 0};
	out = round_trip(&rec);
	assert_int_equal(out->partition.leader, -1);
	assert_int_equal(out->partition.isr.n, 0);
	assert_int_equal(out->partition.replicas.n, 0);
	records_free(out);
}

static void records__partition_change_keeps_absent_apart_from_empty(void **state)
{
	int32_t isr[] = {1};
	struct metadata_record rec = {.type = METADATA_PARTITION_CHANGE};
	rec.partition_change = (struct metadata_partition_change){
		.partition_id = 3,
		.has_isr = true,
		.isr = {isr, 1},
		.has_adding_replicas = true, /* present and empty */
		.leader = METADATA_LEADER_UNCHANGED,
	};
	memcpy(rec.partition_change.topic_id, TOPIC_ID, 16);
	struct metadata_record *out = round_trip(&rec);
	const struct metadata_partition_change *c = &out->partition_change;
	assert_int_equal(c->partition_id, 3);
	assert_true(c->has_isr);
	assert_ids_equal(&c->isr, &rec.partition_change.isr);
	assert_false(c->has_replicas);
	assert_false(c->has_removing_replicas);
	assert_true(c->has_adding_replicas);
	assert_int_equal(c->adding_replicas.n, 0);
	assert_int_equal(c->leader, METADATA_LEADER_UNCHANGED);
	records_free(out);

	rec.partition_change.leader = METADATA_NO_LEADER;
	rec.partition_change.has_isr = false;
	rec.partition_change.has_adding_replicas = false;
	out = round_trip(&rec);
	assert_int_equal(out->partition_change.leader, METADATA_NO_LEADER);
	assert_false(out->partition_change.has_isr);
	assert_false(out->partition_change.has_adding_replicas);
	records_free(out);

	rec.partition_change.leader = 4;
	out = round_trip(&rec);
	assert_int_equal(out->partition_change.leader, 4);
	records_free(out);
}

static void records__config_round_trip_with_null_value(void **state)
{
	struct metadata_record rec = {.type = METADATA_CONFIG};
	rec.config = (struct metadata_config){
		.resource_type = METADATA_RESOURCE_TOPIC,
		.resource_name = "t",
		.name = "retention.ms",
		.value = "1000",
	};
	struct metadata_record *out = round_trip(&rec);
	assert_int_equal(out->config.resource_type, METADATA_RESOURCE_TOPIC);
	assert_string_equal(out->config.resource_name, "t");
	assert_string_equal(out->config.name, "retention.ms");
	assert_string_equal(out->config.value, "1000");
	records_free(out);

	rec.config.value = NULL;
	rec.config.resource_type = METADATA_RESOURCE_BROKER;
	rec.config.resource_name = "";
	out = round_trip(&rec);
	assert_null(out->config.value);
	assert_string_equal(out->config.resource_name, "");
	assert_int_equal(out->config.resource_type, METADATA_RESOURCE_BROKER);
	records_free(out);

	/* "" is a value, not a deletion. */
	rec.config.value = "";
	out = round_trip(&rec);
	assert_non_null(out->config.value);
	assert_string_equal(out->config.value, "");
	records_free(out);
}

static void records__producer_ids_round_trip(void **state)
{
	struct metadata_record rec = {.type = METADATA_PRODUCER_IDS};
	rec.producer_ids = (struct metadata_producer_ids){.broker_id = 1, .broker_epoch = 77, .next_producer_id = 5000};
	struct metadata_record *out = round_trip(&rec);
	assert_int_equal(out->producer_ids.broker_id, 1);
	assert_int_equal(out->producer_ids.broker_epoch, 77);
	assert_int_equal(out->producer_ids.next_producer_id, 5000);
	records_free(out);
}

static void records_encode__rejects_out_of_range(void **state)
{
	uint8_t *buf;
	size_t len;
	struct metadata_record rec = {.type = (enum metadata_record_type)1};
	assert_int_equal(records_encode(&rec, &buf, &len), -EINVAL);

	rec = (struct metadata_record){.type = METADATA_TOPIC};
	rec.topic.name = NULL;
	assert_int_equal(records_encode(&rec, &buf, &len), -EINVAL);

	static int32_t many[RECORDS_MAX_IDS + 1];
	rec = (struct metadata_record){.type = METADATA_PARTITION};
	rec.partition.replicas = (struct metadata_id_list){many, RECORDS_MAX_IDS + 1};
	assert_int_equal(records_encode(&rec, &buf, &len), -EINVAL);

	/* encode_into wants the exact size. */
	rec = (struct metadata_record){.type = METADATA_REMOVE_TOPIC};
	uint8_t small[8];
	assert_int_equal(records_encode_into(&rec, small, sizeof small), -EINVAL);
}

/* Packs a protobuf-c message behind an envelope, bypassing our encoder. */
static size_t raw_entry(int type, const ProtobufCMessage *msg, uint8_t *out, size_t cap)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	assert_true(n + 4 <= cap);
	out[0] = (uint8_t)(type >> 8);
	out[1] = (uint8_t)type;
	out[2] = out[3] = 0;
	protobuf_c_message_pack(msg, out + 4);
	return n + 4;
}

static void records_decode__rejects_bad_fields(void **state)
{
	uint8_t buf[64 * 1024];
	struct metadata_record *out = NULL;

	/* A 15-byte uuid. */
	Tern__Topic t = TERN__TOPIC__INIT;
	t.name = "x";
	t.topic_id.len = 15;
	t.topic_id.data = (uint8_t *)TOPIC_ID;
	size_t n = raw_entry(METADATA_TOPIC, &t.base, buf, sizeof buf);
	assert_int_equal(records_decode(buf, n, &out), -EBADMSG);

	/* A port past 65535. */
	Tern__BrokerEndpoint ep = TERN__BROKER_ENDPOINT__INIT;
	ep.name = "PLAINTEXT";
	ep.host = "h";
	ep.port = 70000;
	Tern__BrokerEndpoint *eps[] = {&ep};
	Tern__RegisterBroker rb = TERN__REGISTER_BROKER__INIT;
	rb.incarnation_id.len = 16;
	rb.incarnation_id.data = (uint8_t *)TOPIC_ID;
	rb.n_endpoints = 1;
	rb.endpoints = eps;
	n = raw_entry(METADATA_REGISTER_BROKER, &rb.base, buf, sizeof buf);
	assert_int_equal(records_decode(buf, n, &out), -EBADMSG);
	ep.port = 9092;
	n = raw_entry(METADATA_REGISTER_BROKER, &rb.base, buf, sizeof buf);
	assert_int_equal(records_decode(buf, n, &out), 0);
	records_free(out);

	/* A resource type past int8. */
	Tern__Config c = TERN__CONFIG__INIT;
	c.resource_type = 200;
	c.resource_name = "r";
	c.name = "k";
	n = raw_entry(METADATA_CONFIG, &c.base, buf, sizeof buf);
	assert_int_equal(records_decode(buf, n, &out), -EBADMSG);

	/* More ids than the bound. */
	static int32_t many[RECORDS_MAX_IDS + 1];
	Tern__Partition p = TERN__PARTITION__INIT;
	p.topic_id.len = 16;
	p.topic_id.data = (uint8_t *)TOPIC_ID;
	p.n_isr = RECORDS_MAX_IDS + 1;
	p.isr = many;
	n = raw_entry(METADATA_PARTITION, &p.base, buf, sizeof buf);
	assert_int_equal(records_decode(buf, n, &out), -EBADMSG);

	/* A required field missing (TopicRecord without its id). */
	Tern__Topic t2 = TERN__TOPIC__INIT;
	t2.name = "x";
	t2.topic_id.len = 16;
	t2.topic_id.data = (uint8_t *)TOPIC_ID;
	n = raw_entry(METADATA_TOPIC, &t2.base, buf, sizeof buf);
	/* Drop the last field (tag 2, len 16: 18 bytes). */
	assert_int_equal(records_decode(buf, n - 18, &out), -EBADMSG);
	assert_int_equal(records_decode(buf, n, &out), 0);
	records_free(out);
}

static void records_decode__rejects_envelope_errors(void **state)
{
	struct metadata_record *out = NULL;
	uint8_t short_buf[3] = {0, 2, 0};
	assert_int_equal(records_decode(short_buf, 3, &out), -EBADMSG);
	assert_int_equal(records_decode(NULL, 0, &out), -EBADMSG);

	uint8_t unknown[4] = {0, 1, 0, 0}; /* apiKey 1 is not ours */
	assert_int_equal(records_decode(unknown, 4, &out), -ENOTSUP);
	uint8_t high[4] = {0x7f, 0xff, 0, 0};
	assert_int_equal(records_decode(high, 4, &out), -ENOTSUP);

	size_t big = RECORDS_ENVELOPE_BYTES + RECORDS_MAX_BYTES + 1;
	uint8_t *huge = calloc(1, big);
	huge[1] = METADATA_TOPIC;
	assert_int_equal(records_decode(huge, big, &out), -EMSGSIZE);
	free(huge);

	/* An envelope alone: every required field missing. */
	uint8_t empty[4] = {0, METADATA_TOPIC, 0, 0};
	assert_int_equal(records_decode(empty, 4, &out), -EBADMSG);
	uint8_t fence_empty[4] = {0, METADATA_FENCE_BROKER, 0, 0};
	assert_int_equal(records_decode(fence_empty, 4, &out), -EBADMSG);
}

static void records_decode__truncated_never_crashes(void **state)
{
	int32_t replicas[] = {0, 1, 2};
	struct metadata_endpoint eps[] = {{.name = "PLAINTEXT", .host = "localhost", .port = 9092}};
	struct metadata_record recs[3] = {
		{.type = METADATA_PARTITION},
		{.type = METADATA_REGISTER_BROKER},
		{.type = METADATA_CONFIG},
	};
	recs[0].partition = (struct metadata_partition){.replicas = {replicas, 3}, .isr = {replicas, 3}, .leader = 0};
	recs[1].register_broker = (struct metadata_register_broker){.broker_id = 1, .endpoints = eps, .n_endpoints = 1};
	recs[2].config = (struct metadata_config){.resource_name = "topic", .name = "k", .value = "v"};
	for (size_t r = 0; r < 3; r++) {
		uint8_t *buf;
		size_t len;
		assert_int_equal(records_encode(&recs[r], &buf, &len), 0);
		for (size_t cut = 0; cut < len; cut++) {
			/* A fresh copy of exactly `cut` bytes so ASan sees any overread. */
			uint8_t *copy = malloc(cut ? cut : 1);
			memcpy(copy, buf, cut);
			struct metadata_record *out = NULL;
			int rc = records_decode(copy, cut, &out);
			if (cut < RECORDS_ENVELOPE_BYTES)
				assert_int_equal(rc, -EBADMSG);
			if (rc == 0)
				records_free(out);
			else
				assert_true(rc == -EBADMSG);
			free(copy);
		}
		free(buf);
	}
}

static void records_decode__garbage_never_crashes(void **state)
{
	uint32_t seed = 12345;
	static const int types[] = {0, 2, 3, 4, 5, 7, 8, 9, 15};
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 4 + (seed = seed * 1103515245u + 12345u) % 60;
		uint8_t *buf = malloc(len);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
		buf[0] = 0;
		buf[1] = (uint8_t)types[(seed >> 8) % 9];
		struct metadata_record *out = NULL;
		int rc = records_decode(buf, len, &out);
		assert_true(rc == 0 || rc == -EBADMSG || rc == -ENOTSUP);
		if (rc == 0)
			records_free(out);
		free(buf);
	}
}

static void records_frame_next__walks_and_rejects(void **state)
{
	uint8_t buf[] = {0, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 0, 0, 0, 0, 5, 1};
	const uint8_t *p = buf, *e;
	size_t left = sizeof buf, n;
	assert_int_equal(records_frame_next(&p, &left, &e, &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(e[0], 0xaa);
	assert_int_equal(records_frame_next(&p, &left, &e, &n), 1);
	assert_int_equal(n, 0);
	/* Length 5 with one byte left. */
	assert_int_equal(records_frame_next(&p, &left, &e, &n), -EBADMSG);

	const uint8_t end[1] = {0};
	p = end;
	left = 0;
	assert_int_equal(records_frame_next(&p, &left, &e, &n), 0);
	left = 1;
	assert_int_equal(records_frame_next(&p, &left, &e, &n), -EBADMSG);

	uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff};
	p = huge;
	left = sizeof huge;
	assert_int_equal(records_frame_next(&p, &left, &e, &n), -EBADMSG);
}

static void records_type_name__names(void **state)
{
	assert_string_equal(records_type_name(METADATA_PARTITION_CHANGE), "PartitionChange");
	assert_string_equal(records_type_name(METADATA_REGISTER_BROKER), "RegisterBroker");
	assert_string_equal(records_type_name(99), "Unknown");
}

int main(void)
{
	logger_set_level(TLOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records__register_broker_round_trip),
		cmocka_unit_test(records__fence_unfence_round_trip),
		cmocka_unit_test(records__topic_and_remove_topic_round_trip),
		cmocka_unit_test(records__partition_round_trip),
		cmocka_unit_test(records__partition_change_keeps_absent_apart_from_empty),
		cmocka_unit_test(records__config_round_trip_with_null_value),
		cmocka_unit_test(records__producer_ids_round_trip),
		cmocka_unit_test(records_encode__rejects_out_of_range),
		cmocka_unit_test(records_decode__rejects_bad_fields),
		cmocka_unit_test(records_decode__rejects_envelope_errors),
		cmocka_unit_test(records_decode__truncated_never_crashes),
		cmocka_unit_test(records_decode__garbage_never_crashes),
		cmocka_unit_test(records_frame_next__walks_and_rejects),
		cmocka_unit_test(records_type_name__names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
