"""Acceptance: unmodified Kafka clients against one Tern broker.

With each of kcat, confluent-kafka-python, kafka-python and kafkajs, under
every codec the client has: create a topic (the client's admin API where it
has one), produce N records with keys and headers, read them back
byte-identical and in order, list the earliest/latest offsets, delete the
topic.
"""

import json
import random
import re
import subprocess
import time

import pytest

import kwire
from helpers import REPO, run_cli, unique_topic

N = 10000
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def make_records(n, seed, printable=False):
    """[(key, value, headers)] with varied, partly compressible values."""
    rng = random.Random(seed)
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    out = []
    for i in range(n):
        size = rng.choice([0, 1, 10, 50, 100, 300, 1000])
        if printable:
            value = bytes(rng.choice(alphabet) for _ in range(size // 2)) + b"z" * (size - size // 2)
            headers = []
        else:
            value = rng.randbytes(size // 2) + bytes([i % 256]) * (size - size // 2)
            headers = [("idx", b"%d" % i), ("bin", rng.randbytes(4) + b"\x00\xff")]
        out.append((b"key-%05d" % i, value, headers))
    return out


def assert_same(sent, got):
    """sent/got: [(key, value, headers)]; reports the first difference only."""
    assert len(got) == len(sent), "got %d records, sent %d" % (len(got), len(sent))
    for i, (s, g) in enumerate(zip(sent, got)):
        if s != g:
            raise AssertionError("record %d differs:\n sent %r\n  got %r" % (i, s, g))


def wait_topic_gone(bootstrap, topic, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with kwire.Conn(bootstrap) as c:
            md = c.metadata([topic], allow_auto_create=False)
        if md["topics"][0]["error_code"] == kwire.UNKNOWN_TOPIC_OR_PARTITION:
            return
        time.sleep(0.2)
    raise AssertionError("topic %s still listed after delete" % topic)


# --- confluent-kafka-python (librdkafka) ------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_kafka(broker, codec):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    t = unique_topic("ck-" + codec)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1)])[t].result(15)
    kwire.wait_for_topic(broker.bootstrap, t)

    sent = make_records(N, seed=1)
    errors = []
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "acks": "all",
                  "linger.ms": 5})
    for k, v, h in sent:
        while True:
            try:
                p.produce(t, value=v, key=k, headers=h, partition=0,
                          on_delivery=lambda err, msg: err and errors.append(err))
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(60) == 0, "records still queued after 60 s"
    assert not errors, "delivery errors: %r" % errors[:5]

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "g-" + t, "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
        got = []
        offsets = []
        deadline = time.time() + 60
        while len(got) < N and time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            assert not m.error(), m.error()
            offsets.append(m.offset())
            got.append((m.key(), m.value(), list(m.headers() or [])))
        assert_same(sent, got)
        assert offsets == list(range(N))
        lo, hi = c.get_watermark_offsets(TopicPartition(t, 0), timeout=10)
        assert (lo, hi) == (0, N)
    finally:
        c.close()

    admin.delete_topics([t], operation_timeout=10)[t].result(15)
    wait_topic_gone(broker.bootstrap, t)


# --- kafka-python ----------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python(broker, codec):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.codec import has_lz4, has_snappy, has_zstd

    have = {"none": True, "gzip": True, "snappy": has_snappy(), "lz4": has_lz4(), "zstd": has_zstd()}
    if not have[codec]:
        pytest.fail("kafka-python cannot use %s: its Python module is missing (see deploy/deps.sh)" % codec)

    t = unique_topic("kp-" + codec)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="tern-it")
    try:
        admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1)], timeout_ms=15000)
        kwire.wait_for_topic(broker.bootstrap, t)

        sent = make_records(N, seed=2)
        p = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5,
                          compression_type=None if codec == "none" else codec)
        futures = [p.send(t, key=k, value=v, headers=h, partition=0) for k, v, h in sent]
        p.flush(60)
        offsets = [f.get(timeout=10).offset for f in futures]
        p.close(10)
        assert offsets == list(range(N))

        tp = TopicPartition(t, 0)
        c = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, group_id=None)
        try:
            c.assign([tp])
            c.seek_to_beginning(tp)
            got = []
            deadline = time.time() + 60
            while len(got) < N and time.time() < deadline:
                for recs in c.poll(timeout_ms=1000).values():
                    got += [(r.key, r.value, list(r.headers)) for r in recs]
            assert_same(sent, got)
            assert c.beginning_offsets([tp])[tp] == 0
            assert c.end_offsets([tp])[tp] == N
        finally:
            c.close()

        admin.delete_topics([t], timeout_ms=15000)
        wait_topic_gone(broker.bootstrap, t)
    finally:
        admin.close()


