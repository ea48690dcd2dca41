"""Acceptance: claim-check on the leader's produce path.

A topic with claimcheck.enable=true stores every value of at least
claimcheck.threshold.bytes in an object store (fs: a directory, s3: s3rver,
plugin: the example plug-in built at build/plugins/) and keeps in the log an
empty value plus three headers (claimcheck.key, claimcheck.length,
claimcheck.sha256) appended after the record's own. Consumers get the bytes
they produced; claimcheck.fetch.mode=reference shows the stored form.

Checked here with unmodified clients (kcat, confluent-kafka) and with kwire
where an exact error code matters: 40 MiB values end to end on every
backend, small values and mixed batches under every codec, a store that is
down (KAFKA_STORAGE_ERROR, nothing appended, a retry succeeds), a corrupted
object (an error, never wrong bytes), object deletion by retention and by
topic deletion, references kept over SIGTERM and kill -9 restarts, S3
secrets kept out of the broker's log, and deploy/claimcheck-demo.sh.
"""

import hashlib
import os
import random
import subprocess
import time
from pathlib import Path

import pytest

import kwire
from helpers import BUILD_DIR, REPO, create_topic, unique_topic

MiB = 1 << 20
BIG = 40 * MiB
KAFKA_STORAGE_ERROR = 56
INCREMENTAL_ALTER_CONFIGS = 44
RESOURCE_TOPIC = 2
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
REF_HEADERS = ("claimcheck.key", "claimcheck.length", "claimcheck.sha256")
PLUGIN_SO = BUILD_DIR / "plugins" / "libtern-claimcheck-example.so"
S3_ACCESS = "S3RVER"  # s3rver's built-in account
S3_SECRET = "S3RVER"

# librdkafka limits for 40 MiB records (its defaults stop at 1 MB).
PRODUCER_BIG = {"message.max.bytes": "50000000"}
CONSUMER_BIG = {
    "fetch.message.max.bytes": "50000000",
    "fetch.max.bytes": "60000000",
    "receive.message.max.bytes": "100000000",
}
# Broker overrides so a 40 MiB produce request is read at all.
BROKER_BIG = {"socket.request.max.bytes": "104857600"}


def sha256hex(b):
    return hashlib.sha256(b).hexdigest()


def object_key(topic, partition, value):
    return "%s/%d/%s" % (topic, partition, sha256hex(value))


# --- object stores seen from the test ------------------------------------------------


class DirStore:
    """The fs backend's directory (one file per object: <dir>/<key>), or the
    example plug-in's (<config dir>/objects/<key>.blob). Files being written
    (".claimcheck-tmp.*", "*.tmp.*") are not objects."""

    def __init__(self, kind, root):
        self.kind = kind
        self.root = Path(root) if root is not None else None  # what the broker is given
        self.suffix = ".blob" if kind == "plugin" else ""

    @property
    def objects(self):
        return self.root / "objects" if self.kind == "plugin" else self.root

    def broker_props(self):
        if self.kind == "fs-default":
            return {}  # backend fs and <first log.dir>/claimcheck are the defaults
        if self.kind == "fs":
            return {"claimcheck.backend": "fs", "claimcheck.fs.dir": str(self.root)}
        if not PLUGIN_SO.exists():
            pytest.fail("example plug-in not built (expected at %s)" % PLUGIN_SO, pytrace=False)
        return {
            "claimcheck.backend": "plugin",
            "claimcheck.plugin.path": str(PLUGIN_SO),
            "claimcheck.plugin.config": str(self.root),
        }

    def bind(self, broker):
        if self.root is None:
            self.root = broker.data_dir / "claimcheck"

    def keys(self, prefix=""):
        out = []
        if self.root is None or not self.objects.exists():
            return out
        for dirpath, _dirs, files in os.walk(self.objects):
            for f in files:
                if f.startswith(".") or ".tmp" in f or not f.endswith(self.suffix):
                    continue  # an object being written
                rel = os.path.relpath(os.path.join(dirpath, f), self.objects).replace(os.sep, "/")
                rel = rel[: len(rel) - len(self.suffix)]
                if rel.startswith(prefix):
                    out.append(rel)
        return sorted(out)

    def corrupt(self, key, how="flip"):
        """flip: one byte in the middle inverted (same length, another
        SHA-256); truncate: the last byte dropped (another length)."""
        path = self.objects / (key + self.suffix)
        if how == "truncate":
            os.truncate(path, os.path.getsize(path) - 1)
            return
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0xFF]))

    def stop(self):
        pass


