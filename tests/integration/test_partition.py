"""A network partition of a partition leader, on a real network: three
brokers, each in a network namespace of its own behind a bridge (netns.py),
and blackhole routes that cut the leader off from the other two brokers while
the test's clients still reach all three.

The isolated leader cannot complete acks=all any more (its followers cannot
fetch, and it cannot reach the controller to shrink the ISR); the majority
fences it, elects a new leader from the ISR and takes acks=all writes with
min.insync.replicas=2. Healed, the old leader follows the new one, drops what
it appended alone (its last epoch diverges: KIP-101/KIP-320 truncation) and
the three logs end byte-identical, with every acknowledged record in them."""

import time

import pytest

import kwire
import netns
from test_controller import tern_topics
from test_quorum import agreed_leader, wait_for
from test_replication import live, segment_bytes

BROKER_PORT = 9092  # every broker has a namespace, hence ports, of its own
CONTROLLER_PORT = 9093
ELECTION_TIMEOUT_MS = 500
HEARTBEAT_MS = 150
SESSION_TIMEOUT_MS = 1000

REQUEST_TIMED_OUT = 7
NOT_LEADER_OR_FOLLOWER = 6
NOT_ENOUGH_REPLICAS = 19
NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20
REFUSALS = (REQUEST_TIMED_OUT, NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND)


@pytest.fixture
def netns_cluster(request, tmp_path):
    """(net, brokers): three brokers (broker i = node.id i = Raft voter i)
    in three namespaces. Brokers, namespaces, veths and the bridge are
    removed at teardown, failed test or not."""
    ok, why = netns.available()
    if not ok:
        pytest.skip("network namespaces unavailable: %s" % why)
    net = netns.TestNetwork(3)
    brokers = []
    request.node._tern_brokers = brokers  # conftest attaches their logs to a failure
    errors = []
    try:
        net.create()
        voters = ",".join("%d@%s:%d" % (i, net.addr(i), CONTROLLER_PORT) for i in range(3))
        for i in range(3):
            props = {
                "node.id": str(i),
                "listeners": "PLAINTEXT://%s:%d,CONTROLLER://%s:%d" % (net.addr(i), BROKER_PORT, net.addr(i),
                                                                      CONTROLLER_PORT),
                "controller.listener.names": "CONTROLLER",
                "controller.quorum.voters": voters,
                "controller.quorum.election.timeout.ms": str(ELECTION_TIMEOUT_MS),
                "broker.heartbeat.interval.ms": str(HEARTBEAT_MS),
                "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
            }
            b = netns.NetnsBroker(net, i, tmp_path / ("node%d" % i), "node%d" % i, props)
            brokers.append(b)
            b.start()
        yield net, brokers
    finally:
        # Heal first: a broker cut off from the controller would spend its
        # whole controlled shutdown waiting for it.
        net.heal()
        for b in brokers:
            try:
                b.stop()
            except AssertionError as e:
                errors.append(str(e))
            finally:
                b.kill9()
        try:
            net.destroy()
        except RuntimeError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("; ".join(errors), pytrace=False)


def partition_view(broker, topic):
    """{partition: (leader, replicas, isr)} from `broker`'s own Metadata, or
    None. Raw Metadata, not `tern topics --describe`: that one may talk to
    the controller, which on one side of a partition is out of reach."""
    try:
        with kwire.Conn(broker.bootstrap, timeout=5) as c:
            md = c.metadata([topic])
    except (OSError, kwire.ConnectionClosed):
        return None
    t = md["topics"][0]
    if t["error_code"] != 0:
        return None
    return {p["partition_index"]: (p["leader_id"], p["replica_nodes"], sorted(p["isr_nodes"]))
            for p in t["partitions"]}


def same_view(brokers, topic, partitions):
    views = [partition_view(b, topic) for b in brokers]
    if any(v is None or len(v) != partitions for v in views):
        return None
    return views[0] if all(v == views[0] for v in views) else None


def produce_to(bootstrap, topic, partition, values, timeout_ms=20000):
    """acks=all through librdkafka to one partition: (acknowledged values,
    [(value, error)] of the rest)."""
    from confluent_kafka import Producer

    acked, failed = [], []

    def on_delivery(err, msg):
        if err is None:
            acked.append(msg.value())
        else:
            failed.append((msg.value(), err))

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                  "message.timeout.ms": timeout_ms})
    for v in values:
        p.produce(topic, value=v, partition=partition, on_delivery=on_delivery)
        p.poll(0)
    p.flush(timeout_ms / 1000.0 + 15)
    return acked, failed


def consume_partition(bootstrap, topic, partition, expect, timeout=30):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "check-%f" % time.time(),
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    got = []
    deadline = time.time() + timeout
    while len(got) < expect and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append(m.value())
    c.close()
    return got


