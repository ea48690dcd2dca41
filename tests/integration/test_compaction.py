"""Log compaction (cleanup.policy=compact): the log cleaner keeps the latest
record of every key, drops tombstones once delete.retention.ms has passed,
preserves offsets, survives kill -9 in the middle of a pass, and keeps
__consumer_offsets small."""

import os
import random
import time

import kwire
from helpers import create_topic, unique_topic

# The cleaner looks often and cleans as soon as anything is dirty.
FAST_CLEANER = {
    "log.cleaner.backoff.ms": "100",
    "log.retention.check.interval.ms": "200",
}
COMPACT = {
    "cleanup.policy": "compact",
    "segment.bytes": "2048",
    "min.cleanable.dirty.ratio": "0.01",
}


def wait_for(what, fn, timeout):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def produce_kv(conn, topic, key, value):
    """One record in its own batch; returns its offset."""
    r = conn.produce(topic, 0, kwire.record_batch([(key, value, [])]))
    assert r["error_code"] == 0, r
    return r["base_offset"]


def read_all(bootstrap, topic):
    """Every record from the log start to the end: [(offset, key, value)]."""
    out = []
    with kwire.Conn(bootstrap) as c:
        start = c.list_offsets(topic, 0, kwire.EARLIEST)["offset"]
        end = c.list_offsets(topic, 0, kwire.LATEST)["offset"]
        off = start
        while off < end:
            r = c.fetch(topic, 0, off, max_wait_ms=100)
            assert r["error_code"] == 0, r
            batches = kwire.decode_batches(r["records"])
            assert batches, "no batch at offset %d (end %d)" % (off, end)
            for b in batches:
                assert b["crc_ok"]
                for rec in b["records"]:
                    out.append((rec[0], rec[1], rec[2]))
                off = b["base_offset"] + b["last_offset_delta"] + 1
    return out


def segment_files(broker, topic):
    d = broker.segment_dir(topic)
    return sorted(f for f in os.listdir(d) if f.endswith(".log"))


def test_compaction_keeps_latest_per_key_and_expires_tombstones(broker_factory):
    b = broker_factory(overrides=FAST_CLEANER)
    t = unique_topic("compact")
    create_topic(b.bootstrap, t, config=dict(COMPACT, **{"delete.retention.ms": "3000"}))
    latest = {}
    with kwire.Conn(b.bootstrap) as c:
        for rnd in range(20):
            for k in range(8):
                key = b"key%d" % k
                latest[key] = (produce_kv(c, t, key, b"v%d-%d" % (k, rnd)), b"v%d-%d" % (k, rnd))
        deleted = [b"key0", b"key1"]
        for key in deleted:
            latest[key] = (produce_kv(c, t, key, None), None)
        # Roll past everything above: only closed segments are cleaned.
        for i in range(40):
            produce_kv(c, t, b"filler", b"f%d" % i)
        end = c.list_offsets(t, 0, kwire.LATEST)["offset"]
    assert len(segment_files(b, t)) > 3

    def compacted():
        recs = read_all(b.bootstrap, t)
        keyed = [r for r in recs if r[1] != b"filler"]
        return recs if len(keyed) == 6 else None

    recs = wait_for("the cleaner to remove superseded records and tombstones", compacted, 60)
    offsets = [r[0] for r in recs]
    assert offsets == sorted(set(offsets)), "offsets must stay unique and increasing"
    # Each live key once, with its latest value at the offset it was written.
    keyed = {r[1]: (r[0], r[2]) for r in recs if r[1] != b"filler"}
    assert set(keyed) == {b"key%d" % k for k in range(2, 8)}
    for key, got in keyed.items():
        assert got == latest[key], key
    # The last filler is there (the active segment or the latest of its key).
    assert recs[-1][1] == b"filler" and recs[-1][2] == b"f39"
    assert recs[-1][0] == end - 1
    with kwire.Conn(b.bootstrap) as c:
        assert c.list_offsets(t, 0, kwire.EARLIEST)["offset"] == 0
        assert c.list_offsets(t, 0, kwire.LATEST)["offset"] == end
        # A fetch from an offset that compaction removed starts at the next record.
        r = c.fetch(t, 0, 1, max_wait_ms=100)
        assert r["error_code"] == 0, r
        first = kwire.decode_batches(r["records"])[0]["records"][0]
        assert first[0] == recs[0][0]
    # A restart reads the compacted segments back.
    b.restart()
    assert read_all(b.bootstrap, t) == recs