class S3Store:
    """A bucket of s3rver (tests/integration/s3rver.py)."""

    kind = "s3"

    def __init__(self, workdir):
        from s3rver import S3rver

        self.bucket = "tern-claimcheck"
        self.server = S3rver(Path(workdir), buckets=[self.bucket])
        self.server.start()

    @property
    def endpoint(self):
        return self.server.endpoint

    def broker_props(self, secret=S3_SECRET):
        return {
            "claimcheck.backend": "s3",
            "claimcheck.s3.endpoint": self.endpoint,
            "claimcheck.s3.bucket": self.bucket,
            "claimcheck.s3.access.key": S3_ACCESS,
            "claimcheck.s3.secret.key": secret,
            "claimcheck.s3.protocol": "http",
            "claimcheck.s3.uri.style": "path",
        }

    def bind(self, broker):
        pass

    def keys(self, prefix=""):
        return sorted(k for k in self.server.list_keys(self.bucket) if k.startswith(prefix))

    def corrupt(self, key, how="flip"):
        self.server.corrupt(self.bucket, key, how=how)

    def stop(self):
        self.server.stop()


@pytest.fixture
def stores(tmp_path):
    """make(kind) -> a store (fs, fs-default, plugin, s3); every s3rver is
    stopped at teardown, failed test or not."""
    made = []

    def make(kind):
        if kind == "s3":
            s = S3Store(tmp_path / ("s3rver%d" % len(made)))
        elif kind == "fs-default":
            s = DirStore(kind, None)
        else:
            s = DirStore(kind, tmp_path / ("%s-objects%d" % (kind, len(made))))
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def cc_broker(broker_factory, store, props=None, overrides=None):
    """A broker whose claim-check backend is `store`. The backend settings
    (S3 secret included) go to server.properties, never to the command line
    the test harness writes into the broker's log."""
    p = dict(store.broker_props())
    p.update(props or {})
    o = dict(BROKER_BIG)
    o.update(overrides or {})
    b = broker_factory(props=p, overrides=o)
    store.bind(b)
    return b


def cc_topic(bootstrap, prefix="cc", **config):
    t = unique_topic(prefix)
    cfg = {"claimcheck.enable": "true"}
    cfg.update({k.replace("_", "."): str(v) for k, v in config.items()})
    create_topic(bootstrap, t, config=cfg)
    return t


def wait_until(cond, timeout, what, interval=0.25):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


# --- protocol helpers kwire does not have -----------------------------------------------


def alter_topic_config(bootstrap, topic, configs):
    """IncrementalAlterConfigs v0 (SET) on one topic; asserts no error."""
    entries = [kwire.string(k) + kwire.i8(0) + kwire.string(v) for k, v in configs.items()]
    resource = kwire.i8(RESOURCE_TOPIC) + kwire.string(topic) + kwire.array(entries)
    body = kwire.array([resource]) + kwire.boolean(False)
    with kwire.Conn(bootstrap) as c:
        r = kwire.Reader(c.request(INCREMENTAL_ALTER_CONFIGS, 0, body))
    r.i32()  # throttle
    res = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.string()))
    assert res and res[0][0] == 0, "IncrementalAlterConfigs %r: %r" % (configs, res)


def latest(bootstrap, topic):
    with kwire.Conn(bootstrap) as c:
        r = c.list_offsets(topic, 0, kwire.LATEST)
    assert r["error_code"] == 0, r
    return r["offset"]


def earliest(bootstrap, topic):
    with kwire.Conn(bootstrap) as c:
        r = c.list_offsets(topic, 0, kwire.EARLIEST)
    assert r["error_code"] == 0, r
    return r["offset"]


def fetch_stored(bootstrap, topic, offset=0):
    """The records of partition 0 from offset, as the broker answers an
    uncompressed fetch: [(offset, key, value, headers)]. For a topic in
    reference mode these are the stored records."""
    with kwire.Conn(bootstrap, timeout=30) as c:
        r = c.fetch(topic, 0, offset, max_wait_ms=100, max_bytes=8 * MiB, partition_max_bytes=8 * MiB)
    assert r["error_code"] == 0, r
    out = []
    for bt in kwire.decode_batches(r["records"]):
        assert bt["crc_ok"], "stored batch at %d has a bad CRC" % bt["base_offset"]
        out += bt["records"]
    return [x for x in out if x[0] >= offset]


