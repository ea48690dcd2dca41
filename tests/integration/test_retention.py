"""Size-based retention deletes whole old segments and moves the log start."""

import os
import time

import kwire
from helpers import create_topic, unique_topic

SEGMENT_BYTES = 16384
RETENTION_BYTES = 32768


def test_retention_bytes_deletes_old_segments(broker_factory):
    b = broker_factory(overrides={"log.retention.check.interval.ms": "500"})
    t = unique_topic("ret")
    create_topic(b.bootstrap, t, config={
        "segment.bytes": str(SEGMENT_BYTES),
        "retention.bytes": str(RETENTION_BYTES),
    })
    # ~200 KiB in 1 KiB batches: a dozen segments.
    with kwire.Conn(b.bootstrap) as c:
        for i in range(200):
            r = c.produce(t, 0, kwire.record_batch([(b"k%d" % i, b"%06d" % i + b"r" * 1000, [])]))
            assert r["error_code"] == 0, r
    d = b.segment_dir(t)
    first = "%020d.log" % 0

    # A retention pass may run while the batches are still arriving: wait
    # for the pass after the last one.
    deadline = time.time() + 15
    earliest = 0
    logs = []
    total = 0
    while time.time() < deadline:
        with kwire.Conn(b.bootstrap) as c:
            earliest = c.list_offsets(t, 0, kwire.EARLIEST)["offset"]
        logs = sorted(f for f in os.listdir(d) if f.endswith(".log"))
        total = sum(os.path.getsize(d / f) for f in logs if os.path.exists(d / f))
        if earliest > 0 and first not in logs and total <= RETENTION_BYTES + 2 * SEGMENT_BYTES:
            break
        time.sleep(0.25)
    assert earliest > 0, "log start offset never moved; segments: %r" % logs
    assert first not in logs, "oldest segment still there: %r" % logs
    # What is left is about retention.bytes plus the active segment.
    assert total <= RETENTION_BYTES + 2 * SEGMENT_BYTES, "kept %d bytes in %r" % (total, logs)
    # Segment names are their base offsets; the earliest is the first kept.
    assert int(logs[0][:-4]) == earliest
    # Index files of deleted segments are gone too.
    assert not [f for f in os.listdir(d) if f.startswith("%020d." % 0)]

    with kwire.Conn(b.bootstrap) as c:
        assert c.list_offsets(t, 0, kwire.LATEST)["offset"] == 200
        # Reading from the new start works; below it is OFFSET_OUT_OF_RANGE (1).
        r = c.fetch(t, 0, earliest, max_wait_ms=100)
        assert r["error_code"] == 0
        recs = [rec for bt in kwire.decode_batches(r["records"]) for rec in bt["records"]]
        assert recs and recs[0][0] == earliest
        assert recs[0][2].startswith(b"%06d" % earliest)
        r = c.fetch(t, 0, 0, max_wait_ms=100)
        assert r["error_code"] == 1, r
