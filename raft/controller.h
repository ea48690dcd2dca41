/* controller: the active controller's decisions, free of I/O.
 *
 * The active controller is the Raft leader. This module holds its logic and
 * nothing else: it never calls raft, reads no clock and touches no socket.
 * Each input (a broker's registration or heartbeat, an admin request, an
 * AlterPartition, the passing of time) comes with an explicit `now_ms`; each
 * returns the reply to send and, when the metadata must change, a proposal:
 * the records to append to the Raft log as ONE entry (record_batch.h), so
 * every member applies all of them or none.
 *
 * State. The controller decides from its view: the committed image it was
 * activated with, plus every record it has proposed since (a proposal's
 * records are applied to the view when the proposal is made, with the same
 * image_apply() the FSM runs, so the view is what the image will be once the
 * pending proposals commit). A second CreateTopics of a name still pending
 * thus gets TOPIC_ALREADY_EXISTS. Broker sessions (when each broker was last
 * heard from) live only in this memory, as in KRaft: they are not replicated.
 *
 * Lifecycle, driven by the caller on the thread that owns the controller:
 *  1. raft leadership gained: append a barrier (raft_barrier) and wait until
 *     it is applied, so the image holds every entry of earlier terms, then
 *     controller_activate(image). Every registered broker gets a fresh
 *     session starting now: nobody is fenced for the silence of the election.
 *  2. for each input: call the handler; if it returns a proposal, encode it
 *     (controller_proposal_encode_into) and append it (raft_apply); send the
 *     reply only once the proposal committed, else answer NOT_CONTROLLER.
 *     A handler's reply is final at once when there is no proposal.
 *  3. every proposal gets exactly one controller_proposal_done(): status 0
 *     with the entry's index when committed, non-zero when the append failed
 *     or its outcome is unknown (leadership lost). A failure resigns the
 *     controller: the view may hold records that will never commit, so it is
 *     dropped and every handler answers NOT_CONTROLLER until the caller
 *     activates it again (step 1, after a new barrier).
 *  4. leadership lost: controller_deactivate(). Outstanding proposals still
 *     get their done() (which then only frees them).
 *  5. controller_tick(now) at controller_next_deadline_ms() at the latest:
 *     fences brokers whose session expired, and every
 *     leader_balance_interval_ms moves leaderships back to preferred
 *     replicas (below).
 *
 * Broker lifecycle (choices):
 *  - Broker epochs are a counter: 1 + the highest of every epoch in the view
 *    and the last committed index, so a broker's epochs only grow and a new
 *    registration's epoch also passes every index seen so far (like KRaft's,
 *    which is the registration's offset).
 *  - A broker registers fenced, and is unfenced by the first heartbeat that
 *    does not ask to stay fenced and reports a current metadata offset at or
 *    past its registration's index (KRaft's "caught up"): it then knows its
 *    own partitions. For a broker registered under an earlier controller the
 *    registration index is taken as the image's index at activation.
 *  - A re-registration (a restarted broker) fences the old incarnation: new
 *    epoch, fenced, its leaderships moved, in the same proposal.
 *  - Controlled shutdown (KIP-631): the first heartbeat with want_shut_down
 *    fences the broker and moves its leaderships in one proposal; later
 *    heartbeats answer should_shut_down once that proposal committed and
 *    every active (unfenced) broker reported a metadata offset at or past
 *    it, so the new leaders serve before the broker stops (KRaft's
 *    lowestActiveOffset >= controlledShutdownOffset), and so did the broker
 *    itself (it then sends clients on with NOT_LEADER_OR_FOLLOWER rather
 *    than vanishing under the requests it still holds). One that led nothing
 *    is told at once (its reply waits for the commit); one already fenced
 *    when it asks, too. KRaft keeps the broker unfenced "in controlled
 *    shutdown" meanwhile, a state every election, placement and ISR check
 *    treats as fenced: fencing at once decides the same without another
 *    replicated state.
 *  - Fencing (silence, want_fence, shutdown) and the leader elections it
 *    causes are one proposal; see election.h for the rules. Unfencing also
 *    elects leaders for offline partitions the broker can now lead.
 *    unclean.leader.election.enable is read from the topic's config, else
 *    from the cluster-wide broker default (resource BROKER, name "").
 *  - Preferred leaders (auto.leader.rebalance.enable, as KRaft's
 *    maybeBalancePartitionLeaders): a partition whose first replica is live,
 *    in the ISR and not its leader gets it back as leader, at most
 *    CONTROLLER_MAX_BALANCE per tick; checked every leader_balance_interval_ms
 *    from activation on. KRaft ignores leader.imbalance.per.broker.percentage,
 *    and so does this.
 *
 * Threads: none of its own and no locks; every call on one controller comes
 * from one thread (the quorum's raft thread, which also runs the FSM). The FSM
 * must record each image's position (image_set_position()): the index at
 * activation is the registration index of brokers registered before it.
 *
 * Errors: handlers return 0 (the reply then carries any Kafka error) or
 * -ENOMEM (nothing was proposed and the view is unchanged: answer
 * UNKNOWN_SERVER_ERROR).
 */