def numbered(start, n):
    return [b"%08d" % i for i in range(start, start + n)]


@pytest.mark.parametrize("with_controller", [False, True], ids=["leader-only", "leader-and-controller"])
def test_isolated_leader_cannot_complete_acks_all(netns_cluster, with_controller):
    """with_controller: the isolated broker is also the active controller
    (Raft leader), so the majority elects a controller too before it can
    fence the old leader."""
    net, brokers = netns_cluster
    wait_for("three unfenced brokers", lambda: all(live(b) == [0, 1, 2] for b in brokers), 20)
    controller, _ = wait_for("a Raft leader", lambda: agreed_leader(brokers), 15)
    topic = "cut-off"
    # Three partitions: their leaders spread over the three brokers, so one
    # is led by the controller and the others are not.
    proc = tern_topics(brokers[0], "--create", "--topic", topic, "--partitions", "3", "--replication-factor", "3",
                       "--config", "min.insync.replicas=2", check=False)
    assert proc.returncode == 0, proc.stderr
    view = wait_for("the topic everywhere with full ISRs",
                    lambda: (lambda v: v if v and all(sorted(v[p][2]) == [0, 1, 2] for p in v) else None)(
                        same_view(brokers, topic, 3)), 15)
    part = next((p for p in sorted(view) if (view[p][0] == controller) == with_controller), None)
    assert part is not None, "no partition fits (controller %d): %r" % (controller, view)
    lid = view[part][0]
    leader = brokers[lid]
    majority = [b for b in brokers if b is not leader]
    everyone = ",".join(b.bootstrap for b in brokers)

    acked, failed = produce_to(everyone, topic, part, numbered(0, 100))
    assert not failed, failed[:3]
    assert acked == numbered(0, 100)

    net.isolate(lid)
    t_cut = time.time()

    # The isolated leader still takes the request (it still believes it
    # leads) but cannot get it replicated: refused or timed out, never
    # acknowledged.
    lost = kwire.record_batch([(b"k", b"isolated-raw", [])])
    try:
        with kwire.Conn(leader.bootstrap, timeout=15) as c:
            r = c.produce(topic, part, lost, acks=-1, timeout_ms=2000)
        assert r["error_code"] in REFUSALS, r
        raw_outcome = "error %d" % r["error_code"]
    except (OSError, kwire.ConnectionClosed) as e:  # no answer at all is not an acknowledgement either
        raw_outcome = repr(e)
    isolated = [b"isolated-%02d" % i for i in range(5)]
    ok, refused = produce_to(leader.bootstrap, topic, part, isolated, timeout_ms=3000)
    assert not ok, ok
    assert len(refused) == len(isolated), refused
    print("isolated leader %d (controller %d), partition %d: raw acks=all -> %s; librdkafka -> %s"
          % (lid, controller, part, raw_outcome, sorted({str(e) for _, e in refused})))
    print("its log holds the unacknowledged records: %s" % (b"isolated-" in segment_bytes(leader, topic, part)))

    # The majority fences it and elects a new leader from the ISR...
    def new_leader():
        v = same_view(majority, topic, 3)
        return v if v and v[part][0] not in (-1, lid) and lid not in v[part][2] else None

    view = wait_for("a new leader on the majority side", new_leader, 20)
    new_lid = view[part][0]
    print("new leader %d, ISR %s, %.1f s after the cut" % (new_lid, view[part][2], time.time() - t_cut))
    # ... which takes acks=all writes with two in-sync replicas.
    more, failed = produce_to(",".join(b.bootstrap for b in majority), topic, part, numbered(100, 100))
    assert not failed, failed[:3]
    assert more == numbered(100, 100)

    net.heal()
    t_heal = time.time()

    # The old leader comes back as a follower of the new one and rejoins the ISR.
    def rejoined():
        v = same_view(brokers, topic, 3)
        return v if v and v[part][0] == new_lid and sorted(v[part][2]) == [0, 1, 2] else None

    wait_for("the old leader back in the ISR", rejoined, 30)
    print("old leader back in the ISR %.1f s after the heal" % (time.time() - t_heal))

    # Every acknowledged record, in order, and nothing else.
    assert consume_partition(everyone, topic, part, 200) == numbered(0, 200)
    with kwire.Conn(brokers[new_lid].bootstrap) as c:
        assert c.list_offsets(topic, part, -1)["offset"] == 200
    # The replicas hold the same bytes: the old leader dropped what it
    # appended alone.
    wait_for("identical logs", lambda: len({segment_bytes(b, topic, part) for b in brokers}) == 1, 30)
    log = segment_bytes(leader, topic, part)
    for v in isolated + [b"isolated-raw"]:
        assert v not in log, v
    assert numbered(199, 1)[0] in log
