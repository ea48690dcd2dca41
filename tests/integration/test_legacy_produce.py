"""Produce v0-v2: legacy message sets (magic 0 and 1) from real clients,
up-converted by the broker into record batches v2 that keep the producer's
codec.

Why it matters beyond old clients: librdkafka up to 2.11 (Debian ships 2.0.2)
uses gzip, snappy and lz4 only when the broker advertises Produce v0, and
otherwise sends those batches uncompressed without a word. So the checks here
read the stored batches from the partition's segment files and assert each
one carries the codec the client was asked for.

Consumers read back with a modern API (record batches v2).
"""

import struct
import time

import pytest

import kwire
from helpers import create_topic, unique_topic

N = 2000
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BASE_TS = 1700000000000


def make_records(n, seed):
    """[(key, value)] with compressible values of a few sizes, one null key."""
    out = []
    for i in range(n):
        size = (0, 1, 10, 100, 400)[(i * 7 + seed) % 5]
        value = (b"%05d-" % i + b"abcdefgh" * 60)[:size]
        out.append((None if i == 3 else b"key-%05d" % i, value))
    return out


def stored_batches(broker, topic, partition=0):
    """[(base_offset, magic, attributes, records_count)] of every batch in the
    partition's segment files, read straight from disk."""
    out = []
    for path in sorted(broker.segment_dir(topic, partition).glob("*.log")):
        data = path.read_bytes()
        pos = 0
        while len(data) - pos >= 61:
            base_offset, length = struct.unpack_from(">qi", data, pos)
            if length <= 0 or len(data) - pos - 12 < length:
                break
            magic = data[pos + 16]
            attributes, = struct.unpack_from(">h", data, pos + 21)
            count, = struct.unpack_from(">i", data, pos + 57)
            out.append((base_offset, magic, attributes, count))
            pos += 12 + length
    return out


def assert_stored_codec(broker, topic, codec, n):
    """Every stored batch is v2 with the codec asked for. librdkafka sends a
    batch uncompressed when compressing would make it larger, which only
    happens to a batch of a record or two: those may be uncompressed, as
    long as nearly all records are stored compressed."""
    batches = stored_batches(broker, topic)
    assert batches, "no batch stored for %s" % topic
    assert sum(b[3] for b in batches) == n, batches[:5]
    with_codec = 0
    for base, magic, attributes, count in batches:
        assert magic == 2, (base, magic)
        if attributes & 7 == CODEC_IDS[codec]:
            with_codec += count
            continue
        assert attributes & 7 == 0 and count <= 2, (
            "batch at offset %d (%d records) stored with codec %d, client asked for %s"
            % (base, count, attributes & 7, codec))
    assert with_codec >= n * 0.99, "only %d of %d records stored with %s: %r" % (with_codec, n, codec, batches)


