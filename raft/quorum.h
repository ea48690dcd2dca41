/* quorum: one member of the metadata quorum — canonical/raft on its own thread.
 *
 * Every tern-broker runs one quorum. It owns a libuv loop on a thread of its
 * own, running raft (raft_uv storage + raft_uv_tcp transport on the controller
 * listener). Nothing outside this file calls raft:
 *
 *   proposals in   quorum_propose() from any thread copies the bytes onto a
 *                  mutex-protected queue and wakes the loop (uv_async_send);
 *                  the raft thread drains the whole queue (wake-ups coalesce)
 *                  into raft_apply. The outcome (the entry's index, or an
 *                  error) comes back through a completion sink, on the thread
 *                  that drains that sink.
 *   entries out    committed entries are handed to the FSM callbacks on the
 *                  raft thread, on every member, in log order.
 *   state out      role, leader, term, commit index, members and (on the
 *                  leader) each member's match index are published from a
 *                  uv_prepare handle; quorum_status() copies them from any
 *                  thread without touching raft.
 *
 * Node ids: Kafka node ids start at 0, raft ids must be > 0, so a node's raft
 * id is node_id + 1. Every id this API shows is a Kafka node id.
 *
 * Boot: a node listed in the voters bootstraps the voter configuration on its
 * first boot (an empty data dir); on later boots raft reloads its term, vote,
 * snapshot and log from the data dir and the bootstrap is skipped. A node not
 * in the voter list starts with an empty configuration and waits until the
 * leader adds it (quorum_add_standby): it then replicates the whole log
 * without voting, like a KRaft observer.
 *
 * The process must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) before starting a
 * quorum: raft's transport writes to peers that may have died, and the default
 * disposition kills the survivors. The quorum does not change signal
 * dispositions itself — that is the process's job (cmd/).
 *
 * Errors are negative QUORUM_E* codes; quorum_strerror() names them.
 */
#ifndef TERN_RAFT_QUORUM_H
#define TERN_RAFT_QUORUM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes (0 is success). */
enum {
	QUORUM_ENOTLEADER = -1, /* this member is not the leader: nothing was appended;
	                         * retry on the leader (quorum_status().leader_id) */
	QUORUM_EUNKNOWN = -2,   /* appended, then leadership was lost or the quorum
	                         * shut down before commit: the entry may still
	                         * commit. Commands must be idempotent. */
	QUORUM_ESHUTDOWN = -3,  /* the quorum is stopped or stopping: not appended */
	QUORUM_ENOMEM = -4,
	QUORUM_EINVAL = -5,     /* bad configuration or argument */
	QUORUM_EIO = -6,        /* storage or network setup failed (busy port,
	                         * unreadable data dir): see the log line */
	QUORUM_EBUSY = -7,      /* a membership change is already in progress */
};

/* Longest "host:port" accepted, NUL excluded. */
#define QUORUM_ADDRESS_MAX 63
/* Most members (voters + standbys) a quorum publishes. */
#define QUORUM_MEMBERS_MAX 16

/* Addresses are "host:port". raft 0.15 only speaks IPv4 literals, so a host
 * name is resolved once, in quorum_new(), to its first IPv4 address; that
 * address is what raft stores and what quorum_status() shows. */
struct quorum_voter {
	int32_t node_id;     /* Kafka node id, >= 0 */
	const char *address; /* "host:port" the other members dial */
};

struct quorum_config {
	int32_t node_id;            /* Kafka node id of this member, >= 0 */
	const char *data_dir;       /* must exist; raft's metadata, segments and
	                             * snapshots live directly in it */
	const char *address;        /* "host:port" this member is reached at: NULL
	                             * for a voter (its voter entry), required for
	                             * a standby; a voter's, if given, must equal
	                             * its voter entry */
	const char *bind_address;   /* "host:port" to listen on (same port as
	                             * `address`, e.g. "0.0.0.0:9093"), or NULL to
	                             * listen on `address` */
	const struct quorum_voter *voters; /* controller.quorum.voters */
	size_t n_voters;            /* 1..QUORUM_MEMBERS_MAX */
	unsigned election_timeout_ms;  /* 0: 1000. Randomised 1x-2x by raft. */
	unsigned heartbeat_ms;         /* 0: 100. Must be < election timeout. */
	unsigned snapshot_threshold;   /* entries between snapshots; 0: 1024 */
	unsigned snapshot_trailing;    /* entries kept after a snapshot; 0: 128 */
	size_t segment_size;           /* bytes per open segment; 0: raft's 8 MiB.
	                                * Raft preallocates 3 of them: keep small
	                                * in tests (a multiple of 4096). */
	unsigned connect_retry_ms;     /* 0: 100 (raft's default is 1000, which
	                                * slows a restarted member's catch-up) */
};

