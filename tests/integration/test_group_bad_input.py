"""Bad input to the group coordinator, sent with raw requests (kwire).

Each case sends what a broken or hostile client might and expects Kafka's
answer (GroupCoordinator / GroupMetadataManager):

  - JoinGroup whose protocol type differs from the group's, whose protocols
    share nothing with the members', or that lists no protocol at all:
    INCONSISTENT_GROUP_PROTOCOL, and the group does not notice;
  - the first JoinGroup of a member at v4+ without a member id:
    MEMBER_ID_REQUIRED with the id to use (KIP-394), none at v3;
  - SyncGroup whose frame exceeds socket.request.max.bytes: the connection is
    closed unread (SocketServer's InvalidReceiveException), the group waits
    for the leader's next SyncGroup;
  - SyncGroup whose assignment makes the group's record bigger than
    __consumer_offsets accepts (max.message.bytes): UNKNOWN_SERVER_ERROR and
    a new rebalance (GroupMetadataManager.storeGroup's error mapping);
  - OffsetCommit from a stale or future generation (ILLEGAL_GENERATION), an
    unknown member (UNKNOWN_MEMBER_ID), during CompletingRebalance
    (REBALANCE_IN_PROGRESS), with metadata over offset.metadata.max.bytes
    (OFFSET_METADATA_TOO_LARGE).

After each, the committed offsets are unchanged, also across a broker
restart where it matters, and the group still works: a confluent-kafka
consumer joins, starts at the committed offsets and commits.
"""

import time

import pytest

import kwire
from helpers import create_topic, unique_topic

OFFSET_COMMIT = 8
OFFSET_FETCH = 9
FIND_COORDINATOR = 10
JOIN_GROUP = 11
HEARTBEAT = 12
LEAVE_GROUP = 13
SYNC_GROUP = 14

NONE = 0
UNKNOWN_SERVER_ERROR = -1
OFFSET_METADATA_TOO_LARGE = 12
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
MEMBER_ID_REQUIRED = 79

MAX_REQUEST = 4 << 20  # socket.request.max.bytes of these brokers
MAX_MESSAGE = 1048588  # message.max.bytes (Kafka's default): also __consumer_offsets' limit
METADATA_MAX = 4096  # offset.metadata.max.bytes (Kafka's default)
SESSION_MS = 30000  # raw members heartbeat by hand: no expiry during a case
PARTITIONS = 2
RECORDS = 20  # per partition

BROKER_PROPS = {
    "socket.request.max.bytes": str(MAX_REQUEST),
    "message.max.bytes": str(MAX_MESSAGE),
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "3",
    "auto.create.topics.enable": "false",
}


# --- encoders and decoders (from the Kafka message JSON definitions) -------------------
# Flexible versions (KIP-482) use compact strings/bytes/arrays and tagged fields.


def _s(flex, v):
    return kwire.compact_string(v) if flex else kwire.string(v)


def _b(flex, v):
    # Compact bytes are encoded like a compact string.
    return kwire.compact_string(v) if flex else kwire.nbytes(v)


def _a(flex, items, enc):
    return kwire.compact_array(items, enc) if flex else kwire.array(items, enc)


def _t(flex):
    return kwire.TAGS_NONE if flex else b""


def _rs(r, flex):
    return r.compact_string() if flex else r.string()


def _rb(r, flex):
    return r.compact_bytes() if flex else r.nbytes()


def _ra(r, flex, dec):
    return r.compact_array(dec) if flex else r.array(dec)


def _rt(r, flex):
    if flex:
        r.tags()


def consumer_subscription(topics):
    """ConsumerProtocolSubscription v0: version, topics, user data."""
    return kwire.i16(0) + kwire.array(topics, kwire.string) + kwire.nbytes(None)


def consumer_assignment(topic, partitions, user_data=None):
    """ConsumerProtocolAssignment v0: version, [topic, partitions], user data."""
    return (kwire.i16(0) + kwire.array([(topic, partitions)], lambda tp: kwire.string(tp[0]) +
            kwire.array(tp[1], kwire.i32)) + kwire.nbytes(user_data))


