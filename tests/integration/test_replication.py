"""Replicated partitions on three brokers: followers fetch the leader's
batches, acks=all answers once every in-sync replica has the batch, the
replicas' logs are byte-identical, a killed leader's acknowledged records are
all on the new leader, and min.insync.replicas refuses acks=all when too few
replicas are in sync."""

import time

import kwire
from test_controller import create, same_everywhere, start_cluster, tern_topics
from test_quorum import wait_for


def segment_bytes(broker, topic, partition=0):
    d = broker.data_dir / ("%s-%d" % (topic, partition))
    return b"".join(f.read_bytes() for f in sorted(d.glob("*.log")))


def produce_numbered(bootstrap, topic, n, acks="all", start=0):
    """Produces n numbered records; returns the values acknowledged."""
    from confluent_kafka import Producer

    acked, failed = [], []

    def on_delivery(err, msg):
        (failed if err else acked).append(msg.value() if not err else err)

    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 2,
                  "message.timeout.ms": 20000})
    for i in range(start, start + n):
        p.produce(topic, value=b"%08d" % i, on_delivery=on_delivery)
        p.poll(0)
    p.flush(30)
    return acked, failed


def consume_all(bootstrap, topic, expect, timeout=30):
    """Reads partition 0 from its start without a group: with a broker down,
    __consumer_offsets (replication factor 3) cannot be created, and group
    coordination is not what these tests are about."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = []
    deadline = time.time() + timeout
    while len(got) < expect and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append(m.value())
    c.close()
    return got


def test_acks_all_replicates_and_survives_the_leaders_kill(broker_factory):
    brokers, _ = start_cluster(broker_factory)
    bootstrap = ",".join(b.bootstrap for b in brokers)
    create(brokers[0], "replicated", 1, 3)
    view = wait_for("replicated everywhere", lambda: same_everywhere(brokers, "replicated", 1), 10)
    leader = view[0][0]

    acked, failed = produce_numbered(bootstrap, "replicated", 500)
    assert not failed, failed[:3]
    assert len(acked) == 500

    # Every replica holds the same bytes (followers copy batches as they are).
    wait_for("identical logs", lambda: len({segment_bytes(b, "replicated") for b in brokers}) == 1, 15)
    assert len(segment_bytes(brokers[leader], "replicated")) > 500 * 8

    # The leader dies: a follower takes over with every acknowledged record.
    brokers[leader].kill9()
    survivors = [b for b in brokers if b is not brokers[leader]]
    wait_for("a new leader", lambda: (lambda v: v if v and v[0][0] not in (-1, leader) else None)(
        same_everywhere(survivors, "replicated", 1)), 15)
    rest = ",".join(b.bootstrap for b in survivors)
    more, failed = produce_numbered(rest, "replicated", 100, start=500)
    assert not failed, failed[:3]
    got = consume_all(rest, "replicated", 600)
    assert got == [b"%08d" % i for i in range(600)]


def test_min_insync_replicas_refuses_acks_all_when_the_isr_is_too_small(broker_factory):
    """Two of three: the ISR shrinks when the controller fences the dead
    broker (the quorum of three still has a majority). With
    min.insync.replicas=3, acks=all is refused and appends nothing; acks=1
    still works."""
    brokers, _ = start_cluster(broker_factory)
    proc = tern_topics(brokers[0], "--create", "--topic", "strict", "--partitions", "1", "--replication-factor", "3",
                       "--config", "min.insync.replicas=3", check=False)
    assert proc.returncode == 0, proc.stderr
    view = wait_for("strict everywhere", lambda: same_everywhere(brokers, "strict", 1), 10)
    keep = brokers[view[0][0]]
    victim = next(b for b in brokers if b is not keep)
    victim.kill9()
    others = [b for b in brokers if b is not victim]

    def shrunk():
        v = same_everywhere(others, "strict", 1)
        return v if v and len(v[0][2]) == 2 else None

    wait_for("an ISR of two", shrunk, 15)
    batch = kwire.record_batch([(b"k", b"v", [])])
    with kwire.Conn(keep.bootstrap) as c:
        before = c.list_offsets("strict", 0, -1)["offset"]
        r = c.produce("strict", 0, batch, acks=-1)
        assert r["error_code"] == 19, r  # NOT_ENOUGH_REPLICAS
        assert c.list_offsets("strict", 0, -1)["offset"] == before  # nothing appended
        r = c.produce("strict", 0, batch, acks=1)
        assert r["error_code"] == 0, r


def test_stopped_follower_leaves_the_isr_and_comes_back(broker_factory):
    """SIGSTOP a follower: its heartbeats stop too, so the session timeout is
    set far above replica.lag.time.max.ms - the leader's AlterPartition, not
    fencing, takes it out of the ISR. SIGCONT: it catches up and is back."""
    import os
    import signal

    from test_quorum import start_quorum

    brokers, _ = start_quorum(broker_factory, 3, extra={
        "broker.heartbeat.interval.ms": "150",
        "broker.session.timeout.ms": "20000",
        "replica.lag.time.max.ms": "1000",
    })
    wait_for("three live brokers", lambda: all(len(live(b)) == 3 for b in brokers), 15)
    create(brokers[0], "laggy", 1, 3)
    view = wait_for("laggy everywhere", lambda: same_everywhere(brokers, "laggy", 1), 10)
    leader = view[0][0]
    follower = next(b for b in brokers if int(b.props["node.id"]) != leader)
    fid = int(follower.props["node.id"])
    others = [b for b in brokers if b is not follower]
    os.kill(follower.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        wait_for("the stopped follower out of the ISR",
                 lambda: (lambda v: v if v and fid not in v[0][2] else None)(same_everywhere(others, "laggy", 1)),
                 10)
        print("left the ISR after %.2f s" % (time.time() - t0))
        # Writes go on without it (acks=all needs the ISR only).
        acked, failed = produce_numbered(",".join(b.bootstrap for b in others), "laggy", 50)
        assert not failed and len(acked) == 50
    finally:
        os.kill(follower.proc.pid, signal.SIGCONT)
    wait_for("the follower back in the ISR",
             lambda: (lambda v: v if v and fid in v[0][2] else None)(same_everywhere(brokers, "laggy", 1)), 15)
    wait_for("identical logs", lambda: len({segment_bytes(b, "laggy") for b in brokers}) == 1, 15)


def live(broker):
    try:
        with kwire.Conn(broker.bootstrap, timeout=5) as c:
            return sorted(b["node_id"] for b in c.metadata([])["brokers"])
    except (OSError, kwire.ConnectionClosed):
        return []


def hw_checkpoint(broker):
    """{(topic, partition): offset} from the broker's replication-offset-checkpoint."""
    path = broker.data_dir / "replication-offset-checkpoint"
    if not path.exists():
        return {}
    lines = path.read_text().split("\n")
    assert lines[0] == "0" and lines[-1] == "", lines
    n = int(lines[1])
    assert len(lines) == n + 3, lines
    out = {}
    for line in lines[2:-1]:
        topic, part, off = line.split(" ")
        out[(topic, int(part))] = int(off)
    return out


