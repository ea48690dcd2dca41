"""Long-poll Fetch and per-connection response ordering."""

import threading
import time

import kwire
from helpers import create_topic, unique_topic


def _fetch_timed(bootstrap, topic, offset, max_wait_ms, out):
    with kwire.Conn(bootstrap, timeout=max_wait_ms / 1000 + 10) as c:
        t0 = time.monotonic()
        r = c.fetch(topic, 0, offset, max_wait_ms=max_wait_ms, min_bytes=1)
        out["elapsed"] = time.monotonic() - t0
        out["resp"] = r


def test_fetch_returns_soon_after_produce(broker):
    t = unique_topic("lp")
    create_topic(broker.bootstrap, t)
    out = {}
    th = threading.Thread(target=_fetch_timed, args=(broker.bootstrap, t, 0, 3000, out))
    th.start()
    time.sleep(0.5)
    with kwire.Conn(broker.bootstrap) as c:
        r = c.produce(t, 0, kwire.record_batch([(b"k", b"wake up", [])]))
        assert r["error_code"] == 0, r
    th.join(10)
    assert not th.is_alive(), "fetch never returned"
    resp = out["resp"]
    assert resp["error_code"] == 0, resp
    recs = [rec for b in kwire.decode_batches(resp["records"]) for rec in b["records"]]
    assert [(o, k, v) for o, k, v, _ in recs] == [(0, b"k", b"wake up")]
    # Produced ~0.5 s in; the answer must come well before max_wait (3 s).
    assert out["elapsed"] < 1.8, "long poll answered after %.2fs (produce at ~0.5s)" % out["elapsed"]


def test_fetch_waits_max_wait_when_nothing_comes(broker):
    t = unique_topic("lp")
    create_topic(broker.bootstrap, t)
    out = {}
    _fetch_timed(broker.bootstrap, t, 0, 3000, out)
    resp = out["resp"]
    assert resp["error_code"] == 0, resp
    assert kwire.decode_batches(resp["records"]) == []
    assert 2.5 <= out["elapsed"] <= 4.5, "empty long poll took %.2fs, max_wait_ms=3000" % out["elapsed"]


def test_fetch_at_log_end_with_min_bytes_zero_returns_at_once(broker):
    t = unique_topic("lp")
    create_topic(broker.bootstrap, t)
    with kwire.Conn(broker.bootstrap) as c:
        t0 = time.monotonic()
        r = c.fetch(t, 0, 0, max_wait_ms=3000, min_bytes=0)
        assert time.monotonic() - t0 < 1.0
        assert r["error_code"] == 0


def test_pipelined_requests_answered_in_order(broker):
    t = unique_topic("pipe")
    create_topic(broker.bootstrap, t)
    with kwire.Conn(broker.bootstrap, timeout=15) as c:
        sent = []
        # A long poll in the middle: everything after it must wait for it.
        sent.append(c.send_request(kwire.API_VERSIONS, 0, b""))
        sent.append(c.send_request(kwire.METADATA, 4, kwire.metadata_v4_body([t])))
        sent.append(c.send_request(kwire.FETCH, 4, kwire.fetch_v4_body(t, 0, 0, max_wait_ms=1000, min_bytes=1)))
        sent.append(c.send_request(kwire.LIST_OFFSETS, 2, kwire.list_offsets_v2_body(t, 0, kwire.LATEST)))
        sent.append(c.send_request(kwire.API_VERSIONS, 1, b""))
        for i in range(20):
            sent.append(c.send_request(kwire.METADATA, 4, kwire.metadata_v4_body([t])))
        t0 = time.monotonic()
        got = [c.recv_response()[0] for _ in sent]
        elapsed = time.monotonic() - t0
    assert got == sent, "responses out of order: sent %r got %r" % (sent, got)
    assert elapsed >= 0.8, "the fetch in the middle did not wait (%.2fs)" % elapsed


def test_pipelined_produces_in_order(broker):
    t = unique_topic("pipe")
    create_topic(broker.bootstrap, t)
    with kwire.Conn(broker.bootstrap, timeout=15) as c:
        sent = []
        for i in range(50):
            batch = kwire.record_batch([(b"k%d" % i, b"v%d" % i, [])])
            sent.append(c.send_request(kwire.PRODUCE, 7, kwire.produce_body(7, t, 0, batch, acks=-1)))
        offsets = []
        for corr in sent:
            got, body = c.recv_response()
            assert got == corr
            p = kwire.decode_produce(body, 7)[(t, 0)]
            assert p["error_code"] == 0, p
            offsets.append(p["base_offset"])
    assert offsets == list(range(50))