def join_group_body(v, group, member_id, protocol_type, protocols, session_ms=SESSION_MS,
                    rebalance_ms=SESSION_MS, instance_id=None, reason=None):
    f = v >= 6
    out = _s(f, group) + kwire.i32(session_ms)
    if v >= 1:
        out += kwire.i32(rebalance_ms)
    out += _s(f, member_id)
    if v >= 5:
        out += _s(f, instance_id)
    out += _s(f, protocol_type)
    out += _a(f, protocols, lambda p: _s(f, p[0]) + _b(f, p[1]) + _t(f))
    if v >= 8:
        out += _s(f, reason)
    return out + _t(f)


def decode_join_group(body, v):
    f = v >= 6
    r = kwire.Reader(body)
    out = {}
    if v >= 2:
        out["throttle_time_ms"] = r.i32()
    out["error_code"] = r.i16()
    out["generation_id"] = r.i32()
    if v >= 7:
        out["protocol_type"] = _rs(r, f)
    out["protocol_name"] = _rs(r, f)
    out["leader"] = _rs(r, f)
    if v >= 9:
        out["skip_assignment"] = r.boolean()
    out["member_id"] = _rs(r, f)

    def member(r):
        m = {"member_id": _rs(r, f)}
        if v >= 5:
            m["group_instance_id"] = _rs(r, f)
        m["metadata"] = _rb(r, f)
        _rt(r, f)
        return m

    out["members"] = _ra(r, f, member)
    _rt(r, f)
    assert r.left() == 0, "JoinGroup v%d response: %d bytes left over" % (v, r.left())
    return out


def sync_group_body(v, group, generation, member_id, assignments, protocol_type=None, protocol_name=None):
    f = v >= 4
    out = _s(f, group) + kwire.i32(generation) + _s(f, member_id)
    if v >= 3:
        out += _s(f, None)  # group_instance_id
    if v >= 5:
        out += _s(f, protocol_type) + _s(f, protocol_name)
    out += _a(f, assignments, lambda a: _s(f, a[0]) + _b(f, a[1]) + _t(f))
    return out + _t(f)


def decode_sync_group(body, v):
    f = v >= 4
    r = kwire.Reader(body)
    out = {}
    if v >= 1:
        out["throttle_time_ms"] = r.i32()
    out["error_code"] = r.i16()
    if v >= 5:
        out["protocol_type"] = _rs(r, f)
        out["protocol_name"] = _rs(r, f)
    out["assignment"] = _rb(r, f)
    _rt(r, f)
    return out


def heartbeat_v3_body(group, generation, member_id):
    return kwire.string(group) + kwire.i32(generation) + kwire.string(member_id) + kwire.string(None)


def leave_group_v3_body(group, member_ids):
    return kwire.string(group) + kwire.array(member_ids, lambda m: kwire.string(m) + kwire.string(None))


def offset_commit_body(v, group, generation, member_id, topic, offsets, metadata=""):
    """offsets: {partition: offset}. v2-v8."""
    f = v >= 8

    def partition(item):
        p, off = item
        out = kwire.i32(p) + kwire.i64(off)
        if v >= 6:
            out += kwire.i32(-1)  # committed_leader_epoch
        return out + _s(f, metadata) + _t(f)

    out = _s(f, group) + kwire.i32(generation) + _s(f, member_id)
    if v >= 7:
        out += _s(f, None)  # group_instance_id
    if 2 <= v <= 4:
        out += kwire.i64(-1)  # retention_time_ms
    out += _a(f, [(topic, sorted(offsets.items()))],
              lambda t: _s(f, t[0]) + _a(f, t[1], partition) + _t(f))
    return out + _t(f)


