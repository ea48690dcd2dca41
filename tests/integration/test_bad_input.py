"""Bad input on the Kafka port, sent with raw sockets.

Kafka's rule, which Tern follows: a frame that cannot be parsed closes that
connection only (SocketServer.processCompletedReceives catches the parse
failure and closes the channel); a well-formed request with a semantic
problem gets an error code in its response. After every case a fresh
connection must still be served.
"""

import random

import pytest

import kwire
from helpers import create_topic, unique_topic

MAX_REQUEST = 1 << 20  # socket.request.max.bytes of these brokers
MAX_MESSAGE = 64 * 1024  # message.max.bytes of these brokers


@pytest.fixture
def strict_broker(broker_factory):
    return broker_factory(
        props={
            "socket.request.max.bytes": str(MAX_REQUEST),
            "message.max.bytes": str(MAX_MESSAGE),
            "auto.create.topics.enable": "false",
        }
    )


def assert_serves(b):
    """The broker is alive and answers ApiVersions on a new connection."""
    assert b.alive(), "broker died; log:\n" + b.log_text()[-4000:]
    with kwire.Conn(b.bootstrap) as c:
        av = c.api_versions(0)
    assert av["error_code"] == 0
    assert kwire.API_VERSIONS in av["api_keys"]


def latest(b, topic):
    with kwire.Conn(b.bootstrap) as c:
        r = c.list_offsets(topic, 0, kwire.LATEST)
    assert r["error_code"] == 0, r
    return r["offset"]


def test_frame_larger_than_socket_request_max_bytes_closes(strict_broker):
    with kwire.Conn(strict_broker.bootstrap) as c:
        c.send_raw(kwire.i32(MAX_REQUEST + 1) + b"\x00" * 64)
        assert c.is_closed_by_peer(), "oversized frame did not close the connection"
    assert_serves(strict_broker)


def test_huge_frame_size_closes_without_allocating(strict_broker):
    with kwire.Conn(strict_broker.bootstrap) as c:
        c.send_raw(kwire.i32(0x7FFFFFFF) + b"\x00" * 16)
        assert c.is_closed_by_peer()
    with kwire.Conn(strict_broker.bootstrap) as c:
        c.send_raw(kwire.i32(-5) + b"\x00" * 16)
        assert c.is_closed_by_peer(), "negative frame size did not close the connection"
    assert_serves(strict_broker)


def test_truncated_frame_then_close(strict_broker):
    for _ in range(3):
        with kwire.Conn(strict_broker.bootstrap) as c:
            c.send_raw(kwire.i32(100) + b"\x00\x12\x00\x00\x00\x00\x00\x01\x00\x00")
    assert_serves(strict_broker)


def test_random_byte_frames(strict_broker):
    rng = random.Random(1234)
    for i in range(40):
        n = rng.randint(1, 300)
        payload = bytes(rng.getrandbits(8) for _ in range(n))
        if i % 2 == 0:
            # Keep the header plausible (a real API key and version) so the
            # body parsers are reached too.
            key = rng.choice([0, 1, 2, 3, 18, 19, 20, 32, 37])
            payload = kwire.i16(key) + kwire.i16(rng.randint(0, 12)) + payload
        with kwire.Conn(strict_broker.bootstrap) as c:
            c.send_raw(kwire.frame(payload))
            # Either an answer or a close is fine; a crash or a hang is not.
            c.sock.settimeout(5)
            try:
                c.sock.recv(65536)
            except (ConnectionResetError, TimeoutError, OSError):
                pass
        assert strict_broker.alive(), "broker died on random frame %d: %r" % (i, payload)
    assert_serves(strict_broker)


def test_unknown_api_key_closes_connection(strict_broker):
    # Kafka: RequestHeader.parse -> ApiKeys.forId throws for an unknown key;
    # SocketServer closes the channel (no response is possible: the response
    # header version cannot be derived from an unknown key).
    with kwire.Conn(strict_broker.bootstrap) as c:
        c.send_request(32000, 0, b"")
        assert c.is_closed_by_peer(), "unknown API key did not close the connection"
    assert_serves(strict_broker)


def test_unsupported_api_versions_version_gets_v0_error_with_list(strict_broker):
    # KIP-511: an ApiVersions request of a version the broker does not know is
    # answered as ApiVersions v0 with UNSUPPORTED_VERSION and the supported keys.
    with kwire.Conn(strict_broker.bootstrap) as c:
        corr = c.send_request(kwire.API_VERSIONS, 99, b"\x00\x00\x00")
        got, body = c.recv_response(flexible_header=False)
        assert got == corr
        av = kwire.decode_api_versions(body, 0)
        assert av["error_code"] == kwire.UNSUPPORTED_VERSION
        assert kwire.API_VERSIONS in av["api_keys"], av
        lo, hi = av["api_keys"][kwire.API_VERSIONS]
        assert lo == 0 and hi >= 3
        # The connection stays usable.
        assert c.api_versions(0)["error_code"] == 0
    assert_serves(strict_broker)