# --- kcat --------------------------------------------------------------------------------


def _kcat(args, input=None, timeout=120):
    p = subprocess.run(["kcat"] + args, input=input, capture_output=True, timeout=timeout)
    assert p.returncode == 0, "kcat %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr.decode()[-2000:])
    return p.stdout


@pytest.mark.parametrize("codec", CODECS)
def test_kcat(broker, codec):
    t = unique_topic("kcat-" + codec)
    run_cli(["topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", t,
             "--partitions", "1", "--replication-factor", "1"])
    kwire.wait_for_topic(broker.bootstrap, t)

    # kcat reads one record per line, key before a TAB; one header for all.
    sent = [(k, v, [("src", b"kcat")]) for k, v, _ in make_records(N, seed=3, printable=True)]
    data = b"".join(k + b"\t" + v + b"\n" for k, v, _ in sent)
    _kcat(["-P", "-b", broker.bootstrap, "-t", t, "-p", "0", "-K", "\t", "-H", "src=kcat",
           "-X", "compression.codec=" + codec, "-X", "request.required.acks=-1"], input=data)

    out = _kcat(["-C", "-b", broker.bootstrap, "-t", t, "-p", "0", "-o", "beginning", "-e", "-q",
                 "-f", "%o\t%k\t%s\t%h\n"])
    got = []
    offsets = []
    for line in out.split(b"\n")[:-1]:
        o, k, v, h = line.split(b"\t")
        offsets.append(int(o))
        hk, hv = h.split(b"=", 1)
        got.append((k, v, [(hk.decode(), hv)]))
    assert_same(sent, got)
    assert offsets == list(range(N))

    for ts, want in (("-2", 0), ("-1", N)):
        q = _kcat(["-Q", "-b", broker.bootstrap, "-t", "%s:0:%s" % (t, ts)]).decode()
        m = re.search(r"offset (-?\d+)", q)
        assert m and int(m.group(1)) == want, "kcat -Q %s: %r" % (ts, q)

    run_cli(["topics", "--bootstrap-server", broker.bootstrap, "--delete", "--topic", t])
    wait_topic_gone(broker.bootstrap, t)


# --- kafkajs -----------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["none", "gzip"])
def test_kafkajs(broker, codec):
    script = REPO / "tests" / "integration" / "js" / "roundtrip.js"
    if not (REPO / "tests" / "node_modules" / "kafkajs").exists():
        pytest.fail("kafkajs not installed: run deploy/deps.sh (npm ci in tests/)", pytrace=False)
    t = unique_topic("kjs-" + codec)
    p = subprocess.run(["node", str(script), broker.bootstrap, t, codec, str(N)],
                       capture_output=True, text=True, timeout=240)
    results = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    assert results, "no result line; stdout:\n%s\nstderr:\n%s" % (p.stdout[-3000:], p.stderr[-3000:])
    result = json.loads(results[-1][len("RESULT "):])
    assert p.returncode == 0, "kafkajs round trip failed: %r\nlog:\n%s" % (result, (p.stdout + p.stderr)[-3000:])
    assert result["consumed"] == N and result["latest"] == N and result["earliest"] == 0