def decode_offset_commit(body, v):
    """{partition: error_code} of the one topic committed."""
    f = v >= 8
    r = kwire.Reader(body)
    if v >= 3:
        r.i32()
    out = {}

    def partition(r):
        p, err = r.i32(), r.i16()
        _rt(r, f)
        out[p] = err

    def topic(r):
        _rs(r, f)
        _ra(r, f, partition)
        _rt(r, f)

    _ra(r, f, topic)
    _rt(r, f)
    return out


# --- a raw member and the checks ------------------------------------------------------


def request(bootstrap, api, version, body):
    with kwire.Conn(bootstrap, timeout=30) as c:
        return c.request(api, version, body, flexible=_flexible(api, version))


def _flexible(api, version):
    first_flexible = {JOIN_GROUP: 6, SYNC_GROUP: 4, HEARTBEAT: 4, LEAVE_GROUP: 4, OFFSET_COMMIT: 8,
                      OFFSET_FETCH: 6, FIND_COORDINATOR: 3}
    return version >= first_flexible[api]


def wait_coordinator(bootstrap, group, timeout=30.0):
    """FindCoordinator answers and the group's offsets can be read (the
    coordinator's __consumer_offsets partition exists and is loaded)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        r = kwire.Reader(request(bootstrap, FIND_COORDINATOR, 1, kwire.string(group) + kwire.i8(0)))
        r.i32()
        err = r.i16()
        if err == NONE:
            err, _ = offset_fetch_raw(bootstrap, group, "no-such-topic", [0])
            if err == NONE:
                return
        last = err
        time.sleep(0.2)
    raise AssertionError("no coordinator for group %s within %.0f s (last error %r)" % (group, timeout, last))


def offset_fetch_raw(bootstrap, group, topic, partitions):
    """OffsetFetch v5: (group error, {partition: (offset, metadata, error)})."""
    body = kwire.string(group) + kwire.array([kwire.string(topic) + kwire.array(partitions, kwire.i32)])
    r = kwire.Reader(request(bootstrap, OFFSET_FETCH, 5, body))
    r.i32()
    out = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p, off = r.i32(), r.i64()
            r.i32()  # committed_leader_epoch
            meta, err = r.string(), r.i16()
            out[p] = (off, meta, err)
    return r.i16(), out


def committed(bootstrap, group, topic):
    """{partition: committed offset} (-1: none), every answer error-free."""
    err, parts = offset_fetch_raw(bootstrap, group, topic, list(range(PARTITIONS)))
    assert err == NONE, "OffsetFetch error %d" % err
    assert all(e == NONE for _, _, e in parts.values()), parts
    return {p: off for p, (off, _, _) in parts.items()}


class RawMember:
    """A consumer-protocol member driven request by request (one connection)."""

    def __init__(self, bootstrap, group, topic):
        self.bootstrap, self.group, self.topic = bootstrap, group, topic
        self.conn = kwire.Conn(bootstrap, timeout=30)
        self.member_id = ""
        self.generation = -1
        self.metadata = consumer_subscription([topic])

    def close(self):
        self.conn.close()

    def call(self, api, version, body):
        return self.conn.request(api, version, body, flexible=_flexible(api, version))

    def join(self, version=5, protocol_type="consumer", protocols=None, member_id=None):
        protocols = [("range", self.metadata)] if protocols is None else protocols
        mid = self.member_id if member_id is None else member_id
        return decode_join_group(self.call(JOIN_GROUP, version, join_group_body(version, self.group, mid,
                                                                                protocol_type, protocols)), version)

    def join_as_leader(self, version=5):
        """JoinGroup until the member is in the group (KIP-394's second join
        when asked); it must come out as the leader of a new generation."""
        r = self.join(version)
        if r["error_code"] == MEMBER_ID_REQUIRED:
            self.member_id = r["member_id"]
            r = self.join(version)
        assert r["error_code"] == NONE, r
        self.member_id = r["member_id"]
        self.generation = r["generation_id"]
        assert r["leader"] == self.member_id, r
        return r

    def sync(self, assignment=None, version=3, generation=None):
        if assignment is None:
            assignment = consumer_assignment(self.topic, list(range(PARTITIONS)))
        gen = self.generation if generation is None else generation
        body = sync_group_body(version, self.group, gen, self.member_id, [(self.member_id, assignment)],
                               protocol_type="consumer", protocol_name="range")
        return decode_sync_group(self.call(SYNC_GROUP, version, body), version)

    def join_and_sync(self):
        self.join_as_leader()
        r = self.sync()
        assert r["error_code"] == NONE, r
        assert r["assignment"] == consumer_assignment(self.topic, list(range(PARTITIONS))), r
        return r

    def heartbeat(self, generation=None, member_id=None):
        gen = self.generation if generation is None else generation
        mid = self.member_id if member_id is None else member_id
        r = kwire.Reader(self.call(HEARTBEAT, 3, heartbeat_v3_body(self.group, gen, mid)))
        r.i32()
        return r.i16()

    def commit(self, offsets, generation=None, member_id=None, version=7, metadata=""):
        gen = self.generation if generation is None else generation
        mid = self.member_id if member_id is None else member_id
        body = offset_commit_body(version, self.group, gen, mid, self.topic, offsets, metadata)
        return decode_offset_commit(self.call(OFFSET_COMMIT, version, body), version)

    def leave(self):
        r = kwire.Reader(self.call(LEAVE_GROUP, 3, leave_group_v3_body(self.group, [self.member_id])))
        r.i32()
        err = r.i16()
        members = r.array(lambda r: (r.string(), r.string(), r.i16()))
        assert err == NONE and members == [(self.member_id, None, NONE)], (err, members)


def normal_member_resumes(bootstrap, group, topic, expected, new_offsets):
    """A confluent-kafka consumer joins the group, reads from the committed
    `expected` offsets (the first record of each partition is there) and
    commits `new_offsets`; the group then has them."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    try:
        c.subscribe([topic])
        first = {}
        deadline = time.time() + 60
        while len(first) < PARTITIONS and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            first.setdefault(m.partition(), m.offset())
        assert first == expected, "the consumer started at %r, the group had committed %r" % (first, expected)
        c.commit(offsets=[TopicPartition(topic, p, o) for p, o in new_offsets.items()], asynchronous=False)
    finally:
        c.close()
    assert committed(bootstrap, group, topic) == new_offsets


