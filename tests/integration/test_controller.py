"""The controller of a three-broker cluster: topics created on any broker are
placed on all three, every broker describes them alike, leaders spread; a
killed Raft leader is replaced and the cluster keeps creating and deleting
topics; a killed partition leader is fenced and replaced from the ISR, then
unfenced when it comes back; a restarted node rebuilds its metadata from its
snapshot and log."""

import re
import time

import kwire
from helpers import run_cli
from test_quorum import agreed_leader, free_ports, quorum_status, restart_same_ports, start_quorum, wait_for

HEARTBEAT_MS = 150
SESSION_TIMEOUT_MS = 1000

ROW_RE = re.compile(r"Topic: (\S+)\tPartition: (\d+)\tLeader: (-?\d+|none)\tReplicas: ([\d,]*)\tIsr: ([\d,]*)")


def start_cluster(broker_factory, n=3):
    brokers, ports = start_quorum(broker_factory, n, extra={
        "broker.heartbeat.interval.ms": str(HEARTBEAT_MS),
        "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
    })
    wait_for("a Raft leader", lambda: agreed_leader(brokers), 15)
    wait_for("three unfenced brokers", lambda: all(len(live_brokers(b)) == n for b in brokers), 15)
    return brokers, ports


def live_brokers(broker):
    """Node ids in a Metadata response of `broker` (unfenced brokers)."""
    try:
        with kwire.Conn(broker.bootstrap, timeout=5) as c:
            return sorted(b["node_id"] for b in c.metadata([])["brokers"])
    except (OSError, kwire.ConnectionClosed):
        return []


def tern_topics(broker, *args, check=True):
    return run_cli(["topics", "--bootstrap-server", broker.bootstrap] + list(args), timeout=30, check=check)


def describe(broker, topic):
    """{partition: (leader, replicas, isr)} from `tern topics --describe`, or
    None when it fails."""
    proc = tern_topics(broker, "--describe", "--topic", topic, check=False)
    if proc.returncode != 0:
        return None
    rows = {}
    for m in ROW_RE.finditer(proc.stdout):
        leader = -1 if m.group(3) == "none" else int(m.group(3))
        rows[int(m.group(2))] = (leader, [int(x) for x in m.group(4).split(",") if x],
                                 [int(x) for x in m.group(5).split(",") if x])
    return rows


def create(broker, topic, partitions, rf, timeout=20):
    """Creates through `broker`, retrying while no controller answers."""
    deadline = time.time() + timeout
    while True:
        proc = tern_topics(broker, "--create", "--topic", topic, "--partitions", str(partitions),
                           "--replication-factor", str(rf), check=False)
        if proc.returncode == 0:
            return proc
        if time.time() > deadline:
            raise AssertionError("create %s failed: %s %s" % (topic, proc.stdout, proc.stderr))
        time.sleep(0.1)


def same_everywhere(brokers, topic, partitions):
    views = [describe(b, topic) for b in brokers]
    if any(v is None or len(v) != partitions for v in views):
        return None
    return views[0] if all(v == views[0] for v in views) else None


def test_create_anywhere_describe_everywhere_and_spread(broker_factory):
    brokers, _ = start_cluster(broker_factory)
    leader, _ = agreed_leader(brokers)
    # Through a broker that is not the controller: it forwards.
    other = brokers[(leader + 1) % 3]
    proc = create(other, "my-failsafe-topic", 1, 3)
    assert "Created topic my-failsafe-topic" in proc.stdout

    view = wait_for("the same description on every broker",
                    lambda: same_everywhere(brokers, "my-failsafe-topic", 1), 10)
    lead, replicas, isr = view[0]
    assert sorted(replicas) == [0, 1, 2]
    assert lead in replicas
    assert sorted(isr) == [0, 1, 2]

    # Already there: Kafka's error, from any broker.
    proc = tern_topics(brokers[leader], "--create", "--topic", "my-failsafe-topic", "--partitions", "1",
                       "--replication-factor", "3", check=False)
    assert proc.returncode != 0
    assert "already exists" in (proc.stdout + proc.stderr)
    # More replicas than brokers.
    proc = tern_topics(other, "--create", "--topic", "too-many", "--partitions", "1",
                       "--replication-factor", "4", check=False)
    assert proc.returncode != 0
    assert "replication factor" in (proc.stdout + proc.stderr).lower()

    create(brokers[leader], "six", 6, 3)
    view = wait_for("six partitions everywhere", lambda: same_everywhere(brokers, "six", 6), 10)
    leaders = [view[p][0] for p in range(6)]
    assert sorted(set(leaders)) == [0, 1, 2], leaders
    for p in range(6):
        assert sorted(view[p][1]) == [0, 1, 2]
        assert view[p][0] == view[p][1][0]  # the preferred replica leads

    # Every broker holds a log for every replica it has.
    for b in brokers:
        for p in range(6):
            assert (b.data_dir / ("six-%d" % p)).is_dir()

    # Only the leader takes writes; the others send clients back to metadata.
    batch = kwire.record_batch([(b"k", b"v", [])])
    for b in brokers:
        node = int(b.props["node.id"])
        with kwire.Conn(b.bootstrap) as c:
            err = c.produce("six", 0, batch, acks=1)["error_code"]
        assert err == (0 if node == view[0][0] else 6), (node, err)

    # Deleted from any broker: gone everywhere, logs included.
    tern_topics(other, "--delete", "--topic", "six")
    wait_for("six gone everywhere", lambda: all(describe(b, "six") is None for b in brokers), 10)
    wait_for("six's logs deleted",
             lambda: not any((b.data_dir / "six-0").exists() for b in brokers), 10)