#ifndef TERN_RAFT_CONTROLLER_H
#define TERN_RAFT_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/image.h"
#include "raft/records.h"

/* Bytes of a reply's error message, NUL included. */
#define CONTROLLER_ERRMSG 256
/* Most partitions one topic may have (a bound on one request's work). */
#define CONTROLLER_MAX_PARTITIONS 100000
#define CONTROLLER_TOPIC_NAME_MAX 249
/* Preferred-leader elections in one proposal (KRaft's
 * maxElectionsPerImbalance). */
#define CONTROLLER_MAX_BALANCE 1000

struct controller_config {
	int64_t session_timeout_ms;           /* broker.session.timeout.ms, > 0 */
	int32_t default_partitions;           /* num.partitions, for a request's -1 */
	int16_t default_replication_factor;   /* default.replication.factor, for -1 */
	uint64_t seed;                        /* topic id generator: random in the
	                                       * broker, fixed in tests */
	/* Checks a topic config (name, value), e.g. topic_config_validate();
	 * returns 0, or non-zero with a message in err. NULL accepts anything. */
	int (*config_validate_cb)(const char *name, const char *value, char *err, size_t errlen);
	/* auto.leader.rebalance.enable with leader.imbalance.check.interval.seconds
	 * (in ms): how often leaderships go back to preferred replicas; 0 never. */
	int64_t leader_balance_interval_ms;
};

struct controller;
/* A set of records to append as one Raft entry. Owned by the controller; the
 * caller's pointer is valid until it passes it to controller_proposal_done(). */
struct controller_proposal;

/* A new, inactive controller (owned: controller_free), or NULL when out of
 * memory or cfg is invalid (session timeout <= 0). */
struct controller *controller_new(const struct controller_config *cfg);
/* Frees the controller and every outstanding proposal (their pointers die
 * with it: call no done() afterwards). NULL is fine. */
void controller_free(struct controller *ctl);

/* ---- leadership ---------------------------------------------------------- */

/* Becomes the active controller on `committed` (borrowed; a reference is
 * taken): see the lifecycle above. Deactivates first if active. Returns 0 or
 * -ENOMEM (then inactive). */
int controller_activate(struct controller *ctl, const struct metadata_image *committed, int64_t now_ms);
/* Ends the session of broker `id` by `deadline_ms` at the latest (no-op
 * when it already ends sooner, or `id` has none). For the broker of the
 * controller just replaced: in combined mode it shares its process with
 * the Raft member that lost leadership, most often because that process
 * died; a live one heartbeats the new controller within milliseconds of
 * learning the new leader, so a full fresh session only delays the
 * failover of its partitions. Every other broker keeps its fresh session. */
void controller_shorten_session(struct controller *ctl, int32_t id, int64_t deadline_ms);

/* Drops the view and sessions; outstanding proposals are only freed by their
 * done() from now on. Idempotent. */
void controller_deactivate(struct controller *ctl);
bool controller_active(const struct controller *ctl);
/* The view (committed + pending); NULL when inactive. A view valid until the
 * next call on the controller (image_ref() it to keep it). */
const struct metadata_image *controller_view(const struct controller *ctl);

/* ---- proposals ------------------------------------------------------------- */

/* The records of `p`, in order (views valid while p is). */
const struct metadata_record *controller_proposal_records(const struct controller_proposal *p, size_t *n);
/* Bytes of the entry and the entry itself (record_batch.h): `buf` is the
 * caller's (raft_malloc for raft_apply) of exactly that many bytes. Return 0,
 * or -EMSGSIZE when a record passes the record bound. */
