"""kwire: a small, independent encoder/decoder of the Kafka wire protocol.

The integration tests use it to send requests that real clients never send
(bad CRCs, negative array lengths, unknown API keys, magic 1 batches) and to
read the answers field by field. It is written from the Kafka message
definitions (clients/src/main/resources/common/message/*.json), not from the
broker's code, so a shared misunderstanding does not hide a bug.

Covered: request header v1/v2, ApiVersions v0-3, Metadata v4, Produce v3-v7,
ListOffsets v2, Fetch v4, and v2 record batches (CRC-32C computed here).
"""

import socket
import struct
import time

# --- API keys -----------------------------------------------------------------
PRODUCE = 0
FETCH = 1
LIST_OFFSETS = 2
METADATA = 3
API_VERSIONS = 18
CREATE_TOPICS = 19

# --- error codes used by the tests ---------------------------------------------
NONE = 0
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
UNSUPPORTED_VERSION = 35
INVALID_RECORD = 87
UNSUPPORTED_FOR_MESSAGE_FORMAT = 43

EARLIEST = -2
LATEST = -1


# --- CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 ----------------------
def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = _CRC32C_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# --- primitive encoders ----------------------------------------------------------
def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def u32(v):
    return struct.pack(">I", v)


def boolean(v):
    return b"\x01" if v else b"\x00"


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def nbytes(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def uvarint(v):
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint(v):
    # zig-zag, 64-bit
    return uvarint((v << 1) ^ (v >> 63))


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def array(items, enc=lambda x: x):
    """Classic array: int32 count then the encoded items (None = null)."""
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def compact_array(items, enc=lambda x: x):
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


TAGS_NONE = b"\x00"  # an empty tagged-field section


# --- reader ---------------------------------------------------------------------
class Reader:
    """Cursor over a response body; raises EOFError when a field overruns."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise EOFError("need %d bytes at %d, have %d" % (n, self.pos, self.left()))
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def _unpack(self, fmt, n):
        return struct.unpack(fmt, self.take(n))[0]

    def i8(self):
        return self._unpack(">b", 1)

    def i16(self):
        return self._unpack(">h", 2)

    def i32(self):
        return self._unpack(">i", 4)

    def i64(self):
        return self._unpack(">q", 8)

    def boolean(self):
        return self.i8() != 0

    def uvarint(self):
        shift = 0
        v = 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")

    def varint(self):
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def compact_string(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def nbytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def compact_bytes(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1)

    def array(self, dec):
        n = self.i32()
        return None if n < 0 else [dec(self) for _ in range(n)]

    def compact_array(self, dec):
        n = self.uvarint()
        return None if n == 0 else [dec(self) for _ in range(n - 1)]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()  # tag
            self.take(self.uvarint())


# --- record batch v2 ---------------------------------------------------------------
def encode_record(offset_delta, key, value, headers=(), timestamp_delta=0):
    body = bytearray()
    body += i8(0)  # attributes
    body += varint(timestamp_delta)
    body += varint(offset_delta)
    for field in (key, value):
        if field is None:
            body += varint(-1)
        else:
            body += varint(len(field)) + field
    body += varint(len(headers))
    for hk, hv in headers:
        hkb = hk.encode() if isinstance(hk, str) else hk
        body += varint(len(hkb)) + hkb
        if hv is None:
            body += varint(-1)
        else:
            body += varint(len(hv)) + hv
    return varint(len(body)) + bytes(body)


def record_batch(
    records,
    base_offset=0,
    magic=2,
    attributes=0,
    partition_leader_epoch=-1,
    producer_id=-1,
    producer_epoch=-1,
    base_sequence=-1,
    first_timestamp=None,
    records_blob=None,
    record_count=None,
    corrupt_crc=False,
):
    """A record batch v2 (uncompressed unless records_blob carries compressed
    bytes and attributes says which codec). records: [(key, value, headers)]."""
    if first_timestamp is None:
        first_timestamp = int(time.time() * 1000)
    if records_blob is None:
        records_blob = b"".join(
            encode_record(i, k, v, h) for i, (k, v, h) in enumerate(records)
        )
    if record_count is None:
        record_count = len(records)
    last_delta = max(record_count - 1, 0)
    after_crc = (
        i16(attributes)
        + i32(last_delta)
        + i64(first_timestamp)
        + i64(first_timestamp)
        + i64(producer_id)
        + i16(producer_epoch)
        + i32(base_sequence)
        + i32(record_count)
        + records_blob
    )
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    # batch_length counts from partition_leader_epoch to the end.
    rest = i32(partition_leader_epoch) + i8(magic) + u32(crc) + after_crc
    return i64(base_offset) + i32(len(rest)) + rest


def decode_batches(blob):
    """Splits a record-set blob into batches and decodes uncompressed v2 ones.

    Returns [{base_offset, last_offset_delta, crc_ok, magic, records:[(offset, key, value, headers)]}].
    A trailing partial batch (allowed in Fetch responses) is ignored."""
    out = []
    pos = 0
    while len(blob) - pos >= 12:
        base_offset, length = struct.unpack(">qi", blob[pos : pos + 12])
        if len(blob) - pos - 12 < length:
            break
        batch = blob[pos : pos + 12 + length]
        pos += 12 + length
        r = Reader(batch[12:])
        r.i32()  # partition leader epoch
        magic = r.i8()
        crc = struct.unpack(">I", r.take(4))[0]
        crc_ok = crc32c(batch[21:]) == crc
        attributes = r.i16()
        last_delta = r.i32()
        r.i64()
        r.i64()
        r.i64()
        r.i16()
        r.i32()
        count = r.i32()
        recs = []
        if attributes & 0x7 == 0:
            for _ in range(count):
                r.varint()  # length
                r.i8()
                r.varint()  # timestamp delta
                od = r.varint()
                kl = r.varint()
                k = None if kl < 0 else r.take(kl)
                vl = r.varint()
                v = None if vl < 0 else r.take(vl)
                hs = []
                for _ in range(r.varint()):
                    hk = r.take(r.varint())
                    hvl = r.varint()
                    hs.append((hk, None if hvl < 0 else r.take(hvl)))
                recs.append((base_offset + od, k, v, hs))
        out.append(
            dict(
                base_offset=base_offset,
                last_offset_delta=last_delta,
                magic=magic,
                crc_ok=crc_ok,
                attributes=attributes,
                count=count,
                records=recs,
            )
        )
    return out


# --- request bodies --------------------------------------------------------------
def request_header(api_key, api_version, correlation_id, client_id="kwire", flexible=False):
    h = i16(api_key) + i16(api_version) + i32(correlation_id) + string(client_id)
    if flexible:
        h += TAGS_NONE
    return h


def frame(payload):
    return i32(len(payload)) + payload


def api_versions_body(version):
    if version >= 3:
        return compact_string("kwire") + compact_string("1.0") + TAGS_NONE
    return b""


def metadata_v4_body(topics, allow_auto_create=False):
    return array(topics, string) + boolean(allow_auto_create)


def produce_body(version, topic, partition, records_bytes, acks=-1, timeout_ms=5000):
    """Produce v3-v8 (non-flexible)."""
    assert 3 <= version <= 8
    return (
        string(None)
        + i16(acks)
        + i32(timeout_ms)
        + i32(1)
        + string(topic)
        + i32(1)
        + i32(partition)
        + nbytes(records_bytes)
    )


def list_offsets_v2_body(topic, partition, timestamp):
    return (
        i32(-1)
        + i8(0)
        + i32(1)
        + string(topic)
        + i32(1)
        + i32(partition)
        + i64(timestamp)
    )


def fetch_v4_body(topic, partition, offset, max_wait_ms=500, min_bytes=1,
                  max_bytes=1 << 20, partition_max_bytes=1 << 20):
    return (
        i32(-1)
        + i32(max_wait_ms)
        + i32(min_bytes)
        + i32(max_bytes)
        + i8(0)
        + i32(1)
        + string(topic)
        + i32(1)
        + i32(partition)
        + i64(offset)
        + i32(partition_max_bytes)
    )


# --- response decoders (body after the response header) --------------------------
def decode_api_versions(body, version):
    r = Reader(body)
    err = r.i16()
    if version >= 3:
        keys = r.compact_array(lambda r: (r.i16(), r.i16(), r.i16(), r.tags())[:3])
    else:
        keys = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
    throttle = r.i32() if version >= 1 else 0
    return dict(error_code=err, api_keys={k: (lo, hi) for k, lo, hi in keys or []}, throttle_time_ms=throttle)


def decode_metadata_v4(body):
    r = Reader(body)
    throttle = r.i32()
    brokers = r.array(lambda r: dict(node_id=r.i32(), host=r.string(), port=r.i32(), rack=r.string()))
    cluster_id = r.string()
    controller_id = r.i32()

    def partition(r):
        return dict(error_code=r.i16(), partition_index=r.i32(), leader_id=r.i32(),
                    replica_nodes=r.array(Reader.i32), isr_nodes=r.array(Reader.i32))

    def topic(r):
        return dict(error_code=r.i16(), name=r.string(), is_internal=r.boolean(),
                    partitions=r.array(partition))

    topics = r.array(topic)
    return dict(throttle_time_ms=throttle, brokers=brokers, cluster_id=cluster_id,
                controller_id=controller_id, topics=topics)


def decode_produce(body, version):
    """Produce v3-v8 response -> {(topic, partition): {error_code, base_offset, ...}}."""
    r = Reader(body)
    out = {}
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            p = dict(index=r.i32(), error_code=r.i16(), base_offset=r.i64())
            p["log_append_time_ms"] = r.i64()
            if version >= 5:
                p["log_start_offset"] = r.i64()
            if version >= 8:
                p["record_errors"] = r.array(lambda r: (r.i32(), r.string()))
                p["error_message"] = r.string()
            out[(name, p["index"])] = p
    r.i32()  # throttle_time_ms
    return out


def decode_list_offsets_v2(body):
    r = Reader(body)
    r.i32()
    out = {}
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            idx = r.i32()
            out[(name, idx)] = dict(error_code=r.i16(), timestamp=r.i64(), offset=r.i64())
    return out


def decode_fetch_v4(body):
    r = Reader(body)
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            idx = r.i32()
            p = dict(error_code=r.i16(), high_watermark=r.i64(), last_stable_offset=r.i64())
            p["aborted"] = r.array(lambda r: (r.i64(), r.i64()))
            p["records"] = r.nbytes() or b""
            out[(topic, idx)] = p
    return out


# --- connection -----------------------------------------------------------------
class ConnectionClosed(Exception):
    pass


class Conn:
    """One blocking TCP connection to a broker."""

    def __init__(self, bootstrap, timeout=10.0):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.corr = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def next_corr(self):
        self.corr += 1
        return self.corr

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_request(self, api_key, version, body, flexible=False, corr=None):
        """Sends one framed request; returns its correlation id."""
        if corr is None:
            corr = self.next_corr()
        self.send_raw(frame(request_header(api_key, version, corr, flexible=flexible) + body))
        return corr

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError as e:
                raise ConnectionClosed("reset") from e
            if not chunk:
                raise ConnectionClosed("EOF after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def recv_frame(self):
        (n,) = struct.unpack(">i", self._recv_exact(4))
        if n < 0 or n > 256 << 20:
            raise ValueError("bad response size %d" % n)
        return self._recv_exact(n)

    def recv_response(self, flexible_header=False):
        """Returns (correlation_id, body). flexible_header: response header v1."""
        data = self.recv_frame()
        r = Reader(data)
        corr = r.i32()
        if flexible_header:
            r.tags()
        return corr, data[r.pos :]

    def request(self, api_key, version, body, flexible=False):
        corr = self.send_request(api_key, version, body, flexible=flexible)
        # ApiVersions answers with response header v0 whatever its version.
        got, resp = self.recv_response(flexible_header=flexible and api_key != API_VERSIONS)
        if got != corr:
            raise AssertionError("correlation id %d, expected %d" % (got, corr))
        return resp

    def is_closed_by_peer(self, timeout=5.0):
        """True when the broker closes the connection within timeout (EOF or
        reset) without sending anything more."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return data == b""

    # Convenience wrappers.
    def api_versions(self, version=0):
        flexible = version >= 3
        return decode_api_versions(self.request(API_VERSIONS, version, api_versions_body(version), flexible), version)

    def metadata(self, topics, allow_auto_create=False):
        return decode_metadata_v4(self.request(METADATA, 4, metadata_v4_body(topics, allow_auto_create)))

    def produce(self, topic, partition, records_bytes, version=7, acks=-1, timeout_ms=5000):
        body = produce_body(version, topic, partition, records_bytes, acks, timeout_ms)
        return decode_produce(self.request(PRODUCE, version, body), version)[(topic, partition)]

    def list_offsets(self, topic, partition, timestamp):
        body = list_offsets_v2_body(topic, partition, timestamp)
        return decode_list_offsets_v2(self.request(LIST_OFFSETS, 2, body))[(topic, partition)]

    def fetch(self, topic, partition, offset, **kw):
        return decode_fetch_v4(self.request(FETCH, 4, fetch_v4_body(topic, partition, offset, **kw)))[
            (topic, partition)
        ]


def wait_for_topic(bootstrap, topic, timeout=10.0):
    """Polls Metadata until the topic's partitions all have a leader."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        with Conn(bootstrap) as c:
            md = c.metadata([topic])
        for t in md["topics"]:
            last = t
            if t["name"] == topic and t["error_code"] == 0 and t["partitions"] and all(
                p["leader_id"] >= 0 for p in t["partitions"]
            ):
                return t
        time.sleep(0.1)
    raise AssertionError("topic %s not ready: %r" % (topic, last))