@pytest.fixture
def gb(broker_factory):
    """A broker with a topic of PARTITIONS x RECORDS records; returns
    (broker, topic)."""
    from confluent_kafka import Producer

    b = broker_factory(props=BROKER_PROPS)
    topic = unique_topic("gbad")
    create_topic(b.bootstrap, topic, PARTITIONS)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    for i in range(RECORDS):
        for part in range(PARTITIONS):
            p.produce(topic, value=b"%d" % i, partition=part)
    assert p.flush(30) == 0
    return b, topic


def new_group(b, topic, prefix):
    group = unique_topic(prefix)
    wait_coordinator(b.bootstrap, group)
    return group


def assert_alive(b):
    assert b.alive(), "broker died; log:\n" + b.log_text()[-4000:]


# --- JoinGroup -------------------------------------------------------------------------


def test_join_inconsistent_protocol(gb):
    b, topic = gb
    group = new_group(b, topic, "g-proto")
    m = RawMember(b.bootstrap, group, topic)
    try:
        m.join_and_sync()
        assert m.commit({0: 5, 1: 7}) == {0: NONE, 1: NONE}
        before = committed(b.bootstrap, group, topic)
        assert before == {0: 5, 1: 7}

        sub = consumer_subscription([topic])
        cases = [
            ("another protocol type", 5, "connect", [("range", sub)]),
            ("another protocol type, v3", 3, "connect", [("range", sub)]),
            ("another protocol type, flexible v9", 9, "connect", [("range", sub)]),
            ("no protocol in common", 5, "consumer", [("no-such-assignor", sub)]),
            ("an empty protocol list", 5, "consumer", []),
            ("an empty protocol list, flexible v7", 7, "consumer", []),
        ]
        for what, v, ptype, protocols in cases:
            with kwire.Conn(b.bootstrap) as c:
                body = join_group_body(v, group, "", ptype, protocols)
                r = decode_join_group(c.request(JOIN_GROUP, v, body, flexible=_flexible(JOIN_GROUP, v)), v)
            assert r["error_code"] == INCONSISTENT_GROUP_PROTOCOL, (what, r)
            # Kafka checks the protocols before handing out a member id.
            assert r["member_id"] == "" and r["generation_id"] == -1 and r["members"] == [], (what, r)
            # The group did not notice: same generation, no rebalance.
            assert m.heartbeat() == NONE, what
            assert committed(b.bootstrap, group, topic) == before, what

        # The member itself switching protocol type is refused the same way
        # and stays in its generation.
        r = m.join(protocol_type="connect")
        assert r["error_code"] == INCONSISTENT_GROUP_PROTOCOL, r
        assert m.heartbeat() == NONE
        # SyncGroup v5 names the protocol (KIP-559): a mismatch is refused.
        body = sync_group_body(5, group, m.generation, m.member_id, [], protocol_type="connect",
                               protocol_name="range")
        r = decode_sync_group(m.call(SYNC_GROUP, 5, body), 5)
        assert r["error_code"] == INCONSISTENT_GROUP_PROTOCOL, r

        # An empty group has no protocol type yet: the first member must bring one.
        empty = new_group(b, topic, "g-empty")
        for what, ptype, protocols in (("no protocol", "consumer", []), ("no protocol type", "", [("range", sub)])):
            with kwire.Conn(b.bootstrap) as c:
                r = decode_join_group(c.request(JOIN_GROUP, 5, join_group_body(5, empty, "", ptype, protocols)), 5)
            assert r["error_code"] == INCONSISTENT_GROUP_PROTOCOL, (what, r)

        assert committed(b.bootstrap, group, topic) == before
        assert m.heartbeat() == NONE
        assert m.commit({0: 6}) == {0: NONE}
        m.leave()
    finally:
        m.close()
    assert_alive(b)
    normal_member_resumes(b.bootstrap, group, topic, {0: 6, 1: 7}, {0: 8, 1: 9})