/* The state machine fed by the quorum. Every callback runs on the raft thread;
 * none may call into the quorum except quorum_status(). `arg` is passed back
 * untouched. */
struct quorum_fsm {
	void *arg;
	/* Applies the committed entry at `index` (written in `term`). `buf` is
	 * borrowed for the call. It cannot fail: an entry the FSM does not
	 * understand is logged and skipped (a failure would stop raft applying
	 * anything, on every member). Mandatory. */
	void (*apply_cb)(void *arg, const void *buf, size_t len, uint64_t index, uint64_t term);
	/* Serialises the whole state (the image, as records) into *buf (malloc'd;
	 * the quorum takes ownership and frees it) of *len bytes. Returns 0, or
	 * non-zero to skip this snapshot (raft retries later). Mandatory: raft
	 * crashes at its first snapshot without it. */
	int (*snapshot_cb)(void *arg, void **buf, size_t *len);
	/* Replaces the whole state with a snapshot (`buf` borrowed for the call):
	 * on start from the data dir, or when the leader sends one to a member
	 * too far behind. Entries after the snapshot are then applied in order.
	 * Returns 0, or non-zero when the snapshot cannot be read (raft then
	 * refuses it). Mandatory. */
	int (*restore_cb)(void *arg, const void *buf, size_t len);
	/* Optional: called when this member's role, the known leader or the term
	 * changes (leader_id -1 when none is known). A new controller starts its
	 * work from here. */
	void (*role_cb)(void *arg, int role, int32_t leader_id, uint64_t term);
};

/* A member's raft role as published (enum quorum_role). */
enum quorum_role {
	QUORUM_UNAVAILABLE = 0, /* not started, starting or stopped */
	QUORUM_FOLLOWER = 1,
	QUORUM_CANDIDATE = 2,
	QUORUM_LEADER = 3,
};
const char *quorum_role_name(int role);

/* A member's place in the raft configuration. */
enum quorum_membership {
	QUORUM_VOTER = 0,
	QUORUM_STANDBY = 1, /* replicates, does not vote (KRaft observer) */
	QUORUM_SPARE = 2,   /* known, does not replicate */
};

struct quorum_member {
	int32_t node_id;
	int membership;                          /* enum quorum_membership */
	char address[QUORUM_ADDRESS_MAX + 1];
	/* Valid only on the leader (quorum_status.is_leader_view): */
	uint64_t match_index;  /* highest index known replicated there; the
	                        * leader's own is its last log index */
	bool recent_contact;   /* heard from within the last election timeout */
};

/* A copy of what the raft thread last published. */
struct quorum_status {
	int32_t node_id;        /* this member */
	int role;               /* enum quorum_role */
	int32_t leader_id;      /* -1 when no leader is known */
	char leader_address[QUORUM_ADDRESS_MAX + 1];
	uint64_t term;          /* current term (KRaft's LeaderEpoch) */
	uint64_t commit_index;  /* highest index known committed (KRaft's
	                         * HighWatermark, counted in raft entries) */
	uint64_t last_applied;  /* highest index handed to the FSM */
	uint64_t last_index;    /* last index in this member's log */
	uint64_t published;     /* how many times the state was published */
	bool is_leader_view;    /* members[].match_index filled (role LEADER) */
	size_t n_members;
	struct quorum_member members[QUORUM_MEMBERS_MAX];
};

/* Outcome of a proposal: status 0 and the entry's log index once it is
 * committed and applied on this member's FSM, or a negative QUORUM_E* code
 * (index 0). Runs on the sink's draining thread, or on the raft thread for a
 * proposal made without a sink. */
typedef void (*quorum_propose_cb)(void *arg, int status, uint64_t index);

struct quorum_completion; /* private */