int controller_proposal_encoded_size(const struct controller_proposal *p, size_t *len);
int controller_proposal_encode_into(const struct controller_proposal *p, uint8_t *buf, size_t len);
/* The outcome of `p` (then freed): status 0 = committed at `index`; any
 * other status resigns the controller if `p` belongs to its current
 * activation (see the lifecycle). */
void controller_proposal_done(struct controller *ctl, struct controller_proposal *p, int status, uint64_t index);

/* ---- brokers --------------------------------------------------------------- */

struct controller_registration {
	int32_t broker_id;
	uint8_t incarnation_id[16];
	const struct metadata_endpoint *endpoints; /* [n_endpoints], borrowed */
	size_t n_endpoints;
	const char *rack; /* NULL: none */
};

struct controller_registration_reply {
	int16_t error_code;
	int64_t broker_epoch; /* -1 on error */
};

/* BrokerRegistration. Errors: NOT_CONTROLLER, INVALID_REQUEST (negative id,
 * too many endpoints), DUPLICATE_BROKER_REGISTRATION (another incarnation
 * of that id is unfenced and its session is alive). *out is a proposal or
 * NULL; the caller's strings are copied. */
int controller_register_broker(struct controller *ctl, const struct controller_registration *req, int64_t now_ms,
			       struct controller_registration_reply *reply, struct controller_proposal **out);

struct controller_heartbeat {
	int32_t broker_id;
	int64_t broker_epoch;
	int64_t current_metadata_offset; /* the raft index the broker has applied */
	bool want_fence;
	bool want_shut_down;
};

struct controller_heartbeat_reply {
	int16_t error_code;
	bool is_caught_up;
	bool is_fenced;
	bool should_shut_down;
};

/* BrokerHeartbeat: refreshes the broker's session and the metadata offset
 * it reported; unfences, fences or shuts it down as asked (see above; while
 * it shuts down the reply keeps is_fenced, should_shut_down says when it may
 * stop). Errors: NOT_CONTROLLER,
 * BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH (the session is not
 * refreshed then). */
int controller_heartbeat(struct controller *ctl, const struct controller_heartbeat *req, int64_t now_ms,
			 struct controller_heartbeat_reply *reply, struct controller_proposal **out);

/* Fences every unfenced broker whose session expired by `now_ms` and moves
 * its leaderships (one proposal for all of them, or NULL). */
int controller_tick(struct controller *ctl, int64_t now_ms, struct controller_proposal **out);
/* When the next session expires (INT64_MAX when none can: inactive, or no
 * unfenced broker). */
int64_t controller_next_deadline_ms(const struct controller *ctl);

/* ---- topics ------------------------------------------------------------------ */

struct controller_topic_config {
	const char *name;
	const char *value; /* NULL is refused (INVALID_CONFIG), as Kafka does */
};

/* A manual replica assignment for one partition. */
struct controller_assignment {
	int32_t partition_index; /* CreateTopics: 0..n-1, each once; CreatePartitions: ignored (in order) */
	const int32_t *broker_ids; /* [n_broker_ids], preferred leader first */
	size_t n_broker_ids;
};

struct controller_new_topic {
	/* in (borrowed for the call) */
	const char *name;
	int32_t num_partitions;         /* -1: default (not with assignments) */
	int16_t replication_factor;     /* -1: default (not with assignments) */
	const struct controller_assignment *assignments;
	size_t n_assignments;
	const struct controller_topic_config *configs;
	size_t n_configs;
	/* out */
	int16_t error_code;
	char error_message[CONTROLLER_ERRMSG]; /* "" when none */
	uint8_t topic_id[16];
	int32_t num_partitions_out;
	int16_t replication_factor_out;
};

/* CreateTopics over topics[0..n) (results written into each). Errors per
 * topic: INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS (committed or
 * pending), INVALID_REQUEST (duplicate name in the request, assignments with
 * counts), INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR (with Kafka's
 * message when RF > unfenced brokers), INVALID_REPLICA_ASSIGNMENT,
 * INVALID_CONFIG, NOT_CONTROLLER. validate_only checks without proposing. */
int controller_create_topics(struct controller *ctl, struct controller_new_topic *topics, size_t n,
			     bool validate_only, int64_t now_ms, struct controller_proposal **out);

struct controller_delete_topic {
	/* in: by name, or by id when name is NULL */
	const char *name;
	uint8_t topic_id[16];
	/* out */
	int16_t error_code; /* UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID, NOT_CONTROLLER */
	uint8_t topic_id_out[16];
};

