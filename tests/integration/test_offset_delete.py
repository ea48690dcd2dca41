"""OffsetDelete (API 47, KIP-496): a group's committed offsets removed
partition by partition, as kafka-consumer-groups.sh --delete-offsets does.

Requests are raw (kwire): the installed confluent-kafka and kafka-python
have no AdminClient call for it. Kafka's rules, checked on the wire:
partitions of topics a live member of a consumer group subscribes to answer
GROUP_SUBSCRIBED_TO_TOPIC and keep their offsets; other partitions answer
NONE and lose theirs (a tombstone each in __consumer_offsets); partitions the
cluster does not have answer UNKNOWN_TOPIC_OR_PARTITION; a group-level error
(GROUP_ID_NOT_FOUND, INVALID_GROUP_ID) comes alone, without partitions. A
restart reloads the groups from the log: the deleted offsets stay deleted,
and a group whose last offset went stays gone. On a three-broker cluster the
answer comes once the tombstones are replicated: the coordinator's
successor, after a kill -9, has them too.
"""

import kwire
from helpers import create_topic
from test_controller import create, same_everywhere
from test_group_failover import (
    GROUP_PROPS,
    OFFSETS_PARTITIONS,
    OFFSETS_TOPIC,
    consume,
    describe_group,
    find_coordinator,
    java_partition_for,
    offset_fetch,
    read_offsets_partition,
    start_group_cluster,
)
from test_quorum import wait_for

OFFSET_DELETE = 47

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
COORDINATOR_LOAD_IN_PROGRESS = 14
NOT_COORDINATOR = 16
INVALID_GROUP_ID = 24
GROUP_ID_NOT_FOUND = 69
GROUP_SUBSCRIBED_TO_TOPIC = 86


def offset_delete(broker, group, topics):
    """OffsetDelete v0 of [(topic, [partitions])]: (error, {(topic, partition): error}).
    Layout from OffsetDeleteRequest.json / OffsetDeleteResponse.json."""
    body = kwire.string(group) + kwire.array(
        [kwire.string(t) + kwire.array([kwire.i32(p) for p in parts]) for t, parts in topics])
    with kwire.Conn(broker.bootstrap, timeout=15) as c:
        r = kwire.Reader(c.request(OFFSET_DELETE, 0, body))
    err = r.i16()
    r.i32()  # throttle_time_ms
    out = {}
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            part = r.i32()
            out[(name, part)] = r.i16()
    assert r.left() == 0, "trailing bytes in the OffsetDelete response"
    return err, out


def committed(broker, group, topic, partitions):
    """{partition: committed offset (-1: none)} once the coordinator answers
    (it may still be loading the group after a restart or a failover)."""
    def fetch():
        err, got = offset_fetch(broker, group, topic, partitions)
        if err in (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR):
            return None
        assert err == 0, err
        assert all(e == 0 for _o, e in got.values()), got
        return {p: o for p, (o, _e) in got.items()}

    return wait_for("the committed offsets of %s" % group, fetch, 30)