def test_member_id_required(gb):
    b, topic = gb
    sub = consumer_subscription([topic])
    for v in (4, 5, 9):
        group = new_group(b, topic, "g-mid%d" % v)
        with kwire.Conn(b.bootstrap) as c:
            call = lambda body: decode_join_group(c.request(JOIN_GROUP, v, body, flexible=v >= 6), v)
            r = call(join_group_body(v, group, "", "consumer", [("range", sub)]))
            assert r["error_code"] == MEMBER_ID_REQUIRED, (v, r)
            mid = r["member_id"]
            assert mid, "v%d: MEMBER_ID_REQUIRED without a member id: %r" % (v, r)
            assert r["generation_id"] == -1 and r["members"] == [] and r["leader"] == "", (v, r)

            # A second anonymous join gets an id of its own.
            r2 = call(join_group_body(v, group, "", "consumer", [("range", sub)]))
            assert r2["error_code"] == MEMBER_ID_REQUIRED and r2["member_id"] not in ("", mid), (v, r2)

            # A made-up id is not a member.
            r3 = call(join_group_body(v, group, "ghost-" + mid, "consumer", [("range", sub)]))
            assert r3["error_code"] == UNKNOWN_MEMBER_ID, (v, r3)

            r = call(join_group_body(v, group, mid, "consumer", [("range", sub)]))
            assert r["error_code"] == NONE, (v, r)
            assert r["member_id"] == mid and r["leader"] == mid and r["generation_id"] >= 1, (v, r)
            assert r["protocol_name"] == "range", (v, r)
            assert [(x["member_id"], x["metadata"]) for x in r["members"]] == [(mid, sub)], (v, r)

            sync_v = 5 if v >= 6 else 3
            body = sync_group_body(sync_v, group, r["generation_id"], mid,
                                   [(mid, consumer_assignment(topic, [0, 1]))], "consumer", "range")
            s = decode_sync_group(c.request(SYNC_GROUP, sync_v, body, flexible=sync_v >= 4), sync_v)
            assert s["error_code"] == NONE and s["assignment"] == consumer_assignment(topic, [0, 1]), (v, s)
            body = offset_commit_body(7, group, r["generation_id"], mid, topic, {0: 3, 1: 4})
            assert decode_offset_commit(c.request(OFFSET_COMMIT, 7, body), 7) == {0: NONE, 1: NONE}
        assert committed(b.bootstrap, group, topic) == {0: 3, 1: 4}

    # Before v4 there is no second round: the first join is the member's.
    group = new_group(b, topic, "g-mid3")
    with kwire.Conn(b.bootstrap) as c:
        r = decode_join_group(c.request(JOIN_GROUP, 3, join_group_body(3, group, "", "consumer",
                                                                         [("range", sub)])), 3)
    assert r["error_code"] == NONE and r["member_id"] and r["leader"] == r["member_id"], r
    assert_alive(b)