def produce_kwire(bootstrap, topic, records, timeout=60):
    """One uncompressed batch through Produce v7; returns the partition result."""
    with kwire.Conn(bootstrap, timeout=timeout) as c:
        return c.produce(topic, 0, kwire.record_batch(records), timeout_ms=int(timeout * 1000))


def assert_reference(rec, topic, value, own_headers=()):
    """rec: (offset, key, value, headers) in stored form for `value`."""
    _, _, v, hs = rec
    assert v == b"", "stored value is %d bytes, expected empty" % (-1 if v is None else len(v))
    own = [(k.encode() if isinstance(k, str) else k, hv) for k, hv in own_headers]
    assert hs[: len(own)] == own, "record's own headers changed: %r" % hs
    ref = hs[len(own):]
    assert [k for k, _ in ref] == [h.encode() for h in REF_HEADERS], "reference headers: %r" % hs
    assert ref[0][1] == object_key(topic, 0, value).encode()
    assert ref[1][1] == b"%d" % len(value)
    assert ref[2][1] == sha256hex(value).encode()


# --- clients -----------------------------------------------------------------------------


def kcat(args, timeout=180, stdout=None, input=None):
    p = subprocess.run(["kcat"] + args, input=input, stdout=stdout if stdout else subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    assert p.returncode == 0, "kcat %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr.decode()[-2000:])
    return p.stdout


def kcat_produce_file(bootstrap, topic, path, codec="none"):
    """One file = one record (kcat -P with a file argument)."""
    args = ["-P", "-b", bootstrap, "-t", topic, "-p", "0", "-X", "request.required.acks=-1",
            "-X", "compression.codec=" + codec]
    for k, v in PRODUCER_BIG.items():
        args += ["-X", "%s=%s" % (k, v)]
    kcat(args + [str(path)])


def kcat_consume_value(bootstrap, topic, offset, out_path):
    """The value at `offset`, written raw to out_path (-f '%s')."""
    args = ["-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", str(offset), "-c", "1", "-e", "-q", "-f", "%s"]
    for k, v in CONSUMER_BIG.items():
        args += ["-X", "%s=%s" % (k, v)]
    with open(out_path, "wb") as f:
        kcat(args, stdout=f)
    return Path(out_path).read_bytes()


def ck_produce(bootstrap, topic, records, codec="none", linger_ms=5, extra=None):
    """records: [(key, value, headers)] with confluent-kafka; returns the
    offsets. Fails on any delivery error."""
    from confluent_kafka import Producer

    conf = {"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec,
            "linger.ms": linger_ms, "message.timeout.ms": 60000}
    conf.update(PRODUCER_BIG)
    conf.update(extra or {})
    p = Producer(conf)
    results = [None] * len(records)

    def cb(i):
        return lambda err, msg: results.__setitem__(i, err if err else msg.offset())

    for i, (k, v, h) in enumerate(records):
        p.produce(topic, value=v, key=k, headers=list(h) or None, partition=0, on_delivery=cb(i))
    assert p.flush(120) == 0, "records still queued after 120 s"
    bad = [r for r in results if not isinstance(r, int)]
    assert not bad, "delivery errors: %r" % bad[:3]
    return results


def ck_consume(bootstrap, topic, count, offset=0, timeout=90):
    """count records from offset with confluent-kafka (assign, no group
    commits): [(offset, key, value, headers)]. Fails on a consume error."""
    from confluent_kafka import Consumer, TopicPartition

    conf = {"bootstrap.servers": bootstrap, "group.id": "cc-" + topic, "enable.auto.commit": False}
    conf.update(CONSUMER_BIG)
    c = Consumer(conf)
    got = []
    try:
        c.assign([TopicPartition(topic, 0, offset)])
        deadline = time.time() + timeout
        while len(got) < count and time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            assert not m.error(), "consume error: %s" % m.error()
            got.append((m.offset(), m.key(), m.value(), list(m.headers() or [])))
    finally:
        c.close()
    assert len(got) == count, "consumed %d of %d records in %ds" % (len(got), count, timeout)
    return got


def log_bytes(broker, topic):
    d = broker.segment_dir(topic)
    return sum(os.path.getsize(d / f) for f in os.listdir(d) if f.endswith(".log"))


def delete_topic(bootstrap, topic):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_topics([topic], operation_timeout=10)[topic].result(15)


# --- 40 MiB end to end, every backend -------------------------------------------------------


@pytest.mark.parametrize("backend", ["fs-default", "s3", "plugin"])
def test_40mib_round_trip(stores, broker_factory, tmp_path, backend):
    store = stores(backend)
    b = cc_broker(broker_factory, store)
    t = cc_topic(b.bootstrap)
    v_kcat = os.urandom(BIG)
    v_ck = os.urandom(BIG)
    src = tmp_path / "large-message.bin"
    src.write_bytes(v_kcat)

    # Produce: one value with kcat, one with confluent-kafka (with a header).
    kcat_produce_file(b.bootstrap, t, src)
    assert ck_produce(b.bootstrap, t, [(b"k", v_ck, [("h1", b"x"), ("h0", b"y")])]) == [1]

    # The log holds two small records; the bucket/dir holds the two values.
    assert log_bytes(b, t) < 64 * 1024, "log is %d bytes for two references" % log_bytes(b, t)
    want = sorted([object_key(t, 0, v_kcat), object_key(t, 0, v_ck)])
    assert store.keys(t + "/") == want

    # Consume: both values with kcat (raw to a file) and with confluent-kafka.
    assert kcat_consume_value(b.bootstrap, t, 0, tmp_path / "from-kafka-0.bin") == v_kcat
    assert kcat_consume_value(b.bootstrap, t, 1, tmp_path / "from-kafka-1.bin") == v_ck
    got = ck_consume(b.bootstrap, t, 2)
    assert got[0][2] == v_kcat and got[0][3] == []
    assert got[1][1:] == (b"k", v_ck, [("h1", b"x"), ("h0", b"y")])
    del got

    # Reference mode: the stored form, to kwire and to confluent-kafka.
    alter_topic_config(b.bootstrap, t, {"claimcheck.fetch.mode": "reference"})
    stored = fetch_stored(b.bootstrap, t)
    assert [r[0] for r in stored] == [0, 1]
    assert_reference(stored[0], t, v_kcat)
    assert_reference(stored[1], t, v_ck, own_headers=[("h1", b"x"), ("h0", b"y")])
    refs = ck_consume(b.bootstrap, t, 2)
    assert refs[1][2] in (b"", None)
    assert [k for k, _ in refs[1][3]] == ["h1", "h0"] + list(REF_HEADERS)
    # ...and back to values.
    alter_topic_config(b.bootstrap, t, {"claimcheck.fetch.mode": "value"})
    assert kcat_consume_value(b.bootstrap, t, 1, tmp_path / "again.bin") == v_ck

    # Deleting the topic deletes its objects.
    delete_topic(b.bootstrap, t)
    wait_until(lambda: not store.keys(t + "/"), 20, "objects of the deleted topic to go")


def test_40mib_refused_without_claimcheck(stores, broker_factory):
    """The same value on an ordinary topic is refused (max.message.bytes
    applies to what is stored)."""
    store = stores("fs")
    b = cc_broker(broker_factory, store)
    t = unique_topic("plain")
    create_topic(b.bootstrap, t)
    from confluent_kafka import KafkaException

    with pytest.raises((AssertionError, KafkaException)) as e:
        ck_produce(b.bootstrap, t, [(None, os.urandom(BIG), [])], extra={"message.timeout.ms": 20000})
    assert "MSG_SIZE_TOO_LARGE" in str(e.value) or "too large" in str(e.value).lower(), e.value
    assert latest(b.bootstrap, t) == 0
    assert store.keys() == []


# --- small values, mixed batches, every codec ------------------------------------------------


THRESHOLD = 4096


def mixed_records(seed):
    """Small and large values (some compressible) with and without headers."""
    rng = random.Random(seed)
    return [
        (b"s0", b"small", []),
        (b"l0", rng.randbytes(300 * 1024), [("idx", b"1")]),
        (None, b"", [("empty", b"")]),
        (b"s1", rng.randbytes(THRESHOLD - 1), [("a", b"1"), ("b", None)]),  # just below: stays
        (b"l1", rng.randbytes(THRESHOLD), []),  # exactly the threshold: moves
        (b"l2", b"z" * (2 * MiB), [("z", b"2"), ("a", b"3")]),  # compresses to almost nothing
        (b"s2", b"\x00\xff" * 10, [("bin", b"\x00\x01\xfe")]),
    ]


def is_large(value):
    return value is not None and len(value) >= THRESHOLD


def kp_produce_one_batch(bootstrap, topic, records, codec):
    """records in one batch of `codec`, with kafka-python: it compresses
    whatever the broker's ApiVersions say (librdkafka 2.0 sends gzip, snappy
    and lz4 uncompressed to a broker whose Produce versions start at 3)."""
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=500, batch_size=16 * MiB,
                      max_request_size=50000000, compression_type=None if codec == "none" else codec)
    try:
        futures = [p.send(topic, key=k, value=v, headers=list(h), partition=0) for k, v, h in records]
        p.flush(60)
        return [f.get(timeout=30).offset for f in futures]
    finally:
        p.close(10)


