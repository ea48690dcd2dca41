#include "broker/topics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/log.h"
#include "claimcheck/claimcheck.h"
#include "broker/logger.h"
#include "broker/protocol/errors.h"

#define TOPICS_META_DIR "topics.meta"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void topics_uuid_str(const uint8_t id[16], char out[23])
{
	int o = 0;
	for (int i = 0; i < 16; i += 3) {
		uint32_t v = (uint32_t)id[i] << 16;
		int n = 16 - i;
		if (n > 1)
			v |= (uint32_t)id[i + 1] << 8;
		if (n > 2)
			v |= id[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (n > 1)
			out[o++] = b64url[(v >> 6) & 63];
		if (n > 2)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
}

static int topics_uuid_parse(const char *s, uint8_t id[16])
{
	uint8_t buf[18] = {0};
	int bits = 0, o = 0;
	uint32_t acc = 0;
	if (strlen(s) != 22)
		return -1;
	for (int i = 0; i < 22; i++) {
		const char *p = strchr(b64url, s[i]);
		if (!p || !s[i])
			return -1;
		acc = (acc << 6) | (uint32_t)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	memcpy(id, buf, 16);
	return 0;
}

/* A random (version 4) uuid that is neither the zero uuid nor Kafka's
 * reserved metadata-topic id. */
static void topics_uuid_new(uint8_t id[16])
{
	do {
		if (getrandom(id, 16, 0) != 16) {
			for (int i = 0; i < 16; i++)
				id[i] = (uint8_t)rand();
		}
		id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
		id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	} while (id[0] == 0 && id[1] == 0);
}

bool topics_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > TOPIC_NAME_MAX)
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int topics_mkdirs(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void topics_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Writes `content` to `path` atomically (temp file, fsync, rename). */
static int topics_write_file(const char *dir, const char *name, const char *content)
{
	char tmp[4096], path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	size_t len = strlen(content), off = 0;
	while (off < len) {
		ssize_t n = write(fd, content + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			unlink(tmp);
			return e;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		unlink(tmp);
		return -EIO;
	}
	if (rename(tmp, path) != 0)
		return -errno;
	topics_fsync_dir(dir);
	return 0;
}

static char *topics_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len <= 1) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static void topics_partition_dir(const struct topics *t, const char *topic, int32_t p, char *out, size_t n)
{
	snprintf(out, n, "%s/%s-%d", t->log_dir, topic, p);
}

static int topics_persist(struct topics *t, const struct topic *topic)
{
	char dir[4096], id[23];
	size_t cap = 256, len;
	for (int i = 0; i < topic->overrides.count; i++)
		cap += strlen(topic->overrides.items[i].name) + strlen(topic->overrides.items[i].value) + 16;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	topics_uuid_str(topic->id, id);
	len = (size_t)snprintf(buf, cap, "topic.id=%s\npartitions=%d\n", id, topic->partition_count);
	for (int i = 0; i < topic->overrides.count; i++)
		len += (size_t)snprintf(buf + len, cap - len, "config.%s=%s\n", topic->overrides.items[i].name,
					topic->overrides.items[i].value);
	snprintf(dir, sizeof dir, "%s/" TOPICS_META_DIR, t->log_dir);
	int rc = topics_write_file(dir, topic->name, buf);
	free(buf);
	return rc;
}

/* Removes a partition directory left behind by a topic of the same name that
 * was deleted while the broker crashed (partition directories are flat). */
static void topics_remove_stale_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	rmdir(dir);
}

static struct partition *topics_partition_open(struct topics *t, struct topic *topic, int32_t index,
					       bool fresh, int64_t now_ms, int *err)
{
	char dir[4096], id[23], meta[128];
	struct partition *p = calloc(1, sizeof *p);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	topics_partition_dir(t, topic->name, index, dir, sizeof dir);
	if (fresh)
		topics_remove_stale_dir(dir);
	p->topic = topic;
	p->index = index;
	/* One broker leads everything; with a quorum the image decides
	 * (broker/publisher.c). */
	p->is_leader = t->cfg->voter_count == 0;
	p->leader_id = p->is_leader ? t->cfg->node_id : -1;
	p->isr_count = 1;
	p->log = log_open(dir, &topic->config.log, now_ms, err);
	if (!p->log) {
		free(p);
		return NULL;
	}
	/* Kafka's partition.metadata (KIP-516): the topic id beside the log. */
	topics_uuid_str(topic->id, id);
	snprintf(meta, sizeof meta, "version: 0\ntopic_id: %s\n", id);
	(void)topics_write_file(dir, "partition.metadata", meta);
	return p;
}

/* Closes (or deletes) a partition's log and frees it. */
static void topics_partition_free(struct partition *p, bool delete_log)
{
	if (p->log) {
		if (delete_log)
			(void)log_delete(p->log);
		else
			log_close(p->log);
	}
	if (p->cc_refs)
		claimcheck_refs_free(p->cc_refs);
	for (size_t k = 0; k < p->cc_deferred_n; k++)
		free(p->cc_deferred[k]);
	free(p->cc_deferred);
	free(p->replicas);
	free(p);
}

static void topic_free(struct topic *topic, bool delete_logs)
{
	for (int32_t i = 0; i < topic->partition_count; i++)
		if (topic->partitions[i])
			topics_partition_free(topic->partitions[i], delete_logs);
	free(topic->partitions);
	topic_overrides_free(&topic->overrides);
	free(topic->name);
	free(topic);
}

static int topics_insert(struct topics *t, struct topic *topic)
{
	struct topic **items = realloc(t->items, sizeof *items * (size_t)(t->count + 1));
	if (!items)
		return -ENOMEM;
	t->items = items;
	t->items[t->count++] = topic;
	return 0;
}

/* Whether partition `index` of `topic` has a directory in the log dir. */
static bool topics_partition_dir_exists(const struct topics *t, const struct topic *topic, int32_t index)
{
	char dir[4096];
	struct stat st;
	topics_partition_dir(t, topic->name, index, dir, sizeof dir);
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Grows `topic` to `count` partitions. With `hosted_only` (a quorum member
 * loading its catalog) only partitions that have a directory are opened;
 * the others stay NULL: another broker hosts them. */
static int topics_grow_some(struct topics *t, struct topic *topic, int32_t count, bool fresh, bool hosted_only,
			    int64_t now_ms)
{
	struct partition **ps = realloc(topic->partitions, sizeof *ps * (size_t)count);
	if (!ps)
		return -ENOMEM;
	topic->partitions = ps;
	for (int32_t i = topic->partition_count; i < count; i++) {
		int err = 0;
		if (hosted_only && !topics_partition_dir_exists(t, topic, i)) {
			ps[i] = NULL;
			topic->partition_count = i + 1;
			continue;
		}
		ps[i] = topics_partition_open(t, topic, i, fresh, now_ms, &err);
		if (!ps[i]) {
			tlog(TLOG_ERROR, "topics", "cannot open partition %s-%d: %s", topic->name, i, strerror(-err));
			return err ? err : -EIO;
		}
		topic->partition_count = i + 1;
	}
	return 0;
}

static int topics_grow(struct topics *t, struct topic *topic, int32_t count, bool fresh, int64_t now_ms)
{
	return topics_grow_some(t, topic, count, fresh, false, now_ms);
}

/* Loads one catalog file. */
static int topics_load(struct topics *t, const char *name, int64_t now_ms, char *errbuf, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/" TOPICS_META_DIR "/%s", t->log_dir, name);
	char *content = topics_read_file(path);
	if (!content) {
		snprintf(errbuf, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	struct topic *topic = calloc(1, sizeof *topic);
	int32_t partitions = 0;
	bool have_id = false;
	if (!topic || !(topic->name = strdup(name))) {
		free(topic);
		free(content);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	char *save = NULL;
	for (char *line = strtok_r(content, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		if (strcmp(k, "topic.id") == 0)
			have_id = topics_uuid_parse(v, topic->id) == 0;
		else if (strcmp(k, "partitions") == 0)
			partitions = (int32_t)strtol(v, NULL, 10);
		else if (strncmp(k, "config.", 7) == 0)
			(void)topic_overrides_set(&topic->overrides, k + 7, v);
	}
	free(content);
	if (!have_id || partitions <= 0) {
		snprintf(errbuf, errlen, "corrupt topic catalog file %s", path);
		topic_free(topic, false);
		return -1;
	}
	topic->internal = name[0] == '_' && name[1] == '_';
	topic_config_resolve(t->cfg, &topic->overrides, &topic->config);
	int rc = topics_grow_some(t, topic, partitions, false, t->cfg->voter_count > 0, now_ms);
	if (rc == 0)
		rc = topics_insert(t, topic);
	if (rc != 0) {
		snprintf(errbuf, errlen, "cannot open topic %s: %s", name, strerror(-rc));
		topic_free(topic, false);
		return -1;
	}
	return 0;
}

/* meta.properties as Kafka's KRaft mode writes it (version 1, node.id, cluster.id). */
/* KRaft formats every node's storage with one cluster id (kafka-storage
 * format -t). Tern has no format step: the nodes of a quorum derive the same
 * id from what they share, the voter set (controller.quorum.voters, in id
 * order), so clients see one cluster (librdkafka warns when the brokers of
 * one bootstrap list report different ids). Two FNV-1a 64 hashes with
 * different offsets make the 128 bits; the UUID version bits are set as for
 * a random one. */
static void topics_cluster_id_of_voters(const struct broker_config *cfg, uint8_t id[16])
{
	uint64_t h[2] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
	int32_t last = INT32_MIN;
	for (int k = 0; k < cfg->voter_count; k++) {
		/* The next voter by id (lists are short). */
		const struct config_voter *v = NULL;
		for (int i = 0; i < cfg->voter_count; i++)
			if (cfg->voter_list[i].id > last && (v == NULL || cfg->voter_list[i].id < v->id))
				v = &cfg->voter_list[i];
		if (v == NULL)
			break;
		last = v->id;
		char entry[320];
		int n = snprintf(entry, sizeof entry, "%d@%s:%d,", (int)v->id, v->host, (int)v->port);
		for (int i = 0; i < n && i < (int)sizeof entry; i++)
			for (int j = 0; j < 2; j++)
				h[j] = (h[j] ^ (uint8_t)entry[i]) * 0x100000001b3ULL;
	}
	for (int i = 0; i < 8; i++) {
		id[i] = (uint8_t)(h[0] >> (8 * i));
		id[8 + i] = (uint8_t)(h[1] >> (8 * i));
	}
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	if (id[0] == 0 && id[1] == 0)
		id[0] = 1; /* as topics_uuid_new: never an id that prints like a null one */
}

static int topics_meta_properties(struct topics *t, char *errbuf, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/meta.properties", t->log_dir);
	char *content = topics_read_file(path);
	if (content) {
		char *line, *save = NULL;
		for (line = strtok_r(content, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "cluster.id=", 11) == 0)
				snprintf(t->cluster_id, sizeof t->cluster_id, "%s", line + 11);
			if (strncmp(line, "node.id=", 8) == 0 && strtol(line + 8, NULL, 10) != t->cfg->node_id) {
				snprintf(errbuf, errlen, "%s belongs to node.id %s, not %d", path, line + 8,
					 (int)t->cfg->node_id);
				free(content);
				return -1;
			}
		}
		free(content);
		if (t->cluster_id[0])
			return 0;
	}
	uint8_t id[16];
	char buf[256];
	if (t->cfg->voter_count > 0)
		topics_cluster_id_of_voters(t->cfg, id);
	else
		topics_uuid_new(id);
	topics_uuid_str(id, t->cluster_id);
	snprintf(buf, sizeof buf, "#\nversion=1\nnode.id=%d\ncluster.id=%s\n", (int)t->cfg->node_id, t->cluster_id);
	int rc = topics_write_file(t->log_dir, "meta.properties", buf);
	if (rc != 0) {
		snprintf(errbuf, errlen, "cannot write %s: %s", path, strerror(-rc));
		return -1;
	}
	return 0;
}

int topics_open(struct topics *t, const struct broker_config *cfg, int64_t now_ms, char *errbuf, size_t errlen)
{
	char dir[4096];
	memset(t, 0, sizeof *t);
	t->cfg = cfg;
	if (!cfg->log_dirs || !cfg->log_dirs[0]) {
		snprintf(errbuf, errlen, "log.dirs is empty");
		return -1;
	}
	/* Only the first of log.dirs is used until JBOD placement exists. */
	const char *first = cfg->log_dirs;
	size_t n = strcspn(first, ",");
	t->log_dir = strndup(first, n);
	if (!t->log_dir) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	snprintf(dir, sizeof dir, "%s/" TOPICS_META_DIR, t->log_dir);
	int rc = topics_mkdirs(dir);
	if (rc != 0) {
		snprintf(errbuf, errlen, "cannot create log dir %s: %s", dir, strerror(-rc));
		goto err;
	}
	if (topics_meta_properties(t, errbuf, errlen) != 0)
		goto err;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(errbuf, errlen, "cannot open %s: %s", dir, strerror(errno));
		goto err;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (!topics_name_valid(e->d_name, strlen(e->d_name)))
			continue;
		if (topics_load(t, e->d_name, now_ms, errbuf, errlen) != 0) {
			closedir(d);
			goto err;
		}
	}
	closedir(d);
	return 0;
err:
	topics_close(t);
	return -1;
}

void topics_close(struct topics *t)
{
	for (int i = 0; i < t->count; i++)
		topic_free(t->items[i], false);
	free(t->items);
	free(t->log_dir);
	t->items = NULL;
	t->log_dir = NULL;
	t->count = 0;
}

struct topic *topics_find(const struct topics *t, struct kstr name)
{
	if (name.len < 0)
		return NULL;
	for (int i = 0; i < t->count; i++) {
		const char *n = t->items[i]->name;
		if (strlen(n) == (size_t)name.len && memcmp(n, name.p, (size_t)name.len) == 0)
			return t->items[i];
	}
	return NULL;
}

struct topic *topics_find_cstr(const struct topics *t, const char *name)
{
	struct kstr k = {name, (int32_t)strlen(name)};
	return topics_find(t, k);
}

struct topic *topics_find_id(const struct topics *t, const uint8_t id[16])
{
	for (int i = 0; i < t->count; i++)
		if (memcmp(t->items[i]->id, id, 16) == 0)
			return t->items[i];
	return NULL;
}

struct partition *topics_partition(const struct topics *t, struct kstr topic, int32_t index)
{
	struct topic *tp = topics_find(t, topic);
	if (!tp || index < 0 || index >= tp->partition_count)
		return NULL;
	return tp->partitions[index];
}

int topics_create(struct topics *t, const char *name, int32_t partitions, const struct topic_overrides *ov,
		  int64_t now_ms, struct topic **out)
{
	if (!topics_name_valid(name, strlen(name)))
		return KERR_INVALID_TOPIC_EXCEPTION;
	if (topics_find_cstr(t, name))
		return KERR_TOPIC_ALREADY_EXISTS;
	if (partitions <= 0)
		return KERR_INVALID_PARTITIONS;
	struct topic *topic = calloc(1, sizeof *topic);
	if (!topic || !(topic->name = strdup(name))) {
		free(topic);
		return KERR_UNKNOWN_SERVER_ERROR;
	}
	topics_uuid_new(topic->id);
	topic->internal = name[0] == '_' && name[1] == '_';
	for (int i = 0; ov && i < ov->count; i++)
		if (topic_overrides_set(&topic->overrides, ov->items[i].name, ov->items[i].value) != 0)
			goto err;
	topic_config_resolve(t->cfg, &topic->overrides, &topic->config);
	topic->partition_count = 0;
	/* Catalog first with the final count: a crash between the two leaves a
	 * topic whose missing partition directories are created on next open. */
	topic->partition_count = partitions;
	if (topics_persist(t, topic) != 0) {
		topic->partition_count = 0;
		goto err;
	}
	topic->partition_count = 0;
	if (topics_grow(t, topic, partitions, true, now_ms) != 0 || topics_insert(t, topic) != 0) {
		char path[4096];
		snprintf(path, sizeof path, "%s/" TOPICS_META_DIR "/%s", t->log_dir, name);
		unlink(path);
		topic_free(topic, true);
		return KERR_KAFKA_STORAGE_ERROR;
	}
	if (out)
		*out = topic;
	return KERR_NONE;
err:
	topic_free(topic, false);
	return KERR_UNKNOWN_SERVER_ERROR;
}

int topics_delete(struct topics *t, struct topic *topic)
{
	char path[4096];
	int i;
	for (i = 0; i < t->count; i++)
		if (t->items[i] == topic)
			break;
	if (i == t->count)
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	/* The catalog entry goes first: a crash afterwards leaves orphan
	 * partition directories, never a topic without its data. */
	snprintf(path, sizeof path, "%s/" TOPICS_META_DIR "/%s", t->log_dir, topic->name);
	if (unlink(path) != 0 && errno != ENOENT)
		return KERR_KAFKA_STORAGE_ERROR;
	snprintf(path, sizeof path, "%s/" TOPICS_META_DIR, t->log_dir);
	topics_fsync_dir(path);
	t->items[i] = t->items[t->count - 1];
	t->count--;
	topic_free(topic, true);
	return KERR_NONE;
}

int topics_add_partitions(struct topics *t, struct topic *topic, int32_t count, int64_t now_ms)
{
	if (count <= topic->partition_count)
		return KERR_INVALID_PARTITIONS;
	int32_t old = topic->partition_count;
	topic->partition_count = count;
	int rc = topics_persist(t, topic);
	topic->partition_count = old;
	if (rc != 0)
		return KERR_KAFKA_STORAGE_ERROR;
	if (topics_grow(t, topic, count, true, now_ms) != 0)
		return KERR_KAFKA_STORAGE_ERROR;
	return KERR_NONE;
}

int topics_set_overrides(struct topics *t, struct topic *topic, const struct topic_overrides *ov)
{
	struct topic_overrides fresh = {0};
	for (int i = 0; i < ov->count; i++) {
		if (topic_overrides_set(&fresh, ov->items[i].name, ov->items[i].value) != 0) {
			topic_overrides_free(&fresh);
			return KERR_UNKNOWN_SERVER_ERROR;
		}
	}
	struct topic_overrides old = topic->overrides;
	topic->overrides = fresh;
	if (topics_persist(t, topic) != 0) {
		topic->overrides = old;
		topic_overrides_free(&fresh);
		return KERR_KAFKA_STORAGE_ERROR;
	}
	topic_overrides_free(&old);
	topic_config_resolve(t->cfg, &topic->overrides, &topic->config);
	for (int32_t i = 0; i < topic->partition_count; i++)
		if (topic->partitions[i])
			log_set_config(topic->partitions[i]->log, &topic->config.log);
	return KERR_NONE;
}

/* ---- quorum mode: the catalog follows the metadata image ---- */

int topics_adopt(struct topics *t, const char *name, const uint8_t id[16], int32_t partition_count,
		 const struct topic_overrides *ov, struct topic **out)
{
	if (!topics_name_valid(name, strlen(name)) || partition_count <= 0)
		return KERR_INVALID_REQUEST;
	if (topics_find_cstr(t, name))
		return KERR_TOPIC_ALREADY_EXISTS;
	struct topic *topic = calloc(1, sizeof *topic);
	if (!topic || !(topic->name = strdup(name)))
		goto err;
	memcpy(topic->id, id, 16);
	topic->internal = name[0] == '_' && name[1] == '_';
	for (int i = 0; ov && i < ov->count; i++)
		if (topic_overrides_set(&topic->overrides, ov->items[i].name, ov->items[i].value) != 0)
			goto err;
	topic_config_resolve(t->cfg, &topic->overrides, &topic->config);
	topic->partitions = calloc((size_t)partition_count, sizeof *topic->partitions);
	if (!topic->partitions)
		goto err;
	topic->partition_count = partition_count;
	if (topics_persist(t, topic) != 0 || topics_insert(t, topic) != 0) {
		char path[4096];
		snprintf(path, sizeof path, "%s/" TOPICS_META_DIR "/%s", t->log_dir, name);
		unlink(path);
		topic_free(topic, false);
		return KERR_KAFKA_STORAGE_ERROR;
	}
	*out = topic;
	return KERR_NONE;
err:
	if (topic)
		topic_free(topic, false);
	return KERR_UNKNOWN_SERVER_ERROR;
}

int topics_resize(struct topics *t, struct topic *topic, int32_t count)
{
	if (count <= topic->partition_count)
		return KERR_NONE;
	struct partition **ps = realloc(topic->partitions, sizeof *ps * (size_t)count);
	if (!ps)
		return KERR_UNKNOWN_SERVER_ERROR;
	topic->partitions = ps;
	for (int32_t i = topic->partition_count; i < count; i++)
		ps[i] = NULL;
	topic->partition_count = count;
	return topics_persist(t, topic) == 0 ? KERR_NONE : KERR_KAFKA_STORAGE_ERROR;
}

/* A directory whose partition.metadata names another topic id belongs to an
 * earlier topic of the same name: it is not this partition's data. */
static bool topics_dir_is_other_topic(const char *dir, const uint8_t id[16])
{
	char path[4200], want[23];
	snprintf(path, sizeof path, "%s/partition.metadata", dir);
	char *content = topics_read_file(path);
	if (!content)
		return false;
	topics_uuid_str(id, want);
	const char *k = strstr(content, "topic_id: ");
	bool other = k != NULL && strncmp(k + 10, want, 22) != 0;
	free(content);
	return other;
}

int topics_host_partition(struct topics *t, struct topic *topic, int32_t index, int64_t now_ms)
{
	if (index < 0 || index >= topic->partition_count)
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (topic->partitions[index])
		return KERR_NONE;
	char dir[4096];
	topics_partition_dir(t, topic->name, index, dir, sizeof dir);
	int err = 0;
	topic->partitions[index] = topics_partition_open(t, topic, index, topics_dir_is_other_topic(dir, topic->id),
							 now_ms, &err);
	if (!topic->partitions[index]) {
		tlog(TLOG_ERROR, "topics", "cannot open partition %s-%d: %s", topic->name, index, strerror(-err));
		return KERR_KAFKA_STORAGE_ERROR;
	}
	return KERR_NONE;
}

void topics_drop_partition(struct topics *t, struct topic *topic, int32_t index)
{
	(void)t;
	if (index < 0 || index >= topic->partition_count || !topic->partitions[index])
		return;
	struct partition *p = topic->partitions[index];
	topic->partitions[index] = NULL;
	topics_partition_free(p, true);
}