# --- SyncGroup -------------------------------------------------------------------------


def test_sync_group_frame_over_socket_request_max_bytes(gb):
    b, topic = gb
    group = new_group(b, topic, "g-frame")
    m = RawMember(b.bootstrap, group, topic)
    try:
        m.join_and_sync()
        assert m.commit({0: 4, 1: 2}) == {0: NONE, 1: NONE}
        gen = m.generation
        # The leader rejoins: a new generation waits for its assignment.
        m.join_as_leader()
        assert m.generation == gen + 1

        huge = consumer_assignment(topic, [0, 1], user_data=b"\xab" * MAX_REQUEST)
        body = sync_group_body(3, group, m.generation, m.member_id, [(m.member_id, huge)])
        frame = kwire.frame(kwire.request_header(SYNC_GROUP, 3, 99) + body)
        assert len(frame) - 4 > MAX_REQUEST
        with kwire.Conn(b.bootstrap) as c:
            try:
                c.send_raw(frame)
            except OSError:
                pass  # closed (or no longer read) before it was all sent: checked next
            assert c.is_closed_by_peer(10), "a SyncGroup over socket.request.max.bytes got an answer"
        assert_alive(b)

        # Nothing of it reached the group: the leader's normal SyncGroup
        # completes the same generation.
        m.conn.close()
        m.conn = kwire.Conn(b.bootstrap, timeout=30)
        r = m.sync()
        assert r["error_code"] == NONE, r
        assert r["assignment"] == consumer_assignment(topic, [0, 1]), r
        assert m.heartbeat() == NONE
        assert committed(b.bootstrap, group, topic) == {0: 4, 1: 2}
        assert m.commit({1: 3}) == {1: NONE}
        m.leave()
    finally:
        m.close()
    normal_member_resumes(b.bootstrap, group, topic, {0: 4, 1: 3}, {0: 5, 1: 5})