def consume(bootstrap, topic, n, timeout=60):
    """[(offset, timestamp, key, value)] read with confluent-kafka (modern Fetch)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g-" + topic, "enable.auto.commit": False})
    got = []
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.time() + timeout
        while len(got) < n and time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            assert not m.error(), m.error()
            got.append((m.offset(), m.timestamp()[1], m.key(), m.value()))
    finally:
        c.close()
    return got


def assert_same(sent, got):
    assert len(got) == len(sent), "got %d records, sent %d" % (len(got), len(sent))
    assert [g[0] for g in got] == list(range(len(sent)))
    for i, ((k, v), g) in enumerate(zip(sent, got)):
        if (k, v) != (g[2], g[3]):
            raise AssertionError("record %d differs:\n sent %r\n  got %r" % (i, (k, v), g[2:]))


# --- kafka-python with old protocol versions ------------------------------------


def _xxh32(data, seed=0):
    """XXH32, for kafka-python's magic 0 LZ4 framing when the xxhash module
    is not installed (kafka-python only needs xxh32(...).digest())."""
    p1, p2, p3, p4, p5 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1
    m = 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & m

    n = len(data)
    i = 0
    if n >= 16:
        v = [(seed + p1 + p2) & m, (seed + p2) & m, seed & m, (seed - p1) & m]
        while n - i >= 16:
            for j in range(4):
                lane = struct.unpack_from("<I", data, i + 4 * j)[0]
                v[j] = (rotl((v[j] + lane * p2) & m, 13) * p1) & m
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & m
    else:
        h = (seed + p5) & m
    h = (h + n) & m
    while n - i >= 4:
        h = (rotl((h + struct.unpack_from("<I", data, i)[0] * p3) & m, 17) * p4) & m
        i += 4
    while i < n:
        h = (rotl((h + data[i] * p5) & m, 11) * p1) & m
        i += 1
    h ^= h >> 15
    h = (h * p2) & m
    h ^= h >> 13
    h = (h * p3) & m
    h ^= h >> 16
    return h


class _Xxh32Digest:
    def __init__(self, data):
        self.value = _xxh32(bytes(data))

    def digest(self):
        return struct.pack(">I", self.value)


def test_xxh32_shim_matches_known_vectors():
    assert _xxh32(b"") == 0x02CC5D05
    assert _xxh32(b"abc") == 0x32D153FF
    assert _xxh32(b"Nobody inspects the spammish repetition") == 0xE2293B2F


# (api_version, Produce version kafka-python sends, magic)
KP_VERSIONS = [((0, 10, 0), 2, 1), ((0, 9), 1, 0), ((0, 8, 2), 0, 0)]


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
@pytest.mark.parametrize("api_version,produce_version,magic", KP_VERSIONS,
                         ids=["v2-magic1", "v1-magic0", "v0-magic0"])
def test_kafka_python_legacy(broker, monkeypatch, api_version, produce_version, magic, codec):
    import kafka.codec
    from kafka import KafkaProducer

    if codec == "lz4" and magic == 0 and kafka.codec.xxhash is None:
        monkeypatch.setattr(kafka.codec, "xxhash", type("xxhash", (), {"xxh32": _Xxh32Digest}))

    t = unique_topic("kpl-%d-%s" % (produce_version, codec))
    create_topic(broker.bootstrap, t)
    sent = make_records(N, seed=produce_version)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api_version, acks="all", linger_ms=20,
                      compression_type=None if codec == "none" else codec)
    futures = [p.send(t, key=k, value=v, partition=0, timestamp_ms=BASE_TS + i) for i, (k, v) in enumerate(sent)]
    p.flush(60)
    offsets = [f.get(timeout=10).offset for f in futures]
    p.close(10)
    assert offsets == list(range(N))

    got = consume(broker.bootstrap, t, N)
    assert_same(sent, got)
    # Magic 1 carries the producer's timestamps; magic 0 has none (-1).
    want_ts = [BASE_TS + i if magic == 1 else -1 for i in range(N)]
    assert [g[1] for g in got] == want_ts
    assert_stored_codec(broker, t, codec, N)


# --- librdkafka: compression needs Produce v0 advertised ---------------------------


def test_produce_v0_is_advertised(broker):
    with kwire.Conn(broker.bootstrap) as c:
        keys = c.api_versions(3)["api_keys"]
    assert keys[kwire.PRODUCE][0] == 0, keys[kwire.PRODUCE]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_confluent_kafka_batches_are_stored_compressed(broker, codec):
    from confluent_kafka import Producer

    t = unique_topic("ckc-" + codec)
    create_topic(broker.bootstrap, t)
    sent = make_records(N, seed=7)
    errors = []
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "acks": "all",
                  "linger.ms": 200})
    for k, v in sent:
        p.produce(t, key=k, value=v, partition=0, on_delivery=lambda err, msg: err and errors.append(err))
        p.poll(0)
    assert p.flush(60) == 0
    assert not errors, errors[:5]
    assert_same(sent, consume(broker.bootstrap, t, N))
    assert_stored_codec(broker, t, codec, N)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_kcat_batches_are_stored_compressed(broker, codec):
    import subprocess

    t = unique_topic("kcc-" + codec)
    create_topic(broker.bootstrap, t)
    sent = [(b"key-%05d" % i, b"value-%05d-" % i + b"xyz" * (i % 50)) for i in range(N)]
    data = b"".join(k + b"\t" + v + b"\n" for k, v in sent)
    proc = subprocess.run(["kcat", "-P", "-b", broker.bootstrap, "-t", t, "-p", "0", "-K", "\t",
                           "-X", "compression.codec=" + codec, "-X", "request.required.acks=-1",
                           "-X", "linger.ms=200"],
                          input=data, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert_same(sent, consume(broker.bootstrap, t, N))
    assert_stored_codec(broker, t, codec, N)


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
@pytest.mark.parametrize("fallback,magic", [("0.10.0", 1), ("0.9.0", 0)], ids=["magic1", "magic0"])
def test_librdkafka_legacy_message_sets(broker, fallback, magic, codec):
    """librdkafka without ApiVersions writes magic 1 (0.10.0: Produce v2) or
    magic 0 (0.9.0: Produce v1, LZ4 with the pre-KIP-57 header checksum)."""
    from confluent_kafka import Producer

    t = unique_topic("rdl-%d-%s" % (magic, codec))
    create_topic(broker.bootstrap, t)
    sent = make_records(N, seed=11)
    errors = []
    p = Producer({"bootstrap.servers": broker.bootstrap, "api.version.request": False,
                  "broker.version.fallback": fallback, "compression.type": codec, "acks": "all",
                  "linger.ms": 200})
    for i, (k, v) in enumerate(sent):
        p.produce(t, key=k, value=v, partition=0, timestamp=BASE_TS + i,
                  on_delivery=lambda err, msg: err and errors.append(err))
        p.poll(0)
    assert p.flush(60) == 0
    assert not errors, errors[:5]
    got = consume(broker.bootstrap, t, N)
    assert_same(sent, got)
    assert [g[1] for g in got] == [BASE_TS + i if magic == 1 else -1 for i in range(N)]
    assert_stored_codec(broker, t, codec, N)


# --- hand-made requests -------------------------------------------------------------


def legacy_message(offset, magic, attributes, key, value, timestamp=BASE_TS):
    import zlib

    body = kwire.i8(magic) + kwire.i8(attributes)
    if magic == 1:
        body += kwire.i64(timestamp)
    body += kwire.nbytes(key) + kwire.nbytes(value)
    msg = kwire.u32(zlib.crc32(body)) + body
    return kwire.i64(offset) + kwire.i32(len(msg)) + msg


def produce_legacy(conn, version, topic, records, acks=-1):
    """Produce v0-v2 request; returns the partition's (error_code, base_offset)."""
    body = (kwire.i16(acks) + kwire.i32(5000) + kwire.i32(1) + kwire.string(topic) + kwire.i32(1)
            + kwire.i32(0) + kwire.nbytes(records))
    r = kwire.Reader(conn.request(kwire.PRODUCE, version, body))
    assert r.i32() == 1 and r.string() == topic and r.i32() == 1
    assert r.i32() == 0
    err, base = r.i16(), r.i64()
    if version >= 2:
        r.i64()  # log_append_time_ms
    if version >= 1:
        r.i32()  # throttle_time_ms
    assert r.left() == 0, "response v%d has %d bytes too many" % (version, r.left())
    return err, base


