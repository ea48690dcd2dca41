"""Consumer groups on the replicated __consumer_offsets topic.

A three-broker cluster: a group's coordinator is the leader of the group's
__consumer_offsets partition (Kafka's abs(groupId.hashCode) % partitions);
kill -9 that broker and the group moves to the partition's new leader, which
loads it from its replica of the log: the committed offsets are still there,
the consumer carries on and a new member resumes where the group left off.
The records are Kafka's (OffsetCommitKey/Value, GroupMetadataKey/Value),
checked here byte by byte. A lone broker keeps its groups across a restart.
"""

import struct
import time

import kwire
from helpers import create_topic
from test_controller import HEARTBEAT_MS, SESSION_TIMEOUT_MS, create, describe, live_brokers, same_everywhere
from test_quorum import agreed_leader, start_quorum, wait_for

FIND_COORDINATOR = 10
OFFSET_FETCH = 9
DESCRIBE_GROUPS = 15
OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_PARTITIONS = 3

ERR_COORDINATOR_LOAD_IN_PROGRESS = 14
ERR_COORDINATOR_NOT_AVAILABLE = 15
ERR_NOT_COORDINATOR = 16

GROUP_PROPS = {
    "offsets.topic.num.partitions": str(OFFSETS_PARTITIONS),
    "group.initial.rebalance.delay.ms": "0",
}


def java_partition_for(group_id, partitions):
    """Kafka's Utils.abs(groupId.hashCode) % partitions (ASCII ids)."""
    h = 0
    for ch in group_id:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    if h >= 1 << 31:
        h -= 1 << 32
    h = 0 if h == -(1 << 31) else abs(h)
    return h % partitions


def find_coordinator(broker, group):
    """(error, node_id) from FindCoordinator v2, or None when the broker does
    not answer."""
    try:
        with kwire.Conn(broker.bootstrap, timeout=10) as c:
            r = kwire.Reader(c.request(FIND_COORDINATOR, 2, kwire.string(group) + kwire.i8(0)))
    except (OSError, kwire.ConnectionClosed):
        return None
    r.i32()
    err, _msg, node = r.i16(), r.string(), r.i32()
    return err, node


def offset_fetch(broker, group, topic, partitions):
    """OffsetFetch v3 of one topic: (group error, {partition: (offset, error)})."""
    body = kwire.string(group) + kwire.array([kwire.string(topic) + kwire.array([kwire.i32(p) for p in partitions])])
    with kwire.Conn(broker.bootstrap, timeout=10) as c:
        r = kwire.Reader(c.request(OFFSET_FETCH, 3, body))
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p, off = r.i32(), r.i64()
            r.string()  # metadata
            out[p] = (off, r.i16())
    return r.i16(), out


def describe_group(broker, group):
    """DescribeGroups v0: (error, state, [member ids])."""
    with kwire.Conn(broker.bootstrap, timeout=10) as c:
        r = kwire.Reader(c.request(DESCRIBE_GROUPS, 0, kwire.array([kwire.string(group)])))
    r.i32()  # groups
    err, _gid, state, _ptype, _proto = r.i16(), r.string(), r.string(), r.string(), r.string()
    members = []
    for _ in range(r.i32()):
        members.append(r.string())
        r.string(), r.string()
        r.nbytes(), r.nbytes()
    return err, state, members


def start_group_cluster(broker_factory):
    brokers, ports = start_quorum(broker_factory, 3, extra=dict(GROUP_PROPS, **{
        "broker.heartbeat.interval.ms": str(HEARTBEAT_MS),
        "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
    }))
    wait_for("a Raft leader", lambda: agreed_leader(brokers), 15)
    wait_for("three unfenced brokers", lambda: all(len(live_brokers(b)) == 3 for b in brokers), 15)
    return brokers, ports


def consume(c, want, timeout=60):
    """Polls until `want` records arrived; returns [(partition, offset, value)]."""
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append((m.partition(), m.offset(), m.value()))
    return got


# --- Kafka's record formats, decoded independently of the broker -------------------

def parse_offsets_record(key, value):
    """Decodes a __consumer_offsets record as Kafka's GroupCoordinatorRecordSerde
    would; returns a dict, raising on any byte out of place."""
    kr = kwire.Reader(key)
    kv = kr.i16()
    out = {"key_version": kv, "group": kr.string()}
    if kv == 1:
        out["topic"], out["partition"] = kr.string(), kr.i32()
    assert kr.left() == 0, "trailing key bytes"
    if value is None:
        out["tombstone"] = True
        return out
    vr = kwire.Reader(value)
    out["value_version"] = vr.i16()
    if kv == 1:
        assert out["value_version"] == 3
        out["offset"], out["leader_epoch"] = vr.i64(), vr.i32()
        out["metadata"], out["commit_timestamp"] = vr.string(), vr.i64()
    else:
        assert kv == 2 and out["value_version"] == 3
        out["protocol_type"], out["generation"] = vr.string(), vr.i32()
        out["protocol"], out["leader"], out["current_state_timestamp"] = vr.string(), vr.string(), vr.i64()
        members = []
        for _ in range(vr.i32()):
            m = {"member_id": vr.string(), "group_instance_id": vr.string(), "client_id": vr.string(),
                 "client_host": vr.string(), "rebalance_timeout": vr.i32(), "session_timeout": vr.i32(),
                 "subscription": vr.nbytes(), "assignment": vr.nbytes()}
            members.append(m)
        out["members"] = members
    assert vr.left() == 0, "trailing value bytes"
    return out