@pytest.mark.parametrize("codec", CODECS)
def test_mixed_batch_every_codec(stores, broker_factory, codec):
    store = stores("fs")
    b = cc_broker(broker_factory, store)
    t = cc_topic(b.bootstrap, "mix-" + codec, claimcheck_threshold_bytes=THRESHOLD)
    sent = [(k, v, [(hk, hv if hv is not None else b"") for hk, hv in h]) for k, v, h in mixed_records(len(codec))]
    assert kp_produce_one_batch(b.bootstrap, t, sent, codec) == list(range(len(sent)))
    got = ck_consume(b.bootstrap, t, len(sent))
    for i, (s, g) in enumerate(zip(sent, got)):
        assert (g[1], g[2] or b"", g[3]) == (s[0], s[1], s[2]), "record %d differs" % i
    larges = {object_key(t, 0, v) for _, v, _ in sent if is_large(v)}
    assert store.keys(t + "/") == sorted(larges)

    # Stored form: one batch, same codec, the small records as sent.
    alter_topic_config(b.bootstrap, t, {"claimcheck.fetch.mode": "reference"})
    with kwire.Conn(b.bootstrap) as c:
        r = c.fetch(t, 0, 0, max_wait_ms=100)
    batches = kwire.decode_batches(r["records"])
    assert [(bt["base_offset"], bt["count"]) for bt in batches] == [(0, len(sent))]
    assert batches[0]["crc_ok"]
    assert batches[0]["attributes"] & 7 == CODECS.index(codec), "stored codec changed"
    stored = ck_consume(b.bootstrap, t, len(sent))
    for (k, v, h), (_, gk, gv, gh) in zip(sent, stored):
        assert gk == k
        if is_large(v):
            assert gv in (b"", None) and [x for x, _ in gh] == [x for x, _ in h] + list(REF_HEADERS)
            ref = dict(gh[len(h):])
            assert ref["claimcheck.key"] == object_key(t, 0, v).encode()
            assert ref["claimcheck.length"] == b"%d" % len(v)
            assert ref["claimcheck.sha256"] == sha256hex(v).encode()
        else:
            assert (gv or b"", gh) == (v, list(h))


