#include "cmd/tern/topic_describe.h"

#include <inttypes.h>
#include <stdlib.h>

#include "cmd/tern/uuid_text.h"

static int topic_describe_cmp(const void *a, const void *b)
{
	const struct topic_describe_partition *x = a, *y = b;
	return (x->partition > y->partition) - (x->partition < y->partition);
}

static void topic_describe_ids(const int32_t *ids, int n, FILE *out)
{
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%" PRId32, i ? "," : "", ids[i]);
}

void topic_describe_print(struct topic_describe *d, FILE *out)
{
	if (d->partition_cnt > 1)
		qsort(d->partitions, (size_t)d->partition_cnt, sizeof(*d->partitions), topic_describe_cmp);
	fprintf(out, "Topic: %s", d->name);
	if (!uuid_text_is_zero(d->id)) {
		char id[UUID_TEXT_LEN + 1];
		uuid_text_format(d->id, id);
		fprintf(out, "\tTopicId: %s", id);
	}
	/* Kafka takes the replication factor from the first partition. */
	int rf = d->partition_cnt > 0 ? d->partitions[0].replica_cnt : 0;
	fprintf(out, "\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: ", d->partition_cnt, rf);
	for (int i = 0; d->configs && i < d->configs->n; i++)
		fprintf(out, "%s%s=%s", i ? "," : "", d->configs->keys[i], d->configs->vals[i]);
	fputc('\n', out);
	for (int i = 0; i < d->partition_cnt; i++) {
		const struct topic_describe_partition *p = &d->partitions[i];
		fprintf(out, "\tTopic: %s\tPartition: %" PRId32 "\tLeader: ", d->name, p->partition);
		if (p->leader >= 0)
			fprintf(out, "%" PRId32, p->leader);
		else
			fputs("none", out);
		fputs("\tReplicas: ", out);
		topic_describe_ids(p->replicas, p->replica_cnt, out);
		fputs("\tIsr: ", out);
		topic_describe_ids(p->isr, p->isr_cnt, out);
		fputc('\n', out);
	}
}
