#include "raft/records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "raft/metadata.pb-c.h"

/* The protobuf-c messages one record is packed from: built on the stack from
 * views of the caller's record, so encoding allocates nothing but output. */
struct records_pb {
	union {
		ProtobufCMessage base;
		Tern__RegisterBroker register_broker;
		Tern__BrokerEpoch broker_epoch;
		Tern__Topic topic;
		Tern__Partition partition;
		Tern__PartitionChange partition_change;
		Tern__RemoveTopic remove_topic;
		Tern__Config config;
		Tern__ProducerIds producer_ids;
	};
	Tern__BrokerEndpoint endpoints[RECORDS_MAX_ENDPOINTS];
	Tern__BrokerEndpoint *endpoint_ptrs[RECORDS_MAX_ENDPOINTS];
	Tern__IdList lists[4]; /* isr, replicas, removing, adding */
};

/* A decoded record and the memory its views point into. */
struct records_decoded {
	struct metadata_record rec; /* first: records_free() casts back */
	ProtobufCMessage *msg;      /* owned, protobuf_c_message_free_unpacked */
	struct metadata_endpoint *endpoints; /* owned, [rec.register_broker.n_endpoints] */
};

const char *records_type_name(int type)
{
	switch (type) {
	case METADATA_REGISTER_BROKER: return "RegisterBroker";
	case METADATA_TOPIC: return "Topic";
	case METADATA_PARTITION: return "Partition";
	case METADATA_CONFIG: return "Config";
	case METADATA_PARTITION_CHANGE: return "PartitionChange";
	case METADATA_FENCE_BROKER: return "FenceBroker";
	case METADATA_UNFENCE_BROKER: return "UnfenceBroker";
	case METADATA_REMOVE_TOPIC: return "RemoveTopic";
	case METADATA_PRODUCER_IDS: return "ProducerIds";
	}
	return "Unknown";
}

static const ProtobufCMessageDescriptor *records_descriptor(int type)
{
	switch (type) {
	case METADATA_REGISTER_BROKER: return &tern__register_broker__descriptor;
	case METADATA_TOPIC: return &tern__topic__descriptor;
	case METADATA_PARTITION: return &tern__partition__descriptor;
	case METADATA_CONFIG: return &tern__config__descriptor;
	case METADATA_PARTITION_CHANGE: return &tern__partition_change__descriptor;
	case METADATA_FENCE_BROKER:
	case METADATA_UNFENCE_BROKER: return &tern__broker_epoch__descriptor;
	case METADATA_REMOVE_TOPIC: return &tern__remove_topic__descriptor;
	case METADATA_PRODUCER_IDS: return &tern__producer_ids__descriptor;
	}
	return NULL;
}

/* ---- encoding ---------------------------------------------------------- */

static ProtobufCBinaryData records_uuid_view(const uint8_t id[16])
{
	return (ProtobufCBinaryData){.len = 16, .data = (uint8_t *)id};
}

static bool records_string_ok(const char *s)
{
	return s != NULL && strlen(s) <= RECORDS_MAX_STRING;
}

static bool records_ids_ok(const struct metadata_id_list *l)
{
	return l->n <= RECORDS_MAX_IDS && (l->n == 0 || l->ids != NULL);
}

static Tern__IdList *records_id_list(Tern__IdList *pb, bool present, const struct metadata_id_list *l)
{
	if (!present)
		return NULL;
	tern__id_list__init(pb);
	pb->n_ids = l->n;
	pb->ids = (int32_t *)l->ids;
	return pb;
}