int controller_delete_topics(struct controller *ctl, struct controller_delete_topic *topics, size_t n,
			     int64_t now_ms, struct controller_proposal **out);

struct controller_new_partitions {
	/* in */
	const char *name;
	int32_t count; /* the new total */
	const struct controller_assignment *assignments; /* NULL, or count - current of them */
	size_t n_assignments;
	/* out */
	int16_t error_code;
	char error_message[CONTROLLER_ERRMSG];
};

/* CreatePartitions (grow only). Errors: UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT,
 * NOT_CONTROLLER. */
int controller_create_partitions(struct controller *ctl, struct controller_new_partitions *topics, size_t n,
				 bool validate_only, int64_t now_ms, struct controller_proposal **out);

/* IncrementalAlterConfigs operation types (Kafka's). */
enum controller_config_op_type {
	CONTROLLER_CONFIG_SET = 0,
	CONTROLLER_CONFIG_DELETE = 1,
	CONTROLLER_CONFIG_APPEND = 2,   /* to a comma-separated list */
	CONTROLLER_CONFIG_SUBTRACT = 3, /* from a comma-separated list */
};

struct controller_config_op {
	const char *name;
	int8_t op; /* enum controller_config_op_type */
	const char *value;
};

struct controller_alter_configs {
	/* in */
	int8_t resource_type; /* only METADATA_RESOURCE_TOPIC is handled */
	const char *resource_name;
	const struct controller_config_op *ops;
	size_t n_ops;
	/* out */
	int16_t error_code; /* UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG,
	                     * INVALID_REQUEST, NOT_CONTROLLER */
	char error_message[CONTROLLER_ERRMSG];
};

/* IncrementalAlterConfigs: each resource's ops apply all or none. */
int controller_alter_configs(struct controller *ctl, struct controller_alter_configs *resources, size_t n,
			     bool validate_only, int64_t now_ms, struct controller_proposal **out);

/* ---- AlterPartition ------------------------------------------------------------ */

struct controller_isr_change {
	/* in */
	uint8_t topic_id[16];
	int32_t partition_id;
	int32_t leader_epoch;
	int32_t partition_epoch;
	const int32_t *new_isr; /* [n_new_isr], borrowed */
	size_t n_new_isr;
	/* out: the partition's state after the change (after commit) */
	int16_t error_code; /* UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_OR_PARTITION,
	                     * NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH,
	                     * INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA,
	                     * INVALID_REQUEST */
	int32_t leader_id;
	int32_t leader_epoch_out;
	int32_t partition_epoch_out;
};

/* AlterPartition from the leader `broker_id` at `broker_epoch`. A stale epoch
 * or an unknown broker fails the whole request: *top_error =
 * STALE_BROKER_EPOCH, or NOT_CONTROLLER. */
int controller_alter_partition(struct controller *ctl, int32_t broker_id, int64_t broker_epoch,
			       struct controller_isr_change *changes, size_t n, int64_t now_ms, int16_t *top_error,
			       struct controller_proposal **out);

/* ---- AllocateProducerIds ---------------------------------------------------- */

/* Producer ids per block (Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE). */
#define CONTROLLER_PRODUCER_ID_BLOCK 1000

struct controller_producer_ids_reply {
	int16_t error_code;        /* NOT_CONTROLLER, STALE_BROKER_EPOCH,
	                            * UNKNOWN_SERVER_ERROR (ids exhausted) */
	int64_t producer_id_start; /* -1 on error */
	int32_t producer_id_len;   /* 0 on error */
};

/* AllocateProducerIds (KRaft's ProducerIdControlManager.generateNextProducerId)
 * from broker `broker_id` at `broker_epoch`: the block
 * [image_next_producer_id(view), + CONTROLLER_PRODUCER_ID_BLOCK), proposed as
 * one ProducerIds record that moves the next id past it. The view counts
 * pending proposals, so two requests before a commit get distinct blocks,
 * and a new controller carries on from the committed record. The reply is
 * valid once the proposal committed. An unknown broker or another epoch is
 * STALE_BROKER_EPOCH, as KRaft's checkBrokerEpoch; a fenced broker may
 * allocate (KRaft does not check). */
int controller_allocate_producer_ids(struct controller *ctl, int32_t broker_id, int64_t broker_epoch, int64_t now_ms,
				     struct controller_producer_ids_reply *reply, struct controller_proposal **out);

#endif
