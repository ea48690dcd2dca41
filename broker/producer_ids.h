/* producer_ids: the producer ids this broker hands out through InitProducerId.
 *
 * Ids come in blocks of CONTROLLER_PRODUCER_ID_BLOCK (1000, Kafka's block
 * size). With a metadata quorum the active controller allocates them
 * (AllocateProducerIds, a ProducerIds record in the metadata log), as
 * Kafka's RPCProducerIdManager does: the broker keeps its current block,
 * asks for the next one once 90% of it is handed out
 * (ProducerIdManager.PidPrefetchThreshold), and a request that finds every
 * id used waits - parked, not blocking the loop - until the next block
 * arrives, or PRODUCER_IDS_WAIT_MS at most, after which it is answered
 * COORDINATOR_LOAD_IN_PROGRESS: Kafka's answer then, chosen over
 * REQUEST_TIMED_OUT because every client retries it. The request goes
 * in-process when this node is the active controller, else over the
 * controller channel; a refused or lost request (no controller yet, a
 * stale broker epoch, a controller that changed) is retried every
 * PRODUCER_IDS_RETRY_MS while ids are wanted.
 *
 * Without a quorum (b->metadata == NULL) the blocks come from a small file
 * in the first log dir, PRODUCER_IDS_FILE, holding the first id of the next
 * block: it is moved past a block (written and fsynced) before any id of
 * that block is handed out, so a restart - even after kill -9 - never hands
 * out an id again. The ids of a block not used up before a restart are
 * skipped, as Kafka skips them.
 *
 * Threads: the broker's loop only.
 */
#ifndef TERN_BROKER_PRODUCER_IDS_H
#define TERN_BROKER_PRODUCER_IDS_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct producer_ids;

/* How long a request waits for a block before COORDINATOR_LOAD_IN_PROGRESS:
 * well under clients' request timeouts (30 s for Java's), long enough for a
 * controller failover. */
#define PRODUCER_IDS_WAIT_MS 5000
/* Between attempts to get a block (Kafka's RPCProducerIdManager.RetryBackoffMs). */
#define PRODUCER_IDS_RETRY_MS 50
/* Standalone: the first id of the next block, in the first log dir
 * (checkpoint format: a version line "0", then the id). */
#define PRODUCER_IDS_FILE "producer-id-block"

/* ---- blocks: the bookkeeping, free of I/O ------------------------------------ */

struct producer_id_blocks {
	int64_t first, next, end; /* current block [first, end); next: the next id to hand out */
	bool has_next_block;      /* a prefetched block waits */
	int64_t next_first, next_end;
};

/* No block yet: every claim fails until producer_id_blocks_add(). */
void producer_id_blocks_init(struct producer_id_blocks *s);
/* Hands out the next id (*id), moving to the prefetched block when the
 * current one is used up. Returns 0, or -EAGAIN when no id is left. *fetch
 * says whether to ask for the next block now: no block is waiting and 90% of
 * the current one is handed out (or all of it). */
int producer_id_blocks_claim(struct producer_id_blocks *s, int64_t *id, bool *fetch);
/* Takes [start, start + len) as the next block (the current one when it is
 * used up). Returns 0; -EINVAL for an empty or overflowing range, or one
 * that does not start at or past the end of every block seen (Kafka's "not
 * monotonic"); -EBUSY when a block is already waiting. */
int producer_id_blocks_add(struct producer_id_blocks *s, int64_t start, int32_t len);

/* Standalone: reads dir/PRODUCER_IDS_FILE (missing: 0), durably moves it one
 * block on and returns the block's first id in *start. Returns 0, -EBADMSG
 * (a corrupt file: refusing is safer than reusing ids), -EOVERFLOW (int64
 * exhausted) or -errno. */
int producer_id_file_allocate(const char *dir, int64_t *start);

/* ---- the manager ------------------------------------------------------------ */

/* The outcome of producer_ids_generate(): KERR_NONE with the id, else a
 * Kafka error for the InitProducerId response. */
typedef void (*producer_ids_cb)(void *arg, int16_t error, int64_t producer_id);

/* Borrows b (its metadata, controller, channel and lifecycle, looked up at
 * each use). NULL when out of memory. */
struct producer_ids *producer_ids_new(struct broker *b);
/* Answers every waiting request (COORDINATOR_LOAD_IN_PROGRESS) and asks for
 * no more blocks. For shutdown, before the quorum and the controller
 * channel stop; their completions may still call in until producer_ids_free. */
void producer_ids_stop(struct producer_ids *m);
/* Stops, then frees. NULL is fine. */
void producer_ids_free(struct producer_ids *m);

/* A new producer id. `cb` runs exactly once: before this returns when an id
 * is at hand (or standalone), else later from the loop. */
void producer_ids_generate(struct producer_ids *m, producer_ids_cb cb, void *arg);

#endif
