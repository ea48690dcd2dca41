"""InitProducerId (API 22) over raw requests: every call gets a producer id no
other call got - across versions, across the brokers of a three-node cluster
(blocks of 1000 from the controller, AllocateProducerIds / the ProducerIds
record), after the controller is killed (the new one carries on after the
last committed block), and after a restart, standalone (a block file in the
log dir) or in the cluster. Kafka's errors for a transactional id (Tern runs
no transaction coordinator), a bad timeout, a producer id without an epoch.

Request and response layouts are written here from Kafka's
InitProducerIdRequest.json / AllocateProducerIdsRequest.json and their
responses."""

import time

import kwire
from test_controller import start_cluster
from test_quorum import agreed_leader, restart_same_ports, wait_for

INIT_PRODUCER_ID = 22
ALLOCATE_PRODUCER_IDS = 67
BLOCK = 1000

COORDINATOR_LOAD_IN_PROGRESS = 14
INVALID_REQUEST = 42
INVALID_TRANSACTION_TIMEOUT = 50
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
STALE_BROKER_EPOCH = 77


def init_body(version, txn=None, timeout_ms=60000, pid=-1, epoch=-1):
    flexible = version >= 2
    body = (kwire.compact_string(txn) if flexible else kwire.string(txn)) + kwire.i32(timeout_ms)
    if version >= 3:
        body += kwire.i64(pid) + kwire.i16(epoch)
    if flexible:
        body += kwire.TAGS_NONE
    return body


def decode_init(resp, version):
    r = kwire.Reader(resp)
    r.i32()  # throttle_time_ms
    out = (r.i16(), r.i64(), r.i16())
    if version >= 2:
        r.tags()
    assert r.left() == 0, resp
    return out


def init_producer_id(conn, version=4, **kw):
    """-> (error_code, producer_id, producer_epoch)."""
    return decode_init(conn.request(INIT_PRODUCER_ID, version, init_body(version, **kw), flexible=version >= 2),
                       version)


def many_ids(bootstrap, n, version=4, timeout=30):
    """n producer ids from one broker, pipelined 100 at a time on one
    connection; COORDINATOR_LOAD_IN_PROGRESS (no block yet) is retried, as
    clients do. Any other error fails."""
    ids = []
    deadline = time.time() + timeout
    with kwire.Conn(bootstrap, timeout=15) as c:
        while len(ids) < n:
            k = min(100, n - len(ids))
            corrs = [c.send_request(INIT_PRODUCER_ID, version, init_body(version), flexible=version >= 2)
                     for _ in range(k)]
            for corr in corrs:
                got, resp = c.recv_response(flexible_header=version >= 2)
                assert got == corr
                err, pid, epoch = decode_init(resp, version)
                if err == COORDINATOR_LOAD_IN_PROGRESS:
                    assert time.time() < deadline, "no producer id block within %ds" % timeout
                    continue
                assert (err, epoch) == (0, 0), (err, pid, epoch)
                ids.append(pid)
            if len(ids) < n:
                time.sleep(0.01)
    return ids


def api_keys(bootstrap):
    with kwire.Conn(bootstrap) as c:
        return c.api_versions(3)["api_keys"]


def allocate(conn, broker_id, broker_epoch):
    body = kwire.i32(broker_id) + kwire.i64(broker_epoch) + kwire.TAGS_NONE
    r = kwire.Reader(conn.request(ALLOCATE_PRODUCER_IDS, 0, body, flexible=True))
    r.i32()
    out = (r.i16(), r.i64(), r.i32())
    r.tags()
    return out


def test_standalone_ids_are_unique_across_versions_blocks_and_restarts(broker):
    seen = []
    with kwire.Conn(broker.bootstrap) as c:
        for v in range(5):
            for _ in range(3):
                err, pid, epoch = init_producer_id(c, v)
                assert (err, epoch) == (0, 0) and pid >= 0, (v, err, pid, epoch)
                seen.append(pid)
        # KIP-360: an idempotent producer's id and epoch are not resumed;
        # it gets a new id, epoch 0. Without a transactional id the timeout
        # is not looked at (Kafka's TransactionCoordinator).
        err, pid, epoch = init_producer_id(c, 3, pid=seen[0], epoch=4, timeout_ms=-1)
        assert (err, epoch) == (0, 0) and pid not in seen
        seen.append(pid)
    # Past the first block of 1000.
    seen += many_ids(broker.bootstrap, 1200)
    assert len(set(seen)) == len(seen)
    assert seen == sorted(seen)
    assert max(seen) >= BLOCK
    block_file = broker.data_dir / "producer-id-block"
    assert block_file.read_text().split("\n")[0] == "0"
    assert int(block_file.read_text().split("\n")[1]) > max(seen)

    # A clean restart, then a crash: never an id twice.
    broker.restart()
    after = many_ids(broker.bootstrap, 10)
    assert min(after) > max(seen), (after, max(seen))
    seen += after
    broker.kill9()
    broker.start()
    after = many_ids(broker.bootstrap, 10)
    assert min(after) > max(seen), (after, max(seen))

    # No quorum: AllocateProducerIds is not served, and never advertised.
    assert ALLOCATE_PRODUCER_IDS not in api_keys(broker.bootstrap)
    with kwire.Conn(broker.bootstrap) as c:
        c.send_request(ALLOCATE_PRODUCER_IDS, 0, kwire.i32(0) + kwire.i64(1) + kwire.TAGS_NONE, flexible=True)
        assert c.is_closed_by_peer()