def test_raft_leader_killed_new_controller_and_rejoin(broker_factory):
    brokers, ports = start_cluster(broker_factory)
    leader, epoch = agreed_leader(brokers)
    create(brokers[0], "before-kill", 3, 3)
    wait_for("before-kill everywhere", lambda: same_everywhere(brokers, "before-kill", 3), 10)

    killed = brokers[leader]
    killed.kill9()
    survivors = [b for b in brokers if b is not killed]
    new_leader, new_epoch = wait_for("a new Raft leader", lambda: agreed_leader(survivors, epoch), 10)
    assert new_leader != leader
    assert quorum_status(survivors[0])["LeaderId"] == new_leader

    # The new controller creates and deletes topics, through either survivor.
    create(survivors[0], "after-kill", 2, 2)
    wait_for("after-kill on the survivors", lambda: same_everywhere(survivors, "after-kill", 2), 10)
    tern_topics(survivors[1], "--delete", "--topic", "before-kill")
    wait_for("before-kill deleted", lambda: all(describe(b, "before-kill") is None for b in survivors), 10)

    # The killed node comes back with its metadata (log replay) and learns
    # what changed while it was away.
    restart_same_ports(killed, ports[leader])
    wait_for("the old leader sees after-kill", lambda: same_everywhere(brokers, "after-kill", 2), 15)
    wait_for("the old leader without before-kill", lambda: describe(killed, "before-kill") is None, 15)
    wait_for("three live brokers again", lambda: live_brokers(killed) == [0, 1, 2], 10)


def test_restart_after_snapshot_keeps_metadata(broker_factory):
    """More than 1,024 entries: the restarted node loads a snapshot, then
    replays the log after it."""
    brokers, ports = start_cluster(broker_factory)
    create(brokers[0], "cfg-topic", 1, 3)
    wait_for("cfg-topic everywhere", lambda: same_everywhere(brokers, "cfg-topic", 1), 10)
    leader, _ = agreed_leader(brokers)
    # Each IncrementalAlterConfigs is one entry; alternate values so every
    # one changes the image.
    with kwire.Conn(brokers[leader].bootstrap) as c:
        for i in range(1100):
            body = (kwire.array([kwire.i8(2) + kwire.string("cfg-topic") +
                                 kwire.array([kwire.string("retention.ms") + kwire.i8(0) +
                                              kwire.string(str(100000 + i))])]) + kwire.boolean(False))
            resp = c.request(44, 0, body)
            r = kwire.Reader(resp)
            r.i32()
            results = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.string()))
            assert results[0][0] == 0, results
    victim = brokers[(leader + 1) % 3]
    victim_id = int(victim.props["node.id"])
    victim.kill9()
    snapshots = list((victim.data_dir / "__cluster_metadata-0").glob("snapshot-*"))
    assert snapshots, "no Raft snapshot was taken after 1,100 entries"
    restart_same_ports(victim, ports[victim_id])
    log = victim.log_text()
    assert "restored from a snapshot" in log
    wait_for("the restarted node describes the topic",
             lambda: same_everywhere(brokers, "cfg-topic", 1), 15)
    # It replays the entries after its snapshot as the leader's commit
    # index reaches it: the last config value arrives last.
    wait_for("the last config value on the restarted node", lambda: "retention.ms=101099" in run_cli(
        ["topics", "--bootstrap-server", victim.bootstrap, "--describe", "--topic", "cfg-topic"]).stdout, 15)


