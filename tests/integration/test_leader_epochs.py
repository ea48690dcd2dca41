"""OffsetForLeaderEpoch (API 23) on a single broker, with raw requests.

The partition's log records the leader epoch of its batches (KIP-101) and
answers where an epoch ends: the latest epoch ends at the log end offset
(what a consumer validating its position after a leader change, KIP-320,
and a follower of the current leader see). On one broker every batch carries
the partition's epoch, 0.

The request and response layouts are written here from Kafka's
OffsetForLeaderEpochRequest.json / OffsetForLeaderEpochResponse.json, not
from the broker's codec.
"""

import kwire
from helpers import create_topic, unique_topic

OFFSET_FOR_LEADER_EPOCH = 23
UNKNOWN_LEADER_EPOCH = 75


def ofle_body(version, topics, replica_id=-1):
    """topics: [(name, [(partition, current_leader_epoch, leader_epoch)])]."""
    flexible = version >= 4

    def partition(p):
        idx, current, epoch = p
        out = kwire.i32(idx)
        if version >= 2:
            out += kwire.i32(current)
        out += kwire.i32(epoch)
        return out + (kwire.TAGS_NONE if flexible else b"")

    def topic(t):
        name, parts = t
        if flexible:
            return kwire.compact_string(name) + kwire.compact_array(parts, partition) + kwire.TAGS_NONE
        return kwire.string(name) + kwire.array(parts, partition)

    body = kwire.i32(replica_id) if version >= 3 else b""
    if flexible:
        return body + kwire.compact_array(topics, topic) + kwire.TAGS_NONE
    return body + kwire.array(topics, topic)


def decode_ofle(body, version):
    """-> {(topic, partition): {error_code, leader_epoch, end_offset}}."""
    flexible = version >= 4
    r = kwire.Reader(body)
    if version >= 2:
        r.i32()  # throttle_time_ms
    out = {}

    def partition(r):
        p = dict(error_code=r.i16(), partition=r.i32())
        p["leader_epoch"] = r.i32() if version >= 1 else -1
        p["end_offset"] = r.i64()
        if flexible:
            r.tags()
        return p

    def topic(r):
        name = r.compact_string() if flexible else r.string()
        parts = r.compact_array(partition) if flexible else r.array(partition)
        if flexible:
            r.tags()
        for p in parts:
            out[(name, p["partition"])] = p

    if flexible:
        r.compact_array(topic)
        r.tags()
    else:
        r.array(topic)
    assert r.left() == 0, "%d bytes left after the response" % r.left()
    return out


def ofle(conn, version, topics, replica_id=-1):
    resp = conn.request(OFFSET_FOR_LEADER_EPOCH, version, ofle_body(version, topics, replica_id),
                        flexible=version >= 4)
    return decode_ofle(resp, version)


def produce_batches(bootstrap, topic, sizes):
    with kwire.Conn(bootstrap) as c:
        for i, n in enumerate(sizes):
            recs = [(b"k%d" % j, b"v%d-%d" % (i, j), []) for j in range(n)]
            r = c.produce(topic, 0, kwire.record_batch(recs))
            assert r["error_code"] == 0, r
        return c.list_offsets(topic, 0, kwire.LATEST)["offset"]


def test_api_versions_advertises_offset_for_leader_epoch(broker):
    with kwire.Conn(broker.bootstrap) as c:
        av = c.api_versions(3)
    assert av["api_keys"].get(OFFSET_FOR_LEADER_EPOCH) == (0, 4), av["api_keys"]


def test_latest_epoch_ends_at_log_end_offset(broker):
    t = unique_topic("ofle")
    create_topic(broker.bootstrap, t)
    with kwire.Conn(broker.bootstrap) as c:
        # Nothing written yet: the current epoch still ends at the log end.
        for v in (3, 4):
            p = ofle(c, v, [(t, [(0, -1, 0)])])[(t, 0)]
            assert (p["error_code"], p["leader_epoch"], p["end_offset"]) == (0, 0, 0), (v, p)

    leo = produce_batches(broker.bootstrap, t, [3, 1, 4])
    assert leo == 8
    with kwire.Conn(broker.bootstrap) as c:
        for v in (3, 4):
            got = ofle(c, v, [(t, [(0, 0, 0), (0, -1, 0)]), (t, [(0, -1, 0)])])
            p = got[(t, 0)]
            assert (p["error_code"], p["leader_epoch"], p["end_offset"]) == (0, 0, leo), (v, p)
        # The oldest versions, without leader_epoch in the answer (v0) or
        # without current_leader_epoch in the request (v0, v1).
        for v in (0, 1, 2):
            p = ofle(c, v, [(t, [(0, -1, 0)])])[(t, 0)]
            assert (p["error_code"], p["end_offset"]) == (0, leo), (v, p)
            if v >= 1:
                assert p["leader_epoch"] == 0, (v, p)
        # An epoch the partition has not reached: unknown (-1, -1), no error.
        for v in (3, 4):
            p = ofle(c, v, [(t, [(0, -1, 5)])])[(t, 0)]
            assert (p["error_code"], p["leader_epoch"], p["end_offset"]) == (0, -1, -1), (v, p)

    # The history is on disk in Kafka's format, and survives a restart.
    cp = broker.segment_dir(t) / "leader-epoch-checkpoint"
    assert cp.read_text() == "0\n1\n0 0\n"
    broker.restart()
    with kwire.Conn(broker.bootstrap) as c:
        p = ofle(c, 4, [(t, [(0, 0, 0)])])[(t, 0)]
    assert (p["error_code"], p["leader_epoch"], p["end_offset"]) == (0, 0, leo), p