def test_librdkafka_batch_with_linger(stores, broker_factory):
    """Small and large records batched together by librdkafka (linger)."""
    store = stores("fs")
    b = cc_broker(broker_factory, store)
    t = cc_topic(b.bootstrap, "linger", claimcheck_threshold_bytes=THRESHOLD)
    sent = mixed_records(seed=11)
    ck_produce(b.bootstrap, t, sent, linger_ms=500, extra={"batch.size": "40000000"})
    got = ck_consume(b.bootstrap, t, len(sent))
    for i, (s, g) in enumerate(zip(sent, got)):
        assert (g[1], g[2] or b"", g[3]) == (s[0], s[1], list(s[2])), "record %d differs" % i
    alter_topic_config(b.bootstrap, t, {"claimcheck.fetch.mode": "reference"})
    stored = fetch_stored(b.bootstrap, t)
    assert len(stored) == len(sent)
    for (k, v, h), rec in zip(sent, stored):
        if is_large(v):
            assert_reference(rec, t, v, own_headers=h)
        else:
            assert rec[1:] == (k, v, [(hk.encode(), hv) for hk, hv in h])


def test_kwire_batch_exact_form(stores, broker_factory):
    """One uncompressed batch, small and large records: the stored batch
    keeps offsets, keys, the records' own headers in order, and appends the
    three reference headers; a topic without claim-check is untouched."""
    store = stores("fs")
    b = cc_broker(broker_factory, store)
    t = cc_topic(b.bootstrap, "exact", claimcheck_threshold_bytes=THRESHOLD)
    sent = mixed_records(seed=7)[:5]
    r = produce_kwire(b.bootstrap, t, sent)
    assert r["error_code"] == 0 and r["base_offset"] == 0, r
    # Same value twice in another batch: one object.
    r = produce_kwire(b.bootstrap, t, [(b"dup", sent[1][1], [])])
    assert r["error_code"] == 0 and r["base_offset"] == len(sent), r

    alter_topic_config(b.bootstrap, t, {"claimcheck.fetch.mode": "reference"})
    stored = fetch_stored(b.bootstrap, t)
    assert [x[0] for x in stored] == list(range(len(sent) + 1))
    for (k, v, h), rec in zip(sent + [(b"dup", sent[1][1], [])], stored):
        own = [(hk.encode(), hv) for hk, hv in h]
        assert rec[1] == k
        if is_large(v):
            assert_reference(rec, t, v, own_headers=h)
        else:
            assert (rec[2], rec[3]) == (v, own)
    assert store.keys(t + "/") == sorted({object_key(t, 0, v) for _, v, _ in sent if is_large(v)})

    alter_topic_config(b.bootstrap, t, {"claimcheck.fetch.mode": "value"})
    got = fetch_stored(b.bootstrap, t)
    assert [(k, v, [(hk.encode(), hv) for hk, hv in h]) for k, v, h in sent + [(b"dup", sent[1][1], [])]] == [
        g[1:] for g in got
    ]

    plain = unique_topic("plain")
    create_topic(b.bootstrap, plain)
    assert produce_kwire(b.bootstrap, plain, sent[:3])["error_code"] == 0
    assert store.keys(plain + "/") == []