def test_every_replica_checkpoints_the_high_watermark(broker_factory):
    """The leader and its followers (which learn the high watermark from
    their fetches) save it in replication-offset-checkpoint, periodically
    and when they stop; a restarted broker reads it back and writes it
    again unchanged."""
    from test_quorum import restart_same_ports, start_quorum

    brokers, ports = start_quorum(broker_factory, 3, extra={
        "broker.heartbeat.interval.ms": "150",
        "broker.session.timeout.ms": "1000",
        "replica.high.watermark.checkpoint.interval.ms": "200",
    })
    wait_for("three live brokers", lambda: all(len(live(b)) == 3 for b in brokers), 15)
    create(brokers[0], "marked", 2, 3)
    wait_for("marked everywhere", lambda: same_everywhere(brokers, "marked", 2), 10)
    bootstrap = ",".join(b.bootstrap for b in brokers)
    acked, failed = produce_numbered(bootstrap, "marked", 120)
    assert not failed and len(acked) == 120
    ends = {}
    with kwire.Conn(brokers[0].bootstrap) as c:
        md = c.metadata(["marked"])
    for p in md["topics"][0]["partitions"]:
        leader = next(b for b in brokers if int(b.props["node.id"]) == p["leader_id"])
        with kwire.Conn(leader.bootstrap) as c:
            ends[("marked", p["partition_index"])] = c.list_offsets("marked", p["partition_index"], -1)["offset"]
    assert sum(ends.values()) == 120, ends

    def checkpointed():
        return all({k: v for k, v in hw_checkpoint(b).items() if k[0] == "marked"} == ends for b in brokers)

    wait_for("the high watermarks checkpointed on every replica", checkpointed, 10)

    # A clean stop writes it too; the restarted broker loads and keeps it.
    node = brokers[1]
    node.stop()
    assert {k: v for k, v in hw_checkpoint(node).items() if k[0] == "marked"} == ends
    restart_same_ports(node, ports[1])
    wait_for("three live brokers again", lambda: all(len(live(b)) == 3 for b in brokers), 15)
    time.sleep(0.6)  # three checkpoint intervals
    assert {k: v for k, v in hw_checkpoint(node).items() if k[0] == "marked"} == ends