/* Fills pb from rec (views only). Returns 0 or -EINVAL. */
static int records_to_pb(const struct metadata_record *rec, struct records_pb *pb)
{
	switch (rec->type) {
	case METADATA_REGISTER_BROKER: {
		const struct metadata_register_broker *b = &rec->register_broker;
		if (b->n_endpoints > RECORDS_MAX_ENDPOINTS || (b->n_endpoints > 0 && b->endpoints == NULL))
			return -EINVAL;
		if (b->rack != NULL && !records_string_ok(b->rack))
			return -EINVAL;
		Tern__RegisterBroker *m = &pb->register_broker;
		tern__register_broker__init(m);
		m->broker_id = b->broker_id;
		m->incarnation_id = records_uuid_view(b->incarnation_id);
		m->broker_epoch = b->broker_epoch;
		for (size_t i = 0; i < b->n_endpoints; i++) {
			const struct metadata_endpoint *e = &b->endpoints[i];
			if (!records_string_ok(e->name) || !records_string_ok(e->host))
				return -EINVAL;
			Tern__BrokerEndpoint *pe = &pb->endpoints[i];
			tern__broker_endpoint__init(pe);
			pe->name = (char *)e->name;
			pe->host = (char *)e->host;
			pe->port = e->port;
			pe->security_protocol = e->security_protocol;
			pb->endpoint_ptrs[i] = pe;
		}
		m->n_endpoints = b->n_endpoints;
		m->endpoints = pb->endpoint_ptrs;
		m->rack = (char *)b->rack;
		m->has_fenced = true;
		m->fenced = b->fenced;
		return 0;
	}
	case METADATA_FENCE_BROKER:
	case METADATA_UNFENCE_BROKER: {
		const struct metadata_broker_epoch *b =
			rec->type == METADATA_FENCE_BROKER ? &rec->fence_broker : &rec->unfence_broker;
		tern__broker_epoch__init(&pb->broker_epoch);
		pb->broker_epoch.id = b->id;
		pb->broker_epoch.epoch = b->epoch;
		return 0;
	}
	case METADATA_TOPIC:
		if (!records_string_ok(rec->topic.name))
			return -EINVAL;
		tern__topic__init(&pb->topic);
		pb->topic.name = (char *)rec->topic.name;
		pb->topic.topic_id = records_uuid_view(rec->topic.topic_id);
		return 0;
	case METADATA_PARTITION: {
		const struct metadata_partition *p = &rec->partition;
		if (!records_ids_ok(&p->replicas) || !records_ids_ok(&p->isr) ||
		    !records_ids_ok(&p->removing_replicas) || !records_ids_ok(&p->adding_replicas))
			return -EINVAL;
		Tern__Partition *m = &pb->partition;
		tern__partition__init(m);
		m->topic_id = records_uuid_view(p->topic_id);
		m->partition_id = p->partition_id;
		m->n_replicas = p->replicas.n;
		m->replicas = (int32_t *)p->replicas.ids;
		m->n_isr = p->isr.n;
		m->isr = (int32_t *)p->isr.ids;
		m->n_removing_replicas = p->removing_replicas.n;
		m->removing_replicas = (int32_t *)p->removing_replicas.ids;
		m->n_adding_replicas = p->adding_replicas.n;
		m->adding_replicas = (int32_t *)p->adding_replicas.ids;
		m->has_leader = m->has_leader_epoch = m->has_partition_epoch = true;
		m->leader = p->leader;
		m->leader_epoch = p->leader_epoch;
		m->partition_epoch = p->partition_epoch;
		return 0;
	}
	case METADATA_PARTITION_CHANGE: {
		const struct metadata_partition_change *c = &rec->partition_change;
		if ((c->has_isr && !records_ids_ok(&c->isr)) || (c->has_replicas && !records_ids_ok(&c->replicas)) ||
		    (c->has_removing_replicas && !records_ids_ok(&c->removing_replicas)) ||
		    (c->has_adding_replicas && !records_ids_ok(&c->adding_replicas)))
			return -EINVAL;
		Tern__PartitionChange *m = &pb->partition_change;
		tern__partition_change__init(m);
		m->topic_id = records_uuid_view(c->topic_id);
		m->partition_id = c->partition_id;
		m->isr = records_id_list(&pb->lists[0], c->has_isr, &c->isr);
		m->replicas = records_id_list(&pb->lists[1], c->has_replicas, &c->replicas);
		m->removing_replicas = records_id_list(&pb->lists[2], c->has_removing_replicas, &c->removing_replicas);
		m->adding_replicas = records_id_list(&pb->lists[3], c->has_adding_replicas, &c->adding_replicas);
		m->has_leader = c->leader != METADATA_LEADER_UNCHANGED;
		m->leader = c->leader;
		return 0;
	}
	case METADATA_REMOVE_TOPIC:
		tern__remove_topic__init(&pb->remove_topic);
		pb->remove_topic.topic_id = records_uuid_view(rec->remove_topic.topic_id);
		return 0;
	case METADATA_CONFIG: {
		const struct metadata_config *c = &rec->config;
		if (!records_string_ok(c->resource_name) || !records_string_ok(c->name) ||
		    (c->value != NULL && !records_string_ok(c->value)))
			return -EINVAL;
		tern__config__init(&pb->config);
		pb->config.resource_type = c->resource_type;
		pb->config.resource_name = (char *)c->resource_name;
		pb->config.name = (char *)c->name;
		pb->config.value = (char *)c->value;
		return 0;
	}
	case METADATA_PRODUCER_IDS:
		tern__producer_ids__init(&pb->producer_ids);
		pb->producer_ids.broker_id = rec->producer_ids.broker_id;
		pb->producer_ids.has_broker_epoch = true;
		pb->producer_ids.broker_epoch = rec->producer_ids.broker_epoch;
		pb->producer_ids.next_producer_id = rec->producer_ids.next_producer_id;
		return 0;
	}
	return -EINVAL;
}