# --- a store that fails ----------------------------------------------------------------------


def test_s3_down_fails_batch_then_retry_succeeds(stores, broker_factory):
    store = stores("s3")
    b = cc_broker(broker_factory, store)
    t = cc_topic(b.bootstrap, "down", claimcheck_threshold_bytes=THRESHOLD)
    v0, v1 = os.urandom(64 * 1024), os.urandom(64 * 1024)
    assert produce_kwire(b.bootstrap, t, [(b"ok", v0, [])])["error_code"] == 0
    assert latest(b.bootstrap, t) == 1

    store.server.stop()
    try:
        # A batch with a small and a large record: the whole batch fails.
        batch = [(b"small", b"s", []), (b"large", v1, [])]
        r = produce_kwire(b.bootstrap, t, batch)
        assert r["error_code"] == KAFKA_STORAGE_ERROR, r
        assert latest(b.bootstrap, t) == 1, "a failed batch was appended"
        # A small-only batch does not need the store.
        assert produce_kwire(b.bootstrap, t, [(b"tiny", b"x", [])])["error_code"] == 0
        assert latest(b.bootstrap, t) == 2

        # A librdkafka producer gets the same error (retries=0, so
        # the report is the broker's answer and no retry is left in flight).
        from confluent_kafka import Producer

        errs = []
        p = Producer(dict(PRODUCER_BIG, **{"bootstrap.servers": b.bootstrap, "acks": "all", "retries": 0,
                                           "message.timeout.ms": 30000, "request.timeout.ms": 30000}))
        p.produce(t, value=os.urandom(64 * 1024), partition=0, on_delivery=lambda e, m: errs.append(e))
        assert p.flush(40) == 0
        assert len(errs) == 1 and errs[0] is not None, "delivery with the store down: %r" % errs
        # 56 is retriable in Kafka's protocol (librdkafka's retriable() flag
        # describes its own retries, of which there were none here).
        assert errs[0].code() == KAFKA_STORAGE_ERROR, errs[0]
        assert latest(b.bootstrap, t) == 2
    finally:
        store.server.start()

    # The store is back: the same batch goes through.
    r = wait_until(lambda: (lambda r: r if r["error_code"] == 0 else None)(produce_kwire(b.bootstrap, t, batch)),
                   30, "a produce after s3rver returned")
    assert r["base_offset"] == 2
    got = ck_consume(b.bootstrap, t, 4)
    assert [(g[1], g[2]) for g in got] == [(b"ok", v0), (b"tiny", b"x"), (b"small", b"s"), (b"large", v1)]