def commit_assigned(bootstrap, group, offsets):
    """Commits {(topic, partition): offset} from outside group management
    (assign, no subscription): an Empty group with offsets only."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        c.assign(tps)
        c.commit(offsets=tps, asynchronous=False)
    finally:
        c.close()


def tombstones(broker, group):
    """{(topic, partition)} of the group's offset tombstones in its
    __consumer_offsets partition, read back from `broker` (its leader)."""
    recs = read_offsets_partition(broker, java_partition_for(group, OFFSETS_PARTITIONS))
    return {(r["topic"], r["partition"]) for _, r in recs
            if r["key_version"] == 1 and r["group"] == group and r.get("tombstone")}


def test_offset_delete_lone_broker_and_restart(broker_factory):
    from confluent_kafka import Consumer, Producer, TopicPartition

    b = broker_factory(props=GROUP_PROPS)
    with kwire.Conn(b.bootstrap) as c:
        assert c.api_versions(0)["api_keys"].get(OFFSET_DELETE) == (0, 0)
    create_topic(b.bootstrap, "od-orders", 3)
    create_topic(b.bootstrap, "od-other", 1)
    p = Producer({"bootstrap.servers": b.bootstrap})
    for i in range(30):
        p.produce("od-orders", value=b"%d" % i, partition=i % 3)
    assert p.flush(10) == 0

    group = "g-od"
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    try:
        c.subscribe(["od-orders"])
        assert len(consume(c, 30)) == 30
        c.commit(asynchronous=False)
        # An offset of a topic the group does not subscribe to (left from an
        # earlier subscription, say).
        c.commit(offsets=[TopicPartition("od-other", 0, 42)], asynchronous=False)
        wait_for("a Stable group", lambda: describe_group(b, group)[1] == "Stable", 30)
        assert committed(b, group, "od-orders", [0, 1, 2]) == {0: 10, 1: 10, 2: 10}
        assert committed(b, group, "od-other", [0]) == {0: 42}

        # A live member subscribes to od-orders: its offsets stay. od-other's
        # goes; partitions the cluster lacks are refused from the metadata.
        err, res = offset_delete(b, group, [("od-orders", [0]), ("od-other", [0, 5]), ("od-none", [0])])
        assert err == NONE
        assert res == {("od-orders", 0): GROUP_SUBSCRIBED_TO_TOPIC, ("od-other", 0): NONE,
                       ("od-other", 5): UNKNOWN_TOPIC_OR_PARTITION, ("od-none", 0): UNKNOWN_TOPIC_OR_PARTITION}
        assert committed(b, group, "od-orders", [0, 1, 2]) == {0: 10, 1: 10, 2: 10}
        assert committed(b, group, "od-other", [0]) == {0: -1}
        assert describe_group(b, group)[1] == "Stable"  # the member was not disturbed
    finally:
        c.close()

    # The member left: the group is Empty and od-orders/1 may go. A partition
    # that has no offset answers NONE too.
    wait_for("an Empty group", lambda: describe_group(b, group)[1] == "Empty", 30)
    err, res = offset_delete(b, group, [("od-orders", [1]), ("od-other", [0])])
    assert (err, res) == (NONE, {("od-orders", 1): NONE, ("od-other", 0): NONE})
    assert committed(b, group, "od-orders", [0, 1, 2]) == {0: 10, 1: -1, 2: 10}

    # A group of offsets only: deleting the last one removes the group.
    solo = "g-od-solo"
    commit_assigned(b.bootstrap, solo, {("od-orders", 0): 3, ("od-orders", 2): 4})
    assert committed(b, solo, "od-orders", [0, 2]) == {0: 3, 2: 4}
    assert offset_delete(b, solo, [("od-orders", [0, 2])]) == (
        NONE, {("od-orders", 0): NONE, ("od-orders", 2): NONE})
    assert describe_group(b, solo)[1] == "Dead"

    # Group-level errors come without partitions.
    assert offset_delete(b, solo, [("od-orders", [0])]) == (GROUP_ID_NOT_FOUND, {})
    assert offset_delete(b, "g-od-never", [("od-orders", [0])]) == (GROUP_ID_NOT_FOUND, {})
    assert offset_delete(b, "", [("od-orders", [0])]) == (INVALID_GROUP_ID, {})

    # Kafka's records: one tombstone per deleted offset.
    assert tombstones(b, group) == {("od-other", 0), ("od-orders", 1)}
    assert tombstones(b, solo) == {("od-orders", 0), ("od-orders", 2)}

    # A restart reloads from the log: what was deleted stays deleted.
    b.restart()
    assert committed(b, group, "od-orders", [0, 1, 2]) == {0: 10, 1: -1, 2: 10}
    assert committed(b, group, "od-other", [0]) == {0: -1}
    assert describe_group(b, group)[1] == "Empty"
    assert committed(b, solo, "od-orders", [0, 2]) == {0: -1, 2: -1}
    assert describe_group(b, solo)[1] == "Dead"
    assert offset_delete(b, solo, [("od-orders", [0])]) == (GROUP_ID_NOT_FOUND, {})


def test_offset_delete_survives_coordinator_failover(broker_factory):
    """The answer means replicated: kill -9 the coordinator right after it,
    and the partition's new leader loads the group without the offset."""
    brokers, _ = start_group_cluster(broker_factory)
    by_id = {int(b.props["node.id"]): b for b in brokers}
    bootstrap = ",".join(b.bootstrap for b in brokers)
    create(brokers[0], "od-ha", 2, 3)
    wait_for("od-ha everywhere", lambda: same_everywhere(brokers, "od-ha", 2), 15)

    group = "g-od-ha"
    coords = {find_coordinator(b, group) for b in brokers}
    assert len(coords) == 1, coords
    err, coordinator = coords.pop()
    assert err == 0
    wait_for("__consumer_offsets everywhere", lambda: same_everywhere(brokers, OFFSETS_TOPIC, OFFSETS_PARTITIONS), 15)
    commit_assigned(bootstrap, group, {("od-ha", 0): 7, ("od-ha", 1): 8})
    leader = by_id[coordinator]
    assert committed(leader, group, "od-ha", [0, 1]) == {0: 7, 1: 8}

    assert offset_delete(leader, group, [("od-ha", [0])]) == (NONE, {("od-ha", 0): NONE})
    leader.kill9()
    survivors = [b for b in brokers if b is not leader]

    def moved():
        answers = [find_coordinator(b, group) for b in survivors]
        if any(a is None or a[0] != 0 or a[1] == coordinator for a in answers):
            return None
        return answers[0][1] if len({a[1] for a in answers}) == 1 else None

    successor = by_id[wait_for("a new coordinator", moved, 30)]
    assert committed(successor, group, "od-ha", [0, 1]) == {0: -1, 1: 8}
    # Its log has the tombstone (read up to the high watermark, which the
    # new leader advances once the other replica fetched).
    wait_for("the tombstone on the new leader", lambda: ("od-ha", 0) in tombstones(successor, group), 15)
    # The successor deletes as well; the group goes with its last offset.
    assert offset_delete(successor, group, [("od-ha", [1])]) == (NONE, {("od-ha", 1): NONE})
    assert committed(successor, group, "od-ha", [0, 1]) == {0: -1, 1: -1}
    assert describe_group(successor, group)[1] == "Dead"