def test_unsupported_version_of_other_api_closes_connection(strict_broker):
    # Kafka: RequestContext.parseRequest fails for a version outside the
    # API's range and throws InvalidRequestException; SocketServer closes.
    with kwire.Conn(strict_broker.bootstrap) as c:
        c.send_request(kwire.METADATA, 99, kwire.metadata_v4_body(None))
        assert c.is_closed_by_peer(), "Metadata v99 did not close the connection"
    assert_serves(strict_broker)


def _topic(b):
    t = unique_topic("bad")
    create_topic(b.bootstrap, t)
    return t


def test_bad_crc_is_corrupt_message_and_appends_nothing(strict_broker):
    t = _topic(strict_broker)
    with kwire.Conn(strict_broker.bootstrap) as c:
        ok = c.produce(t, 0, kwire.record_batch([(b"k", b"good", [])]))
        assert ok["error_code"] == 0, ok
        bad = c.produce(t, 0, kwire.record_batch([(b"k", b"bad", [])], corrupt_crc=True))
        assert bad["error_code"] == kwire.CORRUPT_MESSAGE, bad
        # The connection survives a semantic error.
        again = c.produce(t, 0, kwire.record_batch([(b"k", b"good2", [])]))
        assert again["error_code"] == 0 and again["base_offset"] == 1, again
    assert latest(strict_broker, t) == 2


def test_record_larger_than_message_max_bytes(strict_broker):
    t = _topic(strict_broker)
    big = kwire.record_batch([(b"k", b"x" * (MAX_MESSAGE + 1000), [])])
    with kwire.Conn(strict_broker.bootstrap) as c:
        r = c.produce(t, 0, big)
    assert r["error_code"] == kwire.MESSAGE_TOO_LARGE, r
    assert latest(strict_broker, t) == 0
    assert_serves(strict_broker)


def test_magic_1_batch_in_produce_v3_plus(strict_broker):
    # Tern answers UNSUPPORTED_FOR_MESSAGE_FORMAT (43), as its design asks: it
    # names the cause. (Kafka 3.8's ProduceRequest.validateRecords throws
    # InvalidRecordException here, INVALID_RECORD 87.) Either way the
    # partition gets an error and nothing is appended.
    t = _topic(strict_broker)
    batch = bytearray(kwire.record_batch([(b"k", b"v", [])]))
    batch[16] = 1  # magic byte: base_offset(8) + length(4) + leader_epoch(4)
    with kwire.Conn(strict_broker.bootstrap) as c:
        r = c.produce(t, 0, bytes(batch), version=7)
    assert r["error_code"] == kwire.UNSUPPORTED_FOR_MESSAGE_FORMAT, r
    assert latest(strict_broker, t) == 0


def test_negative_array_length_in_produce_closes(strict_broker):
    t = _topic(strict_broker)
    # transactional_id, acks, timeout, then topic_data count = -7.
    body = kwire.string(None) + kwire.i16(-1) + kwire.i32(1000) + kwire.i32(-7)
    with kwire.Conn(strict_broker.bootstrap) as c:
        c.send_request(kwire.PRODUCE, 7, body)
        assert c.is_closed_by_peer(), "negative array length did not close the connection"
    # A negative partition count inside a topic, too.
    body = (kwire.string(None) + kwire.i16(-1) + kwire.i32(1000) + kwire.i32(1)
            + kwire.string(t) + kwire.i32(-1))
    with kwire.Conn(strict_broker.bootstrap) as c:
        c.send_request(kwire.PRODUCE, 7, body)
        assert c.is_closed_by_peer()
    assert latest(strict_broker, t) == 0
    assert_serves(strict_broker)


def test_huge_array_count_does_not_allocate(strict_broker):
    # A count far larger than the bytes that follow: closed, broker alive.
    body = kwire.string(None) + kwire.i16(-1) + kwire.i32(1000) + kwire.i32(0x7FFFFFF0)
    with kwire.Conn(strict_broker.bootstrap) as c:
        c.send_request(kwire.PRODUCE, 7, body)
        assert c.is_closed_by_peer()
    assert_serves(strict_broker)


def test_produce_to_unknown_topic_without_auto_create(strict_broker):
    t = unique_topic("nosuch")
    with kwire.Conn(strict_broker.bootstrap) as c:
        r = c.produce(t, 0, kwire.record_batch([(b"k", b"v", [])]))
        assert r["error_code"] == kwire.UNKNOWN_TOPIC_OR_PARTITION, r
        md = c.metadata([t], allow_auto_create=True)
    # auto.create.topics.enable=false wins over the client's wish.
    assert md["topics"][0]["error_code"] == kwire.UNKNOWN_TOPIC_OR_PARTITION, md
    assert_serves(strict_broker)