@pytest.mark.parametrize("backend,how", [("fs", "flip"), ("fs", "truncate"), ("s3", "flip"), ("s3", "truncate")])
def test_corrupted_object_is_an_error(stores, broker_factory, backend, how):
    store = stores(backend)
    b = cc_broker(broker_factory, store)
    t = cc_topic(b.bootstrap, "corrupt", claimcheck_threshold_bytes=THRESHOLD)
    good, bad = os.urandom(256 * 1024), os.urandom(256 * 1024)
    assert produce_kwire(b.bootstrap, t, [(b"good", good, [])])["error_code"] == 0
    assert produce_kwire(b.bootstrap, t, [(b"bad", bad, [])])["error_code"] == 0
    store.corrupt(object_key(t, 0, bad), how)

    # The first record still reads; the corrupted one is a partition error.
    with kwire.Conn(b.bootstrap, timeout=30) as c:
        r0 = c.fetch(t, 0, 0, max_wait_ms=100, partition_max_bytes=1)
        r1 = c.fetch(t, 0, 1, max_wait_ms=100)
    if r0["error_code"] == 0:
        recs = [x for bt in kwire.decode_batches(r0["records"]) for x in bt["records"]]
        assert recs and recs[0][1:3] == (b"good", good)
    assert r1["error_code"] == KAFKA_STORAGE_ERROR, dict(r1, records=len(r1["records"]))
    assert bad not in r1["records"]
    for bt in kwire.decode_batches(r1["records"]):
        for rec in bt["records"]:
            assert rec[0] != 1, "the corrupted record was delivered"

    # A librdkafka consumer gets no record at offset 1 (an error, or nothing).
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(dict(CONSUMER_BIG, **{"bootstrap.servers": b.bootstrap, "group.id": "x",
                                       "enable.auto.commit": False}))
    try:
        c.assign([TopicPartition(t, 0, 1)])
        deadline = time.time() + 5
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                raise AssertionError("consumer got offset %d (%d bytes) from a corrupted object"
                                     % (m.offset(), len(m.value() or b"")))
    finally:
        c.close()


def test_s3_secret_never_logged(stores, broker_factory):
    """A wrong secret: produce fails (the store refuses the signature) and
    the secret is neither in the broker's log nor in DescribeConfigs."""
    store = stores("s3")
    secret = "tern-it-secret-%d" % random.randrange(10**9)
    b = broker_factory(props=store.broker_props(secret=secret), overrides=BROKER_BIG)
    t = cc_topic(b.bootstrap, "secret", claimcheck_threshold_bytes=THRESHOLD)
    r = produce_kwire(b.bootstrap, t, [(b"k", os.urandom(64 * 1024), [])])
    assert r["error_code"] == KAFKA_STORAGE_ERROR, r

    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    res = ConfigResource(ConfigResource.Type.BROKER, "0")
    entries = admin.describe_configs([res])[res].result(15)
    for name, e in entries.items():
        assert secret not in str(e.value), "%s shows the secret" % name
    b.stop()
    log = b.log_text()
    assert secret not in log, "the S3 secret is in the broker's log"


# --- object lifecycle: retention, topic deletion, restarts ---------------------------------


def produce_distinct(bootstrap, topic, values):
    """One kwire batch per value; returns the base offsets."""
    offsets = []
    for i, v in enumerate(values):
        r = produce_kwire(bootstrap, topic, [(b"k%d" % i, v, [])])
        assert r["error_code"] == 0, r
        offsets.append(r["base_offset"])
    return offsets


def wait_objects_follow_retention(b, store, topic, values, timeout=30):
    """Waits until retention moved the log start and the topic's objects are
    exactly those referenced from the log start on."""

    def settled():
        start = earliest(b.bootstrap, topic)
        want = sorted({object_key(topic, 0, v) for v in values[start:]})
        have = store.keys(topic + "/")
        return (start, have) if start > 0 and have == want else None

    return wait_until(settled, timeout, "retention to delete unreferenced objects of %s" % topic)