def test_kafka_errors_for_transactional_ids_and_bad_fields(broker):
    with kwire.Conn(broker.bootstrap) as c:
        for v in range(5):
            # No transaction coordinator: an error both librdkafka and Java
            # treat as fatal, not one they would retry forever.
            err, pid, epoch = init_producer_id(c, v, txn="orders-tx")
            assert (err, pid, epoch) == (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1), v
            assert init_producer_id(c, v, txn="")[0] == INVALID_REQUEST
            for bad in (0, -1, 900001):
                assert init_producer_id(c, v, txn="orders-tx", timeout_ms=bad)[0] == INVALID_TRANSACTION_TIMEOUT
        # KafkaApis: an id without an epoch, or the reverse.
        assert init_producer_id(c, 3, pid=-1, epoch=2)[0] == INVALID_REQUEST
        assert init_producer_id(c, 4, pid=12, epoch=-1)[0] == INVALID_REQUEST
        assert init_producer_id(c, 4)[0] == 0  # the connection still serves
    # v5 (KIP-890) is not served: the connection closes, as for any
    # unsupported version.
    with kwire.Conn(broker.bootstrap) as c:
        c.send_request(INIT_PRODUCER_ID, 5, init_body(4), flexible=True)
        assert c.is_closed_by_peer()
    # A truncated body closes the connection too.
    with kwire.Conn(broker.bootstrap) as c:
        c.send_request(INIT_PRODUCER_ID, 0, kwire.string(None) + b"\x00\x01")
        assert c.is_closed_by_peer()


def blocks_of(ids):
    return {i // BLOCK for i in ids}


def test_cluster_ids_unique_across_brokers_controller_failover_and_restart(broker_factory):
    brokers, ports = start_cluster(broker_factory)
    node = {int(b.props["node.id"]): b for b in brokers}
    for b in brokers:
        assert ALLOCATE_PRODUCER_IDS not in api_keys(b.bootstrap)

    # Every broker hands out ids from its own blocks; broker 0 needs a
    # second block (prefetched at 90% of the first).
    got = {0: many_ids(node[0].bootstrap, 1500), 1: many_ids(node[1].bootstrap, 50, version=0),
           2: many_ids(node[2].bootstrap, 50, version=2)}
    every = [i for ids in got.values() for i in ids]
    assert len(set(every)) == len(every)
    for n, ids in got.items():
        assert ids == sorted(ids)
        for m in got:
            if m != n:
                assert not blocks_of(ids) & blocks_of(got[m]), (n, m)
    assert len(blocks_of(got[0])) >= 2

    # A raw AllocateProducerIds with a stale epoch: refused by the
    # controller, also when sent to another broker (forwarded).
    leader, epoch = agreed_leader(brokers)
    other = node[(leader + 1) % 3]
    for b in (node[leader], other):
        with kwire.Conn(b.bootstrap) as c:
            assert allocate(c, 0, -1)[0] == STALE_BROKER_EPOCH

    # The controller dies. A survivor that runs out of ids gets its next
    # block from the new controller, after every block handed out before.
    last_block = max(blocks_of(every))
    node[leader].kill9()
    survivors = [b for n, b in node.items() if n != leader]
    wait_for("a new controller", lambda: agreed_leader(survivors, epoch), 15)
    more = many_ids(survivors[0].bootstrap, 1200)
    assert not set(more) & set(every)
    fresh = [i for i in more if i // BLOCK > last_block]
    assert fresh, "no block allocated after the failover"
    every += more

    # The killed node comes back: its ids come from a new block too.
    restart_same_ports(node[leader], ports[leader])
    back = many_ids(node[leader].bootstrap, 20)
    assert not blocks_of(back) & blocks_of(every)
    every += back
    assert len(set(every)) == len(every)


def test_without_a_controller_the_request_waits_then_is_retriable(broker_factory):
    """No quorum, no block: the request waits for one, then gets
    COORDINATOR_LOAD_IN_PROGRESS (Kafka's answer, retried by every client);
    once a controller is back the next request gets an id."""
    brokers, ports = start_cluster(broker_factory)
    survivor, gone = brokers[0], brokers[1:]
    for b in gone:
        b.kill9()
    with kwire.Conn(survivor.bootstrap, timeout=30) as c:
        assert init_producer_id(c, 4) == (COORDINATOR_LOAD_IN_PROGRESS, -1, -1)
    restart_same_ports(gone[0], ports[1])
    ids = many_ids(survivor.bootstrap, 5, timeout=30)
    assert len(set(ids)) == 5