def test_compaction_survives_kill9_during_cleaning(broker_factory):
    b = broker_factory(overrides=dict(FAST_CLEANER, **{"log.cleaner.backoff.ms": "50"}))
    t = unique_topic("compact-crash")
    create_topic(b.bootstrap, t, config=dict(COMPACT, **{"segment.bytes": "65536"}))
    latest = {}
    written = 0
    rnd = random.Random(7)
    # Rounds of writes, each followed by a kill -9 a moment later, while
    # the cleaner is busy with the segments just rolled; then a restart on
    # the same data. Every batch is acknowledged before the kill.
    for delay in (0.0, 0.03, 0.08, 0.15, 0.3):
        with kwire.Conn(b.bootstrap) as c:
            for i in range(60):
                recs = []
                for j in range(50):
                    key = b"key%03d" % rnd.randrange(200)
                    recs.append((key, b"v%06d" % written + b"x" * 40, []))
                    written += 1
                r = c.produce(t, 0, kwire.record_batch(recs))
                assert r["error_code"] == 0, r
                for j, (key, value, _) in enumerate(recs):
                    latest[key] = (r["base_offset"] + j, value)
        time.sleep(delay)
        b.kill9()
        b.start()
    with kwire.Conn(b.bootstrap) as c:
        end = c.list_offsets(t, 0, kwire.LATEST)["offset"]
    assert end == written

    active_base = int(segment_files(b, t)[-1][:-4])

    def settled():
        recs = read_all(b.bootstrap, t)
        keys = [r[1] for r in recs if r[0] < active_base]
        return recs if len(keys) == len(set(keys)) else None

    recs = wait_for("a complete compaction after the crashes", settled, 60)
    offsets = [r[0] for r in recs]
    assert offsets == sorted(set(offsets)), "a record is duplicated or out of order"
    seen = {}
    for off, key, value in recs:
        seen[key] = (off, value)
    # Nothing lost: every key's latest record is there, at its offset.
    assert seen == latest
    assert "cleaner: %s-0: cleaned" % t in b.log_text()
    assert not [f for f in os.listdir(b.segment_dir(t)) if f.endswith(".swap")]


def test_consumer_offsets_is_compacted_and_survives_restart(broker_factory):
    from confluent_kafka import Consumer, TopicPartition

    b = broker_factory(overrides=dict(FAST_CLEANER, **{
        "offsets.topic.num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.segment.bytes": "4096",
    }))
    t = unique_topic("src")
    create_topic(b.bootstrap, t, partitions=2)
    group = "g-compact"
    cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        for i in range(1, 301):
            cons.commit(offsets=[TopicPartition(t, 0, i), TopicPartition(t, 1, 1000 + i)], asynchronous=False)
    finally:
        cons.close()
    d = b.data_dir / "__consumer_offsets-0"
    assert d.is_dir()

    def committed_records():
        with kwire.Conn(b.bootstrap) as c:
            start = c.list_offsets("__consumer_offsets", 0, kwire.EARLIEST)["offset"]
            end = c.list_offsets("__consumer_offsets", 0, kwire.LATEST)["offset"]
        return start, end

    _, end = committed_records()
    assert end >= 300  # one record per committed partition per commit (at least)

    def shrunk():
        logs = [f for f in os.listdir(d) if f.endswith(".log")]
        size = sum(os.path.getsize(d / f) for f in logs if os.path.exists(d / f))
        return size if "cleaner: __consumer_offsets-0: cleaned" in b.log_text() and size < 16384 else None

    wait_for("__consumer_offsets to be compacted", shrunk, 60)

    def check_committed():
        c2 = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
        try:
            got = c2.committed([TopicPartition(t, 0), TopicPartition(t, 1)], timeout=15)
        finally:
            c2.close()
        return [(p.partition, p.offset) for p in got]

    assert check_committed() == [(0, 300), (1, 1300)]
    b.restart()
    got = wait_for("the group's offsets after a restart",
                   lambda: (lambda r: r if r == [(0, 300), (1, 1300)] else None)(check_committed_safe(check_committed)),
                   60)
    assert got == [(0, 300), (1, 1300)]