/* Where completions go. The raft thread appends them (FIFO) and calls
 * notify_cb(notify_arg) — thread-safe and non-blocking, e.g. event_active()
 * on a libevent event of the owning loop (evthread_use_pthreads() first) or a
 * write to an eventfd; that thread then calls quorum_sink_drain(). The sink
 * must outlive every quorum it was passed to (quorum_free()) — completions
 * can be posted up to the end of quorum_stop(). */
struct quorum_sink {
	void (*notify_cb)(void *notify_arg);
	void *notify_arg;
	pthread_mutex_t lock;
	struct quorum_completion *head, *tail; /* FIFO, under lock */
};

void quorum_sink_init(struct quorum_sink *sink, void (*notify_cb)(void *), void *notify_arg);
/* Runs the callbacks of every completion queued so far, in order, on the
 * calling thread. Returns how many ran. */
size_t quorum_sink_drain(struct quorum_sink *sink);
/* Drains what is left, then releases the sink's lock. */
void quorum_sink_close(struct quorum_sink *sink);

struct quorum;

/* Validates `cfg`, resolves its host names and copies it (the caller's
 * strings and arrays are not kept); the FSM callbacks are copied too. Returns
 * a stopped quorum owned by the caller (quorum_free), or NULL with *err set
 * (QUORUM_EINVAL: a log line names the field or the host; QUORUM_ENOMEM).
 * Starts nothing. */
struct quorum *quorum_new(const struct quorum_config *cfg, const struct quorum_fsm *fsm, int *err);

/* Opens the data dir, binds the listener, bootstraps on first boot, loads
 * snapshot + log (restore_cb and apply_cb may run before this returns, on the
 * calling thread — no other thread is touching raft yet) and starts the raft
 * thread. Returns 0, QUORUM_EIO (busy port, bad data dir: logged with raft's
 * message) or QUORUM_ENOMEM. A quorum starts at most once. */
int quorum_start(struct quorum *q);

/* Stops a started quorum and waits for its thread: a leader first hands
 * leadership to another voter (raft_transfer, ~1-2 ms when one is reachable;
 * at most one election timeout otherwise), then raft closes. Proposals still
 * queued fail with QUORUM_ESHUTDOWN, appended ones with QUORUM_EUNKNOWN; all
 * completions are posted before this returns. Not from the raft thread (so
 * not from an FSM callback, nor a sink-less proposal callback). Idempotent. */
void quorum_stop(struct quorum *q);

/* Stops if needed and frees. NULL is fine. */
void quorum_free(struct quorum *q);

/* Proposes an entry. Any thread. `buf` is borrowed (copied before return).
 * `sink` NULL runs `cb` on the raft thread (tests, or callers that forward
 * themselves); otherwise `cb` runs on the thread draining `sink`.
 * Returns 0 when the proposal was queued: `cb` then runs exactly once. Returns
 * QUORUM_ESHUTDOWN (not started or stopping) or QUORUM_ENOMEM without calling
 * `cb`. NOT_LEADER is never a return value: it comes through `cb`. */
int quorum_propose(struct quorum *q, const void *buf, size_t len, struct quorum_sink *sink,
		   quorum_propose_cb cb, void *arg);

/* Asks the leader to add `node_id` at `address` as a standby (raft_add, then
 * raft_assign STANDBY): it will replicate the whole log without voting. The
 * outcome comes through `cb` like a proposal's (index 0 on success). Same
 * threading and ownership rules as quorum_propose. */
int quorum_add_standby(struct quorum *q, int32_t node_id, const char *address, struct quorum_sink *sink,
		       quorum_propose_cb cb, void *arg);

/* Appends a barrier (raft_barrier) on the leader: `cb` gets status 0 and
 * the barrier's index once every entry before it - those of earlier terms
 * included - has been applied to this member's FSM. A new leader calls it
 * before acting on its state machine (a new controller's view must hold
 * everything committed before its term). Errors as for a proposal
 * (QUORUM_ENOTLEADER on a follower). Same threading rules as quorum_propose. */
int quorum_barrier(struct quorum *q, struct quorum_sink *sink, quorum_propose_cb cb, void *arg);

/* Copies the last published state. Any thread; never blocks on raft. The
 * state is published once per loop iteration, after its callbacks: it can lag
 * an FSM callback of the same iteration by microseconds. */
void quorum_status(struct quorum *q, struct quorum_status *out);

/* "not the leader", ...; "unknown error" for other values. */
const char *quorum_strerror(int err);

#endif