@pytest.mark.parametrize("backend", ["fs", "s3"])
def test_retention_and_topic_deletion_remove_objects(stores, broker_factory, backend):
    store = stores(backend)
    b = cc_broker(broker_factory, store, overrides={"log.retention.check.interval.ms": "500"})
    t = cc_topic(b.bootstrap, "ret", claimcheck_threshold_bytes=THRESHOLD, **{
        "segment.bytes": "1024", "retention.bytes": "1024"})
    vals = [os.urandom(32 * 1024) for _ in range(11)]
    vals.append(vals[0])  # referenced by the first and the last segment
    produce_distinct(b.bootstrap, t, vals)
    start, have = wait_objects_follow_retention(b, store, t, vals)
    assert object_key(t, 0, vals[0]) in have, "an object still referenced by the log was deleted"
    assert len(have) < 11
    # Still referenced values read back.
    got = ck_consume(b.bootstrap, t, len(vals) - start, offset=start)
    assert [g[2] for g in got] == vals[start:]

    # Another topic's objects are not touched by this topic's deletion.
    other = cc_topic(b.bootstrap, "keep", claimcheck_threshold_bytes=THRESHOLD)
    produce_distinct(b.bootstrap, other, [vals[1]])
    delete_topic(b.bootstrap, t)
    wait_until(lambda: not store.keys(t + "/"), 20, "objects of the deleted topic to go")
    assert store.keys(other + "/") == [object_key(other, 0, vals[1])]


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_restart_keeps_references(stores, broker_factory, how):
    store = stores("s3")
    b = cc_broker(broker_factory, store, overrides={"log.retention.check.interval.ms": "500"})
    t = cc_topic(b.bootstrap, "restart", claimcheck_threshold_bytes=THRESHOLD, **{"segment.bytes": "1024"})
    vals = [os.urandom(48 * 1024) for _ in range(9)]
    vals.append(vals[0])
    produce_distinct(b.bootstrap, t, vals)
    assert len(store.keys(t + "/")) == 9

    if how == "kill9":
        b.kill9()
    else:
        assert b.stop() == 0
    b.start()
    kwire.wait_for_topic(b.bootstrap, t, 20)

    # Every reference rehydrates after the restart.
    got = ck_consume(b.bootstrap, t, len(vals))
    assert [g[2] for g in got] == vals
    del got
    # A produce after the restart appends after the old records.
    more = os.urandom(48 * 1024)
    assert produce_distinct(b.bootstrap, t, [more]) == [len(vals)]
    vals.append(more)

    # Retention after the restart knows the references of the old segments.
    alter_topic_config(b.bootstrap, t, {"retention.bytes": "1024"})
    start, have = wait_objects_follow_retention(b, store, t, vals)
    assert object_key(t, 0, vals[0]) in have


# --- the demo script ---------------------------------------------------------------------------


def test_demo_script(stores, broker_factory, tmp_path):
    store = stores("s3")
    b = cc_broker(broker_factory, store)
    env = dict(os.environ)
    env.update({
        "BOOTSTRAP": b.bootstrap,
        "S3_ENDPOINT": store.endpoint,
        "S3_BUCKET": store.bucket,
        "DEMO_DIR": str(tmp_path / "demo"),
        "DEMO_DATA_DIR": str(b.data_dir),
        "TERN_BUILD_DIR": str(BUILD_DIR),
    })
    p = subprocess.run([str(REPO / "deploy" / "claimcheck-demo.sh")], env=env, capture_output=True,
                       text=True, timeout=240)
    out = p.stdout + p.stderr
    assert p.returncode == 0, "claimcheck-demo.sh exited %d:\n%s" % (p.returncode, out[-6000:])
    assert "identical" in out and "MB/s" in out, out[-3000:]
    # It cleaned up: its topic is gone, and so are its objects.
    assert not [k for k in store.keys() if k.startswith("large-messages")], store.keys()
    assert not (tmp_path / "demo").exists() or not any((tmp_path / "demo").iterdir())


# --- replica fetches -----------------------------------------------------------------------


def test_replica_fetch_gets_stored_batches(stores, broker_factory):
    """A fetch from a replica (replica_id >= 0) gets the small stored batch,
    never the rehydrated value: followers replicate references only."""
    store = stores("fs")
    b = cc_broker(broker_factory, store)
    t = cc_topic(b.bootstrap, "replica", claimcheck_threshold_bytes=THRESHOLD)
    sent = [(b"k", random.Random(3).randbytes(THRESHOLD + 17), [])]
    assert produce_kwire(b.bootstrap, t, sent)["error_code"] == 0
    body = kwire.fetch_v4_body(t, 0, 0, max_wait_ms=100, max_bytes=8 * MiB, partition_max_bytes=8 * MiB)
    # replica_id is the request's first field: a follower's broker id.
    body = kwire.i32(1) + body[4:]
    with kwire.Conn(b.bootstrap, timeout=30) as c:
        r = kwire.decode_fetch_v4(c.request(kwire.FETCH, 4, body))[(t, 0)]
    assert r["error_code"] == 0, r
    recs = [rec for bt in kwire.decode_batches(r["records"]) for rec in bt["records"]]
    assert len(recs) == 1
    assert_reference(recs[0], t, sent[0][1])
    # A consumer (replica_id -1) gets the value back.
    got = fetch_stored(b.bootstrap, t)
    assert got[0][2] == sent[0][1]