def test_sync_group_assignment_too_large_for_offsets_topic(gb):
    b, topic = gb
    group = new_group(b, topic, "g-big")
    m = RawMember(b.bootstrap, group, topic)
    try:
        m.join_and_sync()
        assert m.commit({0: 9, 1: 1}) == {0: NONE, 1: NONE}
        gen = m.generation
        m.join_as_leader()
        assert m.generation == gen + 1

        # Fits in a request, not in one __consumer_offsets record.
        big = consumer_assignment(topic, [0, 1], user_data=b"\xcd" * (MAX_MESSAGE + 512 * 1024))
        r = m.sync(big)
        assert r["error_code"] == UNKNOWN_SERVER_ERROR, (
            "SyncGroup with a %d-byte assignment: error %d, Kafka answers UNKNOWN_SERVER_ERROR when the group "
            "record exceeds the offsets topic's max.message.bytes" % (len(big), r["error_code"]))
        assert not r["assignment"], "an assignment came back with the error"
        # The group rebalances again rather than keeping a half-stored generation.
        assert m.heartbeat() == REBALANCE_IN_PROGRESS
        m.join_as_leader()
        assert m.generation == gen + 2
        r = m.sync()
        assert r["error_code"] == NONE, r
        assert m.heartbeat() == NONE
        assert committed(b.bootstrap, group, topic) == {0: 9, 1: 1}
        assert m.commit({0: 11}) == {0: NONE}
        m.leave()
    finally:
        m.close()

    # Nothing oversized was stored: the broker restarts and loads the group.
    b.restart()
    wait_coordinator(b.bootstrap, group)
    assert committed(b.bootstrap, group, topic) == {0: 11, 1: 1}
    normal_member_resumes(b.bootstrap, group, topic, {0: 11, 1: 1}, {0: 12, 1: 2})


# --- OffsetCommit ----------------------------------------------------------------------


def test_offset_commit_fencing(gb):
    b, topic = gb
    group = new_group(b, topic, "g-fence")
    m = RawMember(b.bootstrap, group, topic)
    try:
        m.join_and_sync()
        old = m.generation
        assert m.commit({0: 10, 1: 12}) == {0: NONE, 1: NONE}
        # The leader rejoins and syncs: generation old+1, stable.
        m.join_and_sync()
        assert m.generation == old + 1
        want = {0: 10, 1: 12}

        cases = [
            ("stale generation", dict(generation=old), ILLEGAL_GENERATION),
            ("future generation", dict(generation=m.generation + 5), ILLEGAL_GENERATION),
            ("unknown member", dict(member_id="ghost-member"), UNKNOWN_MEMBER_ID),
            ("unknown member, stale generation", dict(member_id="ghost-member", generation=old),
             UNKNOWN_MEMBER_ID),
            ("no member id in a non-empty group", dict(member_id="", generation=-1), UNKNOWN_MEMBER_ID),
            ("stale generation, flexible v8", dict(generation=old, version=8), ILLEGAL_GENERATION),
            ("stale generation, v2", dict(generation=old, version=2), ILLEGAL_GENERATION),
        ]
        for what, kw, err in cases:
            got = m.commit({0: 99, 1: 98}, **kw)
            assert got == {0: err, 1: err}, (what, got)
            assert committed(b.bootstrap, group, topic) == want, what
        assert m.heartbeat(generation=old) == ILLEGAL_GENERATION
        assert m.heartbeat(member_id="ghost-member") == UNKNOWN_MEMBER_ID
        assert m.heartbeat() == NONE

        # Metadata over offset.metadata.max.bytes: refused per partition.
        got = m.commit({0: 97}, metadata="x" * (METADATA_MAX + 1))
        assert got == {0: OFFSET_METADATA_TOO_LARGE}, got
        assert committed(b.bootstrap, group, topic) == want

        # Between JoinGroup and SyncGroup the member's current generation
        # gets REBALANCE_IN_PROGRESS, the previous one ILLEGAL_GENERATION.
        prev = m.generation
        m.join_as_leader()
        assert m.commit({0: 96}) == {0: REBALANCE_IN_PROGRESS}
        assert m.commit({0: 95}, generation=prev) == {0: ILLEGAL_GENERATION}
        assert m.sync()["error_code"] == NONE
        assert committed(b.bootstrap, group, topic) == want

        assert m.commit({0: 11}) == {0: NONE}
        want = {0: 11, 1: 12}
        assert committed(b.bootstrap, group, topic) == want
        m.leave()
    finally:
        m.close()

    normal_member_resumes(b.bootstrap, group, topic, want, {0: 13, 1: 14})
    # What the refused commits would have written is nowhere in the log either.
    b.restart()
    wait_coordinator(b.bootstrap, group)
    assert committed(b.bootstrap, group, topic) == {0: 13, 1: 14}