def test_hand_made_legacy_sets(broker):
    t = unique_topic("hand")
    create_topic(broker.bootstrap, t)
    good0 = legacy_message(0, 0, 0, b"k", b"v") + legacy_message(1, 0, 0, None, b"w")
    good1 = legacy_message(0, 1, 0, b"k", b"v")
    bad_crc = bytearray(good1)
    bad_crc[-1] ^= 1
    mixed = legacy_message(0, 0, 0, b"a", b"1") + legacy_message(1, 1, 0, b"b", b"2")
    with kwire.Conn(broker.bootstrap) as c:
        assert produce_legacy(c, 0, t, good0) == (kwire.NONE, 0)
        assert produce_legacy(c, 1, t, good1) == (kwire.NONE, 2)
        assert produce_legacy(c, 2, t, bytes(bad_crc))[0] == kwire.CORRUPT_MESSAGE
        assert produce_legacy(c, 2, t, mixed)[0] == kwire.INVALID_RECORD
        assert produce_legacy(c, 1, t, good0[:-3])[0] == kwire.CORRUPT_MESSAGE
        # A record batch v2 in Produce v2 is taken as is, as Kafka does.
        batch = kwire.record_batch([(b"k2", b"v2", [])])
        assert produce_legacy(c, 2, t, batch) == (kwire.NONE, 3)
        # Legacy sets in Produce v3+ are still refused.
        assert c.produce(t, 0, good1, version=3)["error_code"] == kwire.UNSUPPORTED_FOR_MESSAGE_FORMAT
    got = consume(broker.bootstrap, t, 4)
    assert [(g[2], g[3]) for g in got] == [(b"k", b"v"), (None, b"w"), (b"k", b"v"), (b"k2", b"v2")]
    assert [g[1] for g in got][:3] == [-1, -1, BASE_TS]