def test_partition_leader_killed_is_fenced_and_replaced(broker_factory):
    brokers, ports = start_cluster(broker_factory)
    create(brokers[0], "failover", 1, 3)
    view = wait_for("failover everywhere", lambda: same_everywhere(brokers, "failover", 1), 10)
    old_leader = view[0][0]
    victim = brokers[old_leader]
    victim.kill9()
    survivors = [b for b in brokers if b is not victim]
    t0 = time.time()

    def moved():
        v = same_everywhere(survivors, "failover", 1)
        return v if v and v[0][0] not in (-1, old_leader) else None

    view = wait_for("a new leader from the ISR", moved, 15)
    print("partition leader moved after %.2f s" % (time.time() - t0))
    new_leader, replicas, isr = view[0]
    assert new_leader in isr
    assert old_leader not in isr
    assert sorted(replicas) == [0, 1, 2]
    assert old_leader not in live_brokers(survivors[0])

    # Back: registered again and unfenced.
    restart_same_ports(victim, ports[old_leader])
    wait_for("the restarted broker unfenced", lambda: live_brokers(survivors[0]) == [0, 1, 2], 15)
    wait_for("the restarted broker told it is unfenced", lambda: "unfenced" in victim.log_text(), 10)


def test_node_beyond_the_voters_joins_as_standby(broker_factory):
    brokers, ports = start_cluster(broker_factory)
    voters = brokers[0].props["controller.quorum.voters"]
    (cport,) = free_ports(1)
    props = dict(brokers[0].props)
    props.update({
        "node.id": "3",
        "listeners": "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:%d" % cport,
        "controller.quorum.voters": voters,
        # Where a node outside the voters registers before the quorum
        # knows it: any member's broker listener.
        "controller.quorum.bootstrap.servers": ",".join(b.bootstrap for b in brokers),
    })
    props.pop("log.dirs", None)
    standby = broker_factory(props=props, name="node3")
    everyone = brokers + [standby]
    wait_for("four live brokers", lambda: live_brokers(brokers[0]) == [0, 1, 2, 3], 15)

    def observed():
        s = quorum_status(standby)
        return s if s and "3" in s["CurrentObservers"] and sorted(s["CurrentVoters"]) == [0, 1, 2] else None

    wait_for("node 3 listed as an observer", observed, 15)
    # It replicates the metadata: a topic created elsewhere reaches it, and
    # placement may use it.
    create(brokers[1], "with-standby", 4, 4)
    view = wait_for("with-standby on all four", lambda: same_everywhere(everyone, "with-standby", 4), 15)
    assert sorted(view[0][1]) == [0, 1, 2, 3]


def test_clients_produce_and_consume_in_a_group_across_the_cluster(broker_factory):
    """librdkafka (confluent-kafka) on the three-broker cluster: the producer
    follows each partition to its leader, a consumer group finds one
    coordinator whichever broker it asks, reads everything and commits."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    brokers, _ = start_cluster(broker_factory)
    bootstrap = ",".join(b.bootstrap for b in brokers)
    create(brokers[0], "orders", 3, 3)
    view = wait_for("orders everywhere", lambda: same_everywhere(brokers, "orders", 3), 10)
    assert sorted({view[p][0] for p in range(3)}) == [0, 1, 2]

    # The same coordinator from every broker (FindCoordinator v2).
    coordinators = set()
    for b in brokers:
        with kwire.Conn(b.bootstrap) as c:
            r = kwire.Reader(c.request(10, 2, kwire.string("g-orders") + kwire.i8(0)))
            r.i32()
            err, _msg, node = r.i16(), r.string(), r.i32()
            assert err == 0
            coordinators.add(node)
    assert len(coordinators) == 1

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(300):
        p.produce("orders", key=b"k%d" % i, value=b"v%d" % i, partition=i % 3)
    assert p.flush(30) == 0

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g-orders", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe(["orders"])
    seen = set()
    deadline = time.time() + 30
    while len(seen) < 300 and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        seen.add(m.value())
    assert len(seen) == 300
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition("orders", i) for i in range(3)], 10)
    assert sum(tp.offset for tp in committed) == 300
    c.close()


def test_one_cluster_id_for_the_whole_quorum(broker_factory):
    """Every node reports the same cluster id (derived from the voter set,
    as KRaft nodes share the id they were formatted with); it survives a
    restart, and another quorum has another id."""
    brokers, ports = start_cluster(broker_factory)

    def ids():
        out = set()
        for b in brokers:
            with kwire.Conn(b.bootstrap) as c:
                out.add(c.metadata([])["cluster_id"])
        return out

    first = ids()
    assert len(first) == 1 and None not in first and "" not in first, first
    from test_quorum import restart_same_ports
    brokers[1].stop()
    restart_same_ports(brokers[1], ports[1])
    wait_for("three unfenced brokers", lambda: all(len(live_brokers(b)) == 3 for b in brokers), 15)
    assert ids() == first
    port = free_ports(1)[0]
    other = broker_factory(name="elsewhere", props={
        "node.id": "0",
        "controller.quorum.voters": "0@127.0.0.1:%d" % port,
        "listeners": "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:%d" % port,
        "controller.listener.names": "CONTROLLER",
    })
    with kwire.Conn(other.bootstrap) as c:
        assert c.metadata([])["cluster_id"] not in first