int records_encoded_size(const struct metadata_record *rec, size_t *len)
{
	struct records_pb pb;
	int rc = records_to_pb(rec, &pb);
	if (rc != 0)
		return rc;
	size_t n = protobuf_c_message_get_packed_size(&pb.base);
	if (n > RECORDS_MAX_BYTES)
		return -EMSGSIZE;
	*len = RECORDS_ENVELOPE_BYTES + n;
	return 0;
}

int records_encode_into(const struct metadata_record *rec, uint8_t *buf, size_t len)
{
	struct records_pb pb;
	int rc = records_to_pb(rec, &pb);
	if (rc != 0)
		return rc;
	size_t n = protobuf_c_message_get_packed_size(&pb.base);
	if (n > RECORDS_MAX_BYTES)
		return -EMSGSIZE;
	if (len != RECORDS_ENVELOPE_BYTES + n)
		return -EINVAL;
	buf[0] = (uint8_t)((unsigned)rec->type >> 8);
	buf[1] = (uint8_t)rec->type;
	buf[2] = (uint8_t)(rec->version >> 8);
	buf[3] = (uint8_t)rec->version;
	if (protobuf_c_message_pack(&pb.base, buf + RECORDS_ENVELOPE_BYTES) != n)
		return -EINVAL;
	return 0;
}