def check_committed_safe(fn):
    """The coordinator may still be loading right after a restart."""
    try:
        return fn()
    except Exception:  # noqa: BLE001 - retried by wait_for
        return None


def test_follower_catches_up_across_compacted_gaps(broker_factory):
    """RF 3: a follower stopped while its leader compacts comes back and
    fetches batches that start past its log end (the offsets between were
    cleaned away): it appends them with the gap, as Kafka's followers do,
    is back in the ISR, and holds the latest value of every key."""
    import signal

    from test_controller import create, same_everywhere
    from test_quorum import start_quorum

    brokers, _ = start_quorum(broker_factory, 3, extra=dict(FAST_CLEANER, **{
        "broker.heartbeat.interval.ms": "150",
        "broker.session.timeout.ms": "20000",
        "replica.lag.time.max.ms": "1000",
    }))
    wait_for("three registered brokers", lambda: all(
        len(kwire.Conn(b.bootstrap).metadata([])["brokers"]) == 3 for b in brokers), 20)
    t = "compact-rf3"
    proc = __import__("test_controller").tern_topics(
        brokers[0], "--create", "--topic", t, "--partitions", "1", "--replication-factor", "3",
        *sum((["--config", "%s=%s" % kv] for kv in COMPACT.items()), []), check=False)
    assert proc.returncode == 0, proc.stderr
    view = wait_for("compact-rf3 everywhere", lambda: same_everywhere(brokers, t, 1), 15)
    leader = next(b for b in brokers if int(b.props["node.id"]) == view[0][0])
    follower = next(b for b in brokers if b is not leader)
    fid = int(follower.props["node.id"])
    os.kill(follower.proc.pid, signal.SIGSTOP)
    try:
        wait_for("the stopped follower out of the ISR",
                 lambda: (lambda v: v if v and fid not in v[0][2] else None)(
                     same_everywhere([b for b in brokers if b is not follower], t, 1)), 15)
        latest = {}
        with kwire.Conn(leader.bootstrap) as c:
            for rnd in range(30):
                for k in range(6):
                    key = b"k%d" % k
                    value = b"v%d-%d" % (k, rnd)
                    r = c.produce(t, 0, kwire.record_batch([(key, value, [])]), acks=1)
                    assert r["error_code"] == 0, r
                    latest[key] = value
        # The leader cleaned: offsets are missing below its active segment.
        wait_for("a compacted leader", lambda: len(read_all(leader.bootstrap, t)) < 150, 20)
    finally:
        os.kill(follower.proc.pid, signal.SIGCONT)
    wait_for("the follower back in the ISR",
             lambda: (lambda v: v if v and fid in v[0][2] else None)(same_everywhere(brokers, t, 1)), 20)
    wait_for("the follower's log end at the leader's",
             lambda: kwire.Conn(leader.bootstrap).list_offsets(t, 0, kwire.LATEST)["offset"] ==
             follower_end(follower, t), 15)
    assert "does not start at our end" not in follower.log_text()
    assert "starts before our end" not in follower.log_text()


def follower_end(broker, t):
    """The follower's log end, from its segment files (it answers no
    ListOffsets as a follower): one past the last batch."""
    blob = b"".join((broker.segment_dir(t) / f).read_bytes() for f in segment_files(broker, t))
    batches = kwire.decode_batches(blob)
    return batches[-1]["base_offset"] + batches[-1]["last_offset_delta"] + 1 if batches else 0


def test_compacted_topic_refuses_records_without_a_key(broker_factory):
    """Kafka's LogValidator: a record without a key in a compacted topic is
    INVALID_RECORD, and nothing of the batch is appended."""
    b = broker_factory(overrides=FAST_CLEANER)
    t = unique_topic("compact-nokey")
    create_topic(b.bootstrap, t, config=COMPACT)
    with kwire.Conn(b.bootstrap) as c:
        r = c.produce(t, 0, kwire.record_batch([(b"k", b"v", []), (None, b"orphan", [])]))
        assert r["error_code"] == 87, r  # INVALID_RECORD
        assert c.list_offsets(t, 0, kwire.LATEST)["offset"] == 0
        assert produce_kv(c, t, b"k", b"v") == 0