def test_current_leader_epoch_fencing(broker):
    t = unique_topic("ofle-fence")
    create_topic(broker.bootstrap, t)
    produce_batches(broker.bootstrap, t, [2])
    with kwire.Conn(broker.bootstrap) as c:
        # KIP-320: a client that knows a newer epoch than the leader's.
        p = ofle(c, 4, [(t, [(0, 1, 0)])])[(t, 0)]
        assert p["error_code"] == UNKNOWN_LEADER_EPOCH, p
        assert (p["leader_epoch"], p["end_offset"]) == (-1, -1), p


def test_unknown_topic_or_partition(broker):
    t = unique_topic("ofle-known")
    create_topic(broker.bootstrap, t)
    missing = unique_topic("ofle-missing")
    with kwire.Conn(broker.bootstrap) as c:
        for v in (3, 4):
            got = ofle(c, v, [(missing, [(0, -1, 0)]), (t, [(7, -1, 0)])])
            assert got[(missing, 0)]["error_code"] == kwire.UNKNOWN_TOPIC_OR_PARTITION, got
            assert got[(t, 7)]["error_code"] == kwire.UNKNOWN_TOPIC_OR_PARTITION, got
            assert (got[(t, 7)]["leader_epoch"], got[(t, 7)]["end_offset"]) == (-1, -1), got
        # No auto-creation through this API.
        md = c.metadata([missing])
    assert md["topics"][0]["error_code"] == kwire.UNKNOWN_TOPIC_OR_PARTITION, md


# --- Fetch v12: the leader's side of KIP-320 truncation detection -----------------
FETCH = 1
OFFSET_OUT_OF_RANGE = 1


def fetch_v12_body(topic, partition, offset, last_fetched_epoch, current_leader_epoch=-1, max_wait_ms=0):
    """FetchRequest v12 (flexible), from Kafka's FetchRequest.json."""
    part = (kwire.i32(partition) + kwire.i32(current_leader_epoch) + kwire.i64(offset)
            + kwire.i32(last_fetched_epoch) + kwire.i64(-1) + kwire.i32(1 << 20) + kwire.TAGS_NONE)
    top = kwire.compact_string(topic) + kwire.compact_array([part]) + kwire.TAGS_NONE
    return (kwire.i32(-1) + kwire.i32(max_wait_ms) + kwire.i32(1) + kwire.i32(1 << 20) + kwire.i8(0)
            + kwire.i32(0) + kwire.i32(-1) + kwire.compact_array([top]) + kwire.compact_array([])
            + kwire.compact_string("") + kwire.TAGS_NONE)


def decode_fetch_v12(body):
    """-> {(topic, partition): {error_code, high_watermark, records, diverging}}
    where diverging is (epoch, end_offset) from tagged field 0, or None."""
    r = kwire.Reader(body)
    r.i32()  # throttle_time_ms
    assert r.i16() == 0  # top-level error_code
    r.i32()  # session_id
    out = {}

    def partition(r):
        p = dict(partition=r.i32(), error_code=r.i16(), high_watermark=r.i64())
        r.i64()  # last_stable_offset
        r.i64()  # log_start_offset
        r.compact_array(lambda r: (r.i64(), r.i64(), r.tags()))
        r.i32()  # preferred_read_replica
        p["records"] = r.compact_bytes() or b""
        p["diverging"] = None
        for _ in range(r.uvarint()):
            tag, size = r.uvarint(), r.uvarint()
            field = kwire.Reader(r.take(size))
            if tag == 0:
                p["diverging"] = (field.i32(), field.i64())
        return p

    def topic(r):
        name = r.compact_string()
        for p in r.compact_array(partition):
            out[(name, p["partition"])] = p
        r.tags()

    r.compact_array(topic)
    r.tags()
    assert r.left() == 0
    return out


def fetch_v12(conn, topic, offset, last_fetched_epoch, **kw):
    body = fetch_v12_body(topic, 0, offset, last_fetched_epoch, **kw)
    return decode_fetch_v12(conn.request(FETCH, 12, body, flexible=True))[(topic, 0)]


def test_fetch_answers_a_diverging_epoch(broker):
    """A fetcher whose last epoch ends, in the leader's log, before its fetch
    offset gets the leader's end of that epoch instead of records (KIP-320),
    at once even when it long-polls; a consistent one gets records."""
    t = unique_topic("diverge")
    create_topic(broker.bootstrap, t)
    leo = produce_batches(broker.bootstrap, t, [3, 2])
    with kwire.Conn(broker.bootstrap) as c:
        # Consistent: epoch 0 goes on past offset 2.
        p = fetch_v12(c, t, 2, 0)
        assert p["error_code"] == 0 and p["diverging"] is None, p
        last = kwire.decode_batches(p["records"])[-1]
        assert last["base_offset"] + last["last_offset_delta"] == leo - 1, p
        # The fetcher holds epoch 0 up to leo + 3: its last 3 offsets are not
        # the leader's. Asked with a long poll, answered with the divergence.
        p = fetch_v12(c, t, leo + 3, 0, max_wait_ms=30000)
        assert p["error_code"] == 0, p
        assert p["diverging"] == (0, leo), p
        assert p["records"] == b"", p
        # Without a last fetched epoch the same offset is simply out of range.
        p = fetch_v12(c, t, leo + 3, -1)
        assert p["error_code"] == OFFSET_OUT_OF_RANGE and p["diverging"] is None, p
        # An epoch the leader never had is not judged here (no history to
        # place it): the offset check still applies.
        p = fetch_v12(c, t, leo, 7)
        assert p["error_code"] == 0 and p["diverging"] is None, p