int records_encode(const struct metadata_record *rec, uint8_t **buf, size_t *len)
{
	size_t n;
	int rc = records_encoded_size(rec, &n);
	if (rc != 0)
		return rc;
	uint8_t *b = malloc(n);
	if (b == NULL)
		return -ENOMEM;
	rc = records_encode_into(rec, b, n);
	if (rc != 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* ---- decoding ---------------------------------------------------------- */

static int records_uuid_from(const ProtobufCBinaryData *d, uint8_t out[16])
{
	if (d->len != 16 || d->data == NULL)
		return -EBADMSG;
	memcpy(out, d->data, 16);
	return 0;
}

static int records_ids_from(size_t n, const int32_t *ids, struct metadata_id_list *out)
{
	if (n > RECORDS_MAX_IDS)
		return -EBADMSG;
	out->n = n;
	out->ids = ids;
	return 0;
}

static int records_opt_ids_from(const Tern__IdList *l, bool *has, struct metadata_id_list *out)
{
	*has = l != NULL;
	if (l == NULL) {
		out->n = 0;
		out->ids = NULL;
		return 0;
	}
	return records_ids_from(l->n_ids, l->ids, out);
}

static int records_string_from(const char *s)
{
	/* protobuf-c NUL-terminates what it copies; the length bound is ours. */
	return s != NULL && strnlen(s, RECORDS_MAX_STRING + 1) <= RECORDS_MAX_STRING ? 0 : -EBADMSG;
}

/* Fills d->rec from d->msg; views point into d->msg. */
static int records_from_pb(struct records_decoded *d)
{
	struct metadata_record *rec = &d->rec;
	switch (rec->type) {
	case METADATA_REGISTER_BROKER: {
		const Tern__RegisterBroker *m = (const Tern__RegisterBroker *)d->msg;
		struct metadata_register_broker *b = &rec->register_broker;
		if (records_uuid_from(&m->incarnation_id, b->incarnation_id) != 0)
			return -EBADMSG;
		if (m->n_endpoints > RECORDS_MAX_ENDPOINTS)
			return -EBADMSG;
		if (m->rack != NULL && records_string_from(m->rack) != 0)
			return -EBADMSG;
		b->broker_id = m->broker_id;
		b->broker_epoch = m->broker_epoch;
		b->rack = m->rack;
		b->fenced = m->has_fenced ? m->fenced : true;
		b->n_endpoints = m->n_endpoints;
		b->endpoints = NULL;
		if (m->n_endpoints > 0) {
			d->endpoints = calloc(m->n_endpoints, sizeof *d->endpoints);
			if (d->endpoints == NULL)
				return -ENOMEM;
			for (size_t i = 0; i < m->n_endpoints; i++) {
				const Tern__BrokerEndpoint *e = m->endpoints[i];
				if (records_string_from(e->name) != 0 || records_string_from(e->host) != 0)
					return -EBADMSG;
				if (e->port > UINT16_MAX || e->security_protocol < INT16_MIN ||
				    e->security_protocol > INT16_MAX)
					return -EBADMSG;
				d->endpoints[i] = (struct metadata_endpoint){
					.name = e->name,
					.host = e->host,
					.port = (uint16_t)e->port,
					.security_protocol = (int16_t)e->security_protocol,
				};
			}
			b->endpoints = d->endpoints;
		}
		return 0;
	}
	case METADATA_FENCE_BROKER:
	case METADATA_UNFENCE_BROKER: {
		const Tern__BrokerEpoch *m = (const Tern__BrokerEpoch *)d->msg;
		struct metadata_broker_epoch *b =
			rec->type == METADATA_FENCE_BROKER ? &rec->fence_broker : &rec->unfence_broker;
		b->id = m->id;
		b->epoch = m->epoch;
		return 0;
	}
	case METADATA_TOPIC: {
		const Tern__Topic *m = (const Tern__Topic *)d->msg;
		if (records_string_from(m->name) != 0)
			return -EBADMSG;
		rec->topic.name = m->name;
		return records_uuid_from(&m->topic_id, rec->topic.topic_id);
	}
	case METADATA_PARTITION: {
		const Tern__Partition *m = (const Tern__Partition *)d->msg;
		struct metadata_partition *p = &rec->partition;
		if (records_uuid_from(&m->topic_id, p->topic_id) != 0 ||
		    records_ids_from(m->n_replicas, m->replicas, &p->replicas) != 0 ||
		    records_ids_from(m->n_isr, m->isr, &p->isr) != 0 ||
		    records_ids_from(m->n_removing_replicas, m->removing_replicas, &p->removing_replicas) != 0 ||
		    records_ids_from(m->n_adding_replicas, m->adding_replicas, &p->adding_replicas) != 0)
			return -EBADMSG;
		p->partition_id = m->partition_id;
		p->leader = m->has_leader ? m->leader : METADATA_NO_LEADER;
		p->leader_epoch = m->has_leader_epoch ? m->leader_epoch : -1;
		p->partition_epoch = m->has_partition_epoch ? m->partition_epoch : -1;
		return 0;
	}
	case METADATA_PARTITION_CHANGE: {
		const Tern__PartitionChange *m = (const Tern__PartitionChange *)d->msg;
		struct metadata_partition_change *c = &rec->partition_change;
		if (records_uuid_from(&m->topic_id, c->topic_id) != 0 ||
		    records_opt_ids_from(m->isr, &c->has_isr, &c->isr) != 0 ||
		    records_opt_ids_from(m->replicas, &c->has_replicas, &c->replicas) != 0 ||
		    records_opt_ids_from(m->removing_replicas, &c->has_removing_replicas, &c->removing_replicas) != 0 ||
		    records_opt_ids_from(m->adding_replicas, &c->has_adding_replicas, &c->adding_replicas) != 0)
			return -EBADMSG;
		c->partition_id = m->partition_id;
		c->leader = m->has_leader ? m->leader : METADATA_LEADER_UNCHANGED;
		return 0;
	}
	case METADATA_REMOVE_TOPIC: {
		const Tern__RemoveTopic *m = (const Tern__RemoveTopic *)d->msg;
		return records_uuid_from(&m->topic_id, rec->remove_topic.topic_id);
	}
	case METADATA_CONFIG: {
		const Tern__Config *m = (const Tern__Config *)d->msg;
		if (m->resource_type < INT8_MIN || m->resource_type > INT8_MAX ||
		    records_string_from(m->resource_name) != 0 || records_string_from(m->name) != 0 ||
		    (m->value != NULL && records_string_from(m->value) != 0))
			return -EBADMSG;
		rec->config.resource_type = (int8_t)m->resource_type;
		rec->config.resource_name = m->resource_name;
		rec->config.name = m->name;
		rec->config.value = m->value;
		return 0;
	}
	case METADATA_PRODUCER_IDS: {
		const Tern__ProducerIds *m = (const Tern__ProducerIds *)d->msg;
		rec->producer_ids.broker_id = m->broker_id;
		rec->producer_ids.broker_epoch = m->has_broker_epoch ? m->broker_epoch : -1;
		rec->producer_ids.next_producer_id = m->next_producer_id;
		return 0;
	}
	}
	return -ENOTSUP;
}

int records_decode(const uint8_t *buf, size_t len, struct metadata_record **out)
{
	if (buf == NULL || len < RECORDS_ENVELOPE_BYTES)
		return -EBADMSG;
	int type = (buf[0] << 8) | buf[1];
	uint16_t version = (uint16_t)((buf[2] << 8) | buf[3]);
	const ProtobufCMessageDescriptor *desc = records_descriptor(type);
	if (desc == NULL)
		return -ENOTSUP;
	size_t n = len - RECORDS_ENVELOPE_BYTES;
	if (n > RECORDS_MAX_BYTES)
		return -EMSGSIZE;

	struct records_decoded *d = calloc(1, sizeof *d);
	if (d == NULL)
		return -ENOMEM;
	d->rec.type = (enum metadata_record_type)type;
	d->rec.version = version;
	/* NULL: malformed, a required field missing, or out of memory; protobuf-c
	 * does not tell them apart, and the input is the likelier culprit. */
	d->msg = protobuf_c_message_unpack(desc, NULL, n, buf + RECORDS_ENVELOPE_BYTES);
	if (d->msg == NULL) {
		free(d);
		return -EBADMSG;
	}
	int rc = records_from_pb(d);
	if (rc != 0) {
		records_free(&d->rec);
		return rc;
	}
	*out = &d->rec;
	return 0;
}

void records_free(struct metadata_record *rec)
{
	if (rec == NULL)
		return;
	struct records_decoded *d = (struct records_decoded *)rec;
	if (d->msg != NULL)
		protobuf_c_message_free_unpacked(d->msg, NULL);
	free(d->endpoints);
	free(d);
}

/* ---- frames ------------------------------------------------------------ */

int records_frame_next(const uint8_t **p, size_t *left, const uint8_t **entry, size_t *entry_len)
{
	if (*left == 0)
		return 0;
	if (*left < RECORDS_FRAME_HEADER)
		return -EBADMSG;
	const uint8_t *b = *p;
	uint32_t n = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
	if (n > RECORDS_ENVELOPE_BYTES + RECORDS_MAX_BYTES || n > *left - RECORDS_FRAME_HEADER)
		return -EBADMSG;
	*entry = b + RECORDS_FRAME_HEADER;
	*entry_len = n;
	*p = b + RECORDS_FRAME_HEADER + n;
	*left -= RECORDS_FRAME_HEADER + n;
	return 1;
}
