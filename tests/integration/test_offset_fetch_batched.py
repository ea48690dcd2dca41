"""OffsetFetch v8 (KIP-709): several groups in one request, each with its
topics listed or null (every committed offset of the group), answered per
group. Layouts written from Kafka's OffsetFetchRequest.json /
OffsetFetchResponse.json."""

import kwire
from helpers import create_topic, unique_topic

OFFSET_FETCH = 9
GROUP_PROPS = {"group.min.session.timeout.ms": "1000", "group.initial.rebalance.delay.ms": "0"}


def fetch_v8(conn, groups, require_stable=False):
    """groups: [(group_id, None | [(topic, [partitions])])] ->
    {group: (error_code, {(topic, partition): (offset, error_code)})}."""

    def topic(t):
        name, parts = t
        return (kwire.compact_string(name) + kwire.compact_array(parts, kwire.i32) + kwire.TAGS_NONE)

    def group(g):
        gid, topics = g
        return kwire.compact_string(gid) + kwire.compact_array(topics, topic) + kwire.TAGS_NONE

    body = kwire.compact_array(groups, group) + kwire.boolean(require_stable) + kwire.TAGS_NONE
    r = kwire.Reader(conn.request(OFFSET_FETCH, 8, body, flexible=True))
    r.i32()  # throttle_time_ms
    out = {}

    def partition(r):
        p = (r.i32(), r.i64(), r.i32(), r.compact_string(), r.i16())
        r.tags()
        return p

    def rtopic(r):
        name = r.compact_string()
        parts = r.compact_array(partition) or []
        r.tags()
        return name, parts

    def rgroup(r):
        gid = r.compact_string()
        topics = r.compact_array(rtopic) or []
        err = r.i16()
        r.tags()
        offs = {}
        for name, parts in topics:
            for idx, off, _epoch, _meta, perr in parts:
                offs[(name, idx)] = (off, perr)
        out[gid] = (err, offs)

    r.compact_array(rgroup)
    r.tags()
    assert r.left() == 0
    return out


def commit(bootstrap, group, topic, offsets):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    c.close()


def test_offset_fetch_v8_answers_several_groups(broker_factory):
    b = broker_factory(props=GROUP_PROPS)
    t = unique_topic("of8")
    create_topic(b.bootstrap, t, 3)
    commit(b.bootstrap, "g-one", t, {0: 5, 1: 7})
    commit(b.bootstrap, "g-two", t, {2: 11})
    with kwire.Conn(b.bootstrap) as c:
        got = fetch_v8(c, [("g-one", [(t, [0, 1, 2])]), ("g-two", None), ("g-none", None)])
    assert got["g-one"] == (0, {(t, 0): (5, 0), (t, 1): (7, 0), (t, 2): (-1, 0)}), got
    assert got["g-two"] == (0, {(t, 2): (11, 0)}), got  # null topics: all it committed
    assert got["g-none"] == (0, {}), got