def test_preferred_replica_takes_its_leadership_back(broker_factory):
    """auto.leader.rebalance.enable: the first replica, killed and restarted,
    leads again once it is back in the ISR (checked every
    leader.imbalance.check.interval.seconds); nothing acknowledged is lost."""
    from test_quorum import restart_same_ports, start_quorum

    brokers, ports = start_quorum(broker_factory, 3, extra={
        "broker.heartbeat.interval.ms": "150",
        "broker.session.timeout.ms": "1000",
        "leader.imbalance.check.interval.seconds": "1",
    })
    wait_for("three live brokers", lambda: all(len(live(b)) == 3 for b in brokers), 15)
    create(brokers[0], "homing", 1, 3)
    view = wait_for("homing everywhere", lambda: same_everywhere(brokers, "homing", 1), 10)
    leader, replicas = view[0][0], view[0][1]
    assert leader == replicas[0], view
    bootstrap = ",".join(b.bootstrap for b in brokers)
    acked, failed = produce_numbered(bootstrap, "homing", 100)
    assert not failed and len(acked) == 100

    home = next(b for b in brokers if int(b.props["node.id"]) == leader)
    home.kill9()
    others = [b for b in brokers if b is not home]
    wait_for("another leader", lambda: (lambda v: v if v and v[0][0] not in (-1, leader) else None)(
        same_everywhere(others, "homing", 1)), 15)
    acked, failed = produce_numbered(",".join(b.bootstrap for b in others), "homing", 100, start=100)
    assert not failed and len(acked) == 100

    restart_same_ports(home, ports[brokers.index(home)])
    wait_for("the first replica leading again, all in sync",
             lambda: (lambda v: v if v and v[0][0] == leader and len(v[0][2]) == 3 else None)(
                 same_everywhere(brokers, "homing", 1)), 20)
    got = consume_all(bootstrap, "homing", 200)
    assert got == [b"%08d" % i for i in range(200)]


def test_one_replica_left_refuses_acks_all_but_takes_acks_1(broker_factory):
    """A topic's three replicas on a cluster of five (so the metadata quorum
    keeps its majority when two of the replicas die): with only the leader
    left in the ISR and min.insync.replicas=2, acks=all gets
    NOT_ENOUGH_REPLICAS and appends nothing; acks=1 still works."""
    from test_quorum import start_quorum

    brokers, _ = start_quorum(broker_factory, 5, extra={
        "broker.heartbeat.interval.ms": "150",
        "broker.session.timeout.ms": "1000",
    })
    wait_for("five live brokers", lambda: all(len(live(b)) == 5 for b in brokers), 20)
    proc = tern_topics(brokers[0], "--create", "--topic", "lonely", "--partitions", "1", "--replication-factor", "3",
                       "--config", "min.insync.replicas=2", check=False)
    assert proc.returncode == 0, proc.stderr
    view = wait_for("lonely everywhere", lambda: same_everywhere(brokers, "lonely", 1), 10)
    leader, replicas = view[0][0], view[0][1]
    acked, failed = produce_numbered(",".join(b.bootstrap for b in brokers), "lonely", 20)
    assert not failed and len(acked) == 20

    by_id = {int(b.props["node.id"]): b for b in brokers}
    for r in replicas:
        if r != leader:
            by_id[r].kill9()
    alive = [b for i, b in by_id.items() if i == leader or i not in replicas]

    def alone():
        v = same_everywhere(alive, "lonely", 1)
        return v if v and v[0][2] == [leader] else None

    wait_for("an ISR of the leader alone", alone, 15)
    batch = kwire.record_batch([(b"k", b"v", [])])
    with kwire.Conn(by_id[leader].bootstrap) as c:
        before = c.list_offsets("lonely", 0, -1)["offset"]
        assert before == 20
        r = c.produce("lonely", 0, batch, acks=-1)
        assert r["error_code"] == 19, r  # NOT_ENOUGH_REPLICAS
        assert c.list_offsets("lonely", 0, -1)["offset"] == before  # nothing appended
        r = c.produce("lonely", 0, batch, acks=1)
        assert r["error_code"] == 0 and r["base_offset"] == before, r
