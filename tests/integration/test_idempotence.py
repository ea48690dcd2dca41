"""Idempotent producers with raw requests: InitProducerId hands out producer
ids; the partition leader acknowledges a replayed batch (same producer id,
epoch and sequence) with its original offset without appending it again,
answers a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER and an older epoch
with INVALID_PRODUCER_EPOCH, and keeps doing so after a restart and on a new
leader (producer state rebuilt from the log on every replica).

Request and response layouts are written here from Kafka's
InitProducerIdRequest.json / InitProducerIdResponse.json."""

import kwire
from helpers import create_topic, unique_topic

INIT_PRODUCER_ID = 22
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47


def init_producer_id(conn, version=0):
    """-> (error_code, producer_id, producer_epoch); transactional_id null."""
    flexible = version >= 2
    if flexible:
        body = kwire.uvarint(0) + kwire.i32(60000)
        if version >= 3:
            body += kwire.i64(-1) + kwire.i16(-1)
        body += kwire.TAGS_NONE
    else:
        body = kwire.string(None) + kwire.i32(60000)
    r = kwire.Reader(conn.request(INIT_PRODUCER_ID, version, body, flexible=flexible))
    r.i32()  # throttle_time_ms
    out = (r.i16(), r.i64(), r.i16())
    if flexible:
        r.tags()
    assert r.left() == 0
    return out


def batch(pid, epoch, seq, n, tag=b"v"):
    recs = [(None, b"%s-%d" % (tag, seq + i), []) for i in range(n)]
    return kwire.record_batch(recs, producer_id=pid, producer_epoch=epoch, base_sequence=seq)


def end_offset(conn, topic):
    return conn.list_offsets(topic, 0, kwire.LATEST)["offset"]


def test_api_versions_advertises_init_producer_id(broker):
    with kwire.Conn(broker.bootstrap) as c:
        av = c.api_versions(3)
    assert av["api_keys"].get(INIT_PRODUCER_ID) == (0, 4), av["api_keys"]


def test_replay_gap_and_fenced_epoch(broker):
    t = unique_topic("idem")
    create_topic(broker.bootstrap, t)
    with kwire.Conn(broker.bootstrap) as c:
        ids = set()
        for v in (0, 1, 2, 3, 4):
            err, pid, epoch = init_producer_id(c, v)
            assert err == 0 and pid >= 0 and epoch == 0, (v, err, pid, epoch)
            ids.add(pid)
        assert len(ids) == 5  # a new producer id each time
        err, pid, _ = init_producer_id(c)

        r = c.produce(t, 0, batch(pid, 0, 0, 3))
        assert (r["error_code"], r["base_offset"]) == (0, 0), r
        r = c.produce(t, 0, batch(pid, 0, 3, 2))
        assert (r["error_code"], r["base_offset"]) == (0, 3), r
        assert end_offset(c, t) == 5
        # A retry of either batch: the original offset, nothing appended.
        for seq, n, base in ((0, 3, 0), (3, 2, 3)):
            r = c.produce(t, 0, batch(pid, 0, seq, n))
            assert (r["error_code"], r["base_offset"]) == (0, base), (seq, r)
        assert end_offset(c, t) == 5
        # A gap: refused, nothing appended.
        r = c.produce(t, 0, batch(pid, 0, 9, 1))
        assert r["error_code"] == OUT_OF_ORDER_SEQUENCE_NUMBER, r
        assert end_offset(c, t) == 5
        # In sequence again.
        r = c.produce(t, 0, batch(pid, 0, 5, 1))
        assert (r["error_code"], r["base_offset"]) == (0, 5), r
        # A new epoch starts at sequence 0; the old epoch is fenced after.
        r = c.produce(t, 0, batch(pid, 1, 4, 1))
        assert r["error_code"] == OUT_OF_ORDER_SEQUENCE_NUMBER, r
        r = c.produce(t, 0, batch(pid, 1, 0, 1))
        assert (r["error_code"], r["base_offset"]) == (0, 6), r
        r = c.produce(t, 0, batch(pid, 0, 6, 1))
        assert r["error_code"] == INVALID_PRODUCER_EPOCH, r
        assert end_offset(c, t) == 7
        # Another producer is independent.
        err, other, _ = init_producer_id(c)
        r = c.produce(t, 0, batch(other, 0, 0, 1))
        assert (r["error_code"], r["base_offset"]) == (0, 7), r

    # After a restart the state is rebuilt: the retry is still recognised.
    broker.restart()
    with kwire.Conn(broker.bootstrap) as c:
        r = c.produce(t, 0, batch(pid, 1, 0, 1))
        assert (r["error_code"], r["base_offset"]) == (0, 6), r
        r = c.produce(t, 0, batch(pid, 1, 1, 1))
        assert (r["error_code"], r["base_offset"]) == (0, 8), r
        err, pid2, _ = init_producer_id(c)
        assert err == 0 and pid2 not in ids | {pid, other}


def test_new_leader_recognises_a_retry_of_what_the_old_one_appended(broker_factory):
    from test_controller import create, same_everywhere, start_cluster
    from test_quorum import wait_for

    brokers, _ = start_cluster(broker_factory)
    create(brokers[0], "idem-rf3", 1, 3)
    view = wait_for("idem-rf3 everywhere", lambda: same_everywhere(brokers, "idem-rf3", 1), 10)
    leader = next(b for b in brokers if int(b.props["node.id"]) == view[0][0])
    with kwire.Conn(brokers[0].bootstrap) as c:
        err, pid, epoch = init_producer_id(c)
        assert err == 0
    with kwire.Conn(leader.bootstrap) as c:
        for k in range(3):
            r = c.produce("idem-rf3", 0, batch(pid, epoch, 2 * k, 2), acks=-1)
            assert (r["error_code"], r["base_offset"]) == (0, 2 * k), r

    leader.kill9()
    survivors = [b for b in brokers if b is not leader]
    view = wait_for("a new leader", lambda: (lambda v: v if v and v[0][0] not in (-1, int(leader.props["node.id"]))
                                             else None)(same_everywhere(survivors, "idem-rf3", 1)), 15)
    new = next(b for b in survivors if int(b.props["node.id"]) == view[0][0])
    with kwire.Conn(new.bootstrap) as c:
        # The producer did not see the last acknowledgement and retries.
        r = c.produce("idem-rf3", 0, batch(pid, epoch, 4, 2), acks=-1)
        assert (r["error_code"], r["base_offset"]) == (0, 4), r
        r = c.produce("idem-rf3", 0, batch(pid, epoch, 6, 1), acks=-1)
        assert (r["error_code"], r["base_offset"]) == (0, 6), r
        r = c.produce("idem-rf3", 0, batch(pid, epoch, 9, 1), acks=-1)
        assert r["error_code"] == OUT_OF_ORDER_SEQUENCE_NUMBER, r
        assert end_offset(c, "idem-rf3") == 7