def read_offsets_partition(broker, partition):
    """Every record of one __consumer_offsets partition up to its high
    watermark, fetched from its leader `broker` (Fetch v4, uncompressed)."""
    records = []
    offset = 0
    with kwire.Conn(broker.bootstrap, timeout=10) as c:
        while True:
            res = c.fetch(OFFSETS_TOPIC, partition, offset, max_wait_ms=0)
            assert res["error_code"] == 0, res
            batches = kwire.decode_batches(res["records"])
            if not batches:
                return records
            for b in batches:
                assert b["crc_ok"] and b["magic"] == 2
                for off, k, v, _h in b["records"]:
                    records.append((off, parse_offsets_record(k, v)))
                offset = b["base_offset"] + b["last_offset_delta"] + 1


# --- tests ------------------------------------------------------------------------

def test_group_moves_to_the_new_leader_with_its_offsets(broker_factory):
    from confluent_kafka import Consumer, Producer, TopicPartition

    brokers, _ = start_group_cluster(broker_factory)
    by_id = {int(b.props["node.id"]): b for b in brokers}
    bootstrap = ",".join(b.bootstrap for b in brokers)
    create(brokers[0], "orders", 3, 3)
    wait_for("orders everywhere", lambda: same_everywhere(brokers, "orders", 3), 15)

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(300):
        p.produce("orders", value=b"v%03d" % i, partition=i % 3)
    assert p.flush(30) == 0

    group = "g-failover"
    gp = java_partition_for(group, OFFSETS_PARTITIONS)
    # The first FindCoordinator creates __consumer_offsets and answers once
    # it exists, from any broker alike.
    coords = {find_coordinator(b, group) for b in brokers}
    assert len(coords) == 1, coords
    err, coordinator = coords.pop()
    assert err == 0
    view = wait_for("__consumer_offsets everywhere",
                    lambda: same_everywhere(brokers, OFFSETS_TOPIC, OFFSETS_PARTITIONS), 15)
    assert coordinator == view[gp][0], "the coordinator is the leader of partition %d: %r" % (gp, view)
    assert sorted(view[gp][1]) == [0, 1, 2]  # offsets.topic.replication.factor=3
    with kwire.Conn(brokers[0].bootstrap) as md:
        topics = md.metadata([OFFSETS_TOPIC])["topics"]
    assert topics[0]["error_code"] == 0 and topics[0]["is_internal"]

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    c.subscribe(["orders"])
    first = consume(c, 150)
    assert len(first) >= 150
    c.commit(asynchronous=False)
    positions = {}
    for part, off, _ in first:
        positions[part] = max(positions.get(part, 0), off + 1)
    committed = c.committed([TopicPartition("orders", i) for i in range(3)], 10)
    before = {tp.partition: tp.offset for tp in committed if tp.offset >= 0}
    assert before == positions

    # Kafka's records, replicated: the group's partition holds the rebalance
    # (GroupMetadata v3 with the member and its assignment) and the commit.
    recs = [r for _, r in read_offsets_partition(by_id[coordinator], gp)]
    groups = [r for r in recs if r["key_version"] == 2 and r["group"] == group]
    commits = {(r["topic"], r["partition"]): r["offset"] for r in recs
               if r["key_version"] == 1 and r["group"] == group}
    assert groups and groups[-1]["protocol_type"] == "consumer" and len(groups[-1]["members"]) == 1
    member = groups[-1]["members"][0]
    assert member["assignment"] and member["subscription"] and member["client_host"].startswith("/")
    assert commits == {("orders", part): o for part, o in before.items()}

    # kill -9 the coordinator: the partition's new leader loads the group.
    victim = by_id[coordinator]
    victim.kill9()
    survivors = [b for b in brokers if b is not victim]
    t0 = time.time()

    def moved():
        answers = [find_coordinator(b, group) for b in survivors]
        if any(a is None or a[0] != 0 or a[1] == coordinator for a in answers):
            return None
        return answers[0][1] if len({a[1] for a in answers}) == 1 else None

    new_coordinator = wait_for("a new coordinator", moved, 30)
    view = wait_for("the new leader everywhere", lambda: same_everywhere(survivors, OFFSETS_TOPIC,
                                                                          OFFSETS_PARTITIONS), 15)
    assert view[gp][0] == new_coordinator

    def fetched():
        err, got = offset_fetch(by_id[new_coordinator], group, "orders", [0, 1, 2])
        if err in (ERR_COORDINATOR_LOAD_IN_PROGRESS, ERR_NOT_COORDINATOR):
            return None
        return err, got

    err, got = wait_for("the committed offsets on the new coordinator", fetched, 30)
    print("group moved to node %d after %.2f s" % (new_coordinator, time.time() - t0))
    assert err == 0
    assert {part: o for part, (o, _e) in got.items() if o >= 0} == before
    # The group itself came back from its record, member and generation.
    err, state, members = describe_group(by_id[new_coordinator], group)
    assert err == 0 and members, (err, state, members)

    # The member carries on through the failover, commits on the new
    # coordinator, and leaves.
    rest = consume(c, 300 - len(first), timeout=90)
    seen = {(p_, o) for p_, o, _ in first + rest}
    assert len(seen) == 300, "consumed %d distinct records" % len(seen)
    c.commit(asynchronous=False)
    after = {tp.partition: tp.offset for tp in c.committed([TopicPartition("orders", i) for i in range(3)], 10)}
    assert after == {0: 100, 1: 100, 2: 100}
    c.close()

    # A new member of the group resumes at the committed offsets: it gets
    # exactly what is produced from now on.
    p = Producer({"bootstrap.servers": ",".join(b.bootstrap for b in survivors), "acks": "all"})
    for i in range(30):
        p.produce("orders", value=b"late%02d" % i, partition=i % 3)
    assert p.flush(30) == 0
    c2 = Consumer({"bootstrap.servers": ",".join(b.bootstrap for b in survivors), "group.id": group,
                   "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c2.subscribe(["orders"])
    late = consume(c2, 30, timeout=60)
    extra = consume(c2, 1, timeout=3)
    c2.close()
    assert sorted(v for _, _, v in late) == sorted(b"late%02d" % i for i in range(30))
    assert extra == []


def test_offsets_topic_waits_for_enough_brokers(broker_factory):
    """offsets.topic.replication.factor above the live brokers: Kafka does
    not create the topic and FindCoordinator answers COORDINATOR_NOT_AVAILABLE."""
    brokers, _ = start_quorum(broker_factory, 3, extra=dict(GROUP_PROPS, **{
        "broker.heartbeat.interval.ms": str(HEARTBEAT_MS),
        "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
        "offsets.topic.replication.factor": "4",
    }))
    wait_for("three unfenced brokers", lambda: all(len(live_brokers(b)) == 3 for b in brokers), 15)
    assert find_coordinator(brokers[0], "g-too-few") == (ERR_COORDINATOR_NOT_AVAILABLE, -1)
    assert describe(brokers[1], OFFSETS_TOPIC) is None
    assert "offsets.topic.replication.factor=4 but only 3 broker(s) are live" in brokers[0].log_text()


def test_lone_broker_keeps_groups_across_a_restart(broker_factory):
    from confluent_kafka import Consumer, Producer, TopicPartition

    b = broker_factory(props=GROUP_PROPS)
    create_topic(b.bootstrap, "solo", 2)
    p = Producer({"bootstrap.servers": b.bootstrap})
    for i in range(40):
        p.produce("solo", value=b"%d" % i, partition=i % 2)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "g-solo", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe(["solo"])
    assert len(consume(c, 40)) == 40
    c.commit(asynchronous=False)
    c.close()
    # The one broker is the whole cluster: a local __consumer_offsets.
    assert (b.data_dir / ("%s-0" % OFFSETS_TOPIC)).is_dir()

    b.restart()
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "g-solo", "enable.auto.commit": False})
    committed = c.committed([TopicPartition("solo", 0), TopicPartition("solo", 1)], 20)
    c.close()
    assert [tp.offset for tp in committed] == [20, 20]
    # The group record came back too: Empty after its member left, generation 2.
    err, state, members = describe_group(b, "g-solo")
    assert (err, state, members) == (0, "Empty", [])


def test_clients_cannot_write_the_offsets_topic(broker_factory):
    """__consumer_offsets is internal: a client's produce to it gets
    INVALID_TOPIC_EXCEPTION and appends nothing (Kafka's ReplicaManager)."""
    from confluent_kafka import Consumer

    b = broker_factory(props=GROUP_PROPS)
    create_topic(b.bootstrap, "any", 1)
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "g-internal", "enable.auto.commit": False})
    c.subscribe(["any"])
    c.poll(2)  # joins: the offsets topic exists now
    c.close()
    with kwire.Conn(b.bootstrap) as k:
        end = k.list_offsets(OFFSETS_TOPIC, 0, kwire.LATEST)
        r = k.produce(OFFSETS_TOPIC, 0, kwire.record_batch([(b"k", b"v", [])]))
        assert r["error_code"] == 17, r  # INVALID_TOPIC_EXCEPTION
        assert k.list_offsets(OFFSETS_TOPIC, 0, kwire.LATEST) == end
