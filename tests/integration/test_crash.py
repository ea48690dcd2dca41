"""Crashes: kill -9 under load, and torn or garbage tails in the active segment.

An acknowledged record must survive a process crash (the page cache keeps
it); recovery truncates the log at the first invalid batch, so a torn write
loses only what was never acknowledged.
"""

import os
import random
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

import kwire
from helpers import create_topic, unique_topic


def read_all(bootstrap, topic, expect_at_least, timeout=60.0):
    """{offset: value} of partition 0, read with a confluent-kafka consumer."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "crash-check",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
    })
    got = {}
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.time() + timeout
        eof = False
        while time.time() < deadline and not (eof and len(got) >= expect_at_least):
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    eof = True
                    continue
                raise AssertionError("consume error: %s" % m.error())
            eof = False
            got[m.offset()] = m.value()
    finally:
        c.close()
    return got


def test_kill9_during_produce_keeps_acknowledged_records(broker):
    t = unique_topic("crash")
    create_topic(broker.bootstrap, t)
    acked = {}
    failed = []
    p = Producer({
        "bootstrap.servers": broker.bootstrap,
        "acks": "all",
        "linger.ms": 2,
        "message.timeout.ms": 8000,
        "retries": 0,
    })

    def on_delivery(err, msg):
        if err is None:
            acked[msg.offset()] = msg.value()
        else:
            failed.append(err)

    stop = threading.Event()
    sent = [0]

    def produce_loop():
        i = 0
        while not stop.is_set():
            try:
                p.produce(t, value=b"rec-%08d-" % i + os.urandom(24), key=b"%d" % i, on_delivery=on_delivery)
                i += 1
            except BufferError:
                p.poll(0.05)
                continue
            if i % 100 == 0:
                p.poll(0)
        sent[0] = i

    th = threading.Thread(target=produce_loop)
    th.start()
    deadline = time.time() + 20
    while len(acked) < 20000 and time.time() < deadline:
        time.sleep(0.05)
    broker.kill9()  # mid-stream: requests are in flight
    stop.set()
    th.join()
    # What was in flight at the kill was never acknowledged: drop it.
    p.purge()
    p.flush(5)
    assert len(acked) > 1000, "too few records acknowledged before the kill (%d); log:\n%s" % (
        len(acked), broker.log_text()[-3000:])

    broker.restart()
    got = read_all(broker.bootstrap, t, expect_at_least=len(acked))
    missing = [o for o in sorted(acked) if got.get(o) != acked[o]]
    assert not missing, "%d of %d acknowledged records lost or changed after kill -9, first offsets %r" % (
        len(missing), len(acked), missing[:10])
    # Offsets are dense from 0: recovery kept a prefix, no holes.
    assert sorted(got) == list(range(len(got)))


def _produce_batches(bootstrap, topic, n_batches, per_batch):
    with kwire.Conn(bootstrap) as c:
        for b in range(n_batches):
            recs = [(b"k%d-%d" % (b, i), b"v%d-%d-" % (b, i) + b"x" * 50, [("h", b"%d" % i)])
                    for i in range(per_batch)]
            r = c.produce(topic, 0, kwire.record_batch(recs))
            assert r["error_code"] == 0 and r["base_offset"] == b * per_batch, r


def _active_segment(broker, topic):
    d = broker.segment_dir(topic)
    logs = sorted(f for f in os.listdir(d) if f.endswith(".log"))
    assert logs, "no .log file in %s" % d
    return d / logs[-1]


def _fetch_all(bootstrap, topic, start=0):
    out = []
    with kwire.Conn(bootstrap) as c:
        offset = start
        while True:
            r = c.fetch(topic, 0, offset, max_wait_ms=100, min_bytes=1)
            assert r["error_code"] == 0, r
            recs = [rec for b in kwire.decode_batches(r["records"]) for rec in b["records"] if rec[0] >= offset]
            if not recs:
                return out, r["high_watermark"]
            out += recs
            offset = recs[-1][0] + 1


def _leo(bootstrap, topic):
    with kwire.Conn(bootstrap) as c:
        r = c.list_offsets(topic, 0, kwire.LATEST)
    assert r["error_code"] == 0, r
    return r["offset"]


def test_torn_tail_is_truncated_on_restart(broker):
    t = unique_topic("torn")
    create_topic(broker.bootstrap, t)
    per = 10
    _produce_batches(broker.bootstrap, t, 20, per)
    # A crash, not a clean stop: recovery must scan the tail.
    broker.kill9()
    seg = _active_segment(broker, t)
    data = seg.read_bytes()
    batches = kwire.decode_batches(data)
    assert len(batches) >= 1
    last = batches[-1]
    # Walk the file to find where the last batch starts.
    pos = 0
    starts = []
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos + 8 : pos + 12], "big", signed=True)
        starts.append(pos)
        pos += 12 + length
    last_start = starts[-1]
    last_len = len(data) - last_start
    with open(seg, "r+b") as f:
        f.truncate(last_start + last_len // 2)
    expected_leo = last["base_offset"]

    broker.restart()
    assert _leo(broker.bootstrap, t) == expected_leo
    recs, hw = _fetch_all(broker.bootstrap, t)
    assert hw == expected_leo
    assert [r[0] for r in recs] == list(range(expected_leo))
    assert recs[0][1] == b"k0-0" and recs[-1][2].startswith(b"v%d-%d-" % ((expected_leo - 1) // per, per - 1))
    # Producing continues at the new log end.
    with kwire.Conn(broker.bootstrap) as c:
        r = c.produce(t, 0, kwire.record_batch([(b"after", b"crash", [])]))
    assert r["error_code"] == 0 and r["base_offset"] == expected_leo, r
    recs, hw = _fetch_all(broker.bootstrap, t)
    assert hw == expected_leo + 1 and recs[-1][1:3] == (b"after", b"crash")


def test_garbage_tail_is_truncated_on_restart(broker):
    t = unique_topic("garbage")
    create_topic(broker.bootstrap, t)
    per = 10
    n = 20
    _produce_batches(broker.bootstrap, t, n, per)
    broker.kill9()
    seg = _active_segment(broker, t)
    rng = random.Random(99)
    with open(seg, "ab") as f:
        f.write(bytes(rng.getrandbits(8) for _ in range(777)))

    broker.restart()
    assert _leo(broker.bootstrap, t) == n * per
    recs, hw = _fetch_all(broker.bootstrap, t)
    assert [r[0] for r in recs] == list(range(n * per))
    with kwire.Conn(broker.bootstrap) as c:
        r = c.produce(t, 0, kwire.record_batch([(b"after", b"garbage", [])]))
    assert r["error_code"] == 0 and r["base_offset"] == n * per, r
    recs, _ = _fetch_all(broker.bootstrap, t, start=n * per)
    assert [(o, k, v) for o, k, v, _ in recs] == [(n * per, b"after", b"garbage")]


def test_clean_restart_keeps_everything(broker):
    t = unique_topic("clean")
    create_topic(broker.bootstrap, t)
    _produce_batches(broker.bootstrap, t, 5, 10)
    assert broker.stop() == 0, "SIGTERM did not exit 0"
    broker.start()
    assert _leo(broker.bootstrap, t) == 50
    recs, _ = _fetch_all(broker.bootstrap, t)
    assert [r[0] for r in recs] == list(range(50))
