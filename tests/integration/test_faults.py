"""Replicated partitions under faults, on three real brokers.

- kill -9 of the partition leader, over and over (FAULT_KILLS times, 20 by
  default) while librdkafka produces numbered records with acks=all and
  min.insync.replicas=2: every acknowledged record is in the log exactly
  once, and the three replicas' logs are byte-identical afterwards. The
  produce/kill/verify logic is tests/fault/checker.py, shared with the soak
  script tests/fault/soak.sh. FAULT_KILLS, FAULT_SECONDS (200: the loop's
  time limit) and FAULT_RATE (300 records/s) override; a longer loop needs
  a larger TERN_TEST_TIMEOUT (300 s per test) as well.
- SIGSTOP of the leader past broker.session.timeout.ms after it appended
  records (acks=1) its followers never fetched: the controller fences it and
  elects a follower, acks=all goes on there, and on SIGCONT the deposed
  leader learns of the new leader epoch, truncates its divergent suffix
  (KIP-101/KIP-279 leader epochs, KIP-320 diverging epoch in Fetch) and
  follows: its log ends up byte-identical to the new leader's.
"""

import os
import signal
import sys
import time

import kwire
from helpers import REPO, tool
from test_controller import live_brokers, tern_topics
from test_quorum import agreed_leader, restart_same_ports, start_quorum, wait_for
from test_replication import segment_bytes

sys.path.insert(0, str(REPO / "tests" / "fault"))
import checker  # noqa: E402

FAULT_KILLS = int(os.environ.get("FAULT_KILLS", "20"))
# The loop stops here even short of FAULT_KILLS (and the test then fails):
# it must end inside the per-test limit of conftest (TERN_TEST_TIMEOUT).
FAULT_SECONDS = float(os.environ.get("FAULT_SECONDS", "200"))
# Followers fetch in rounds of up to 250 ms (Kafka's replica.fetch.min.bytes
# and replica.fetch.wait.max.ms): the leader then always holds records no
# follower has yet, so every kill leaves the killed leader with a divergent
# suffix to truncate when it comes back. With a round trip per append the
# window is a fraction of a millisecond and a kill almost never hits it.
BATCHED_FETCH = {"replica.fetch.min.bytes": "1000000", "replica.fetch.wait.max.ms": "250"}
PRODUCE_RATE = int(os.environ.get("FAULT_RATE", "300"))


def start_fault_cluster(broker_factory, session_timeout_ms, lag_ms, extra=None):
    """Three brokers that are also the Raft voters. The leader checks its
    ISR every replica.lag.time.max.ms / 2: Kafka's 30 s would make a
    restarted broker wait 15 s to be taken back into the ISR."""
    brokers, ports = start_quorum(broker_factory, 3, extra={
        "broker.heartbeat.interval.ms": "150",
        "broker.session.timeout.ms": str(session_timeout_ms),
        "replica.lag.time.max.ms": str(lag_ms),
        **(extra or {}),
    })
    wait_for("a Raft leader", lambda: agreed_leader(brokers), 15)
    wait_for("three unfenced brokers", lambda: all(len(live_brokers(b)) == 3 for b in brokers), 15)
    return brokers, ports


def create_rf3(broker, topic, timeout=30):
    """One partition on all three brokers, acks=all needing two of them
    (min.insync.replicas=2); retried while no controller answers."""
    deadline = time.time() + timeout
    while True:
        proc = tern_topics(broker, "--create", "--topic", topic, "--partitions", "1", "--replication-factor", "3",
                           "--config", "min.insync.replicas=2", check=False)
        if proc.returncode == 0:
            return
        assert time.time() < deadline, "create %s: %s %s" % (topic, proc.stdout, proc.stderr)
        time.sleep(0.2)


class BrokerCluster:
    """The checker's view of the test's brokers (see checker.KillLoop)."""

    def __init__(self, brokers, ports):
        self.brokers = brokers
        self.ports = ports
        self.nodes = [int(b.props["node.id"]) for b in brokers]
        self.paused = set()

    def describe(self, node, topic):
        b = self.brokers[node]
        if not b.alive() or node in self.paused:
            return None
        return checker.describe_cli(tool("tern"), b.bootstrap, topic)

    def kill(self, node):
        self.brokers[node].kill9()

    def start(self, node):
        restart_same_ports(self.brokers[node], self.ports[node])

    def segment_bytes(self, node, topic, partition=0):
        return segment_bytes(self.brokers[node], topic, partition)


def test_kill_the_leader_again_and_again(broker_factory):
    """kill -9 of whichever broker leads the partition, restart on the same
    ports, back into the ISR, FAULT_KILLS times while acks=all records keep
    coming; then every acknowledged one is in the log once and the replicas
    are byte-identical."""
    t_start = time.time()
    brokers, ports = start_fault_cluster(broker_factory, session_timeout_ms=1000, lag_ms=3000, extra=BATCHED_FETCH)
    cluster = BrokerCluster(brokers, ports)
    bootstrap = ",".join(b.bootstrap for b in brokers)
    topic = "kill-loop"
    create_rf3(brokers[0], topic)
    wait_for("every replica in the ISR", lambda: checker.full_isr(cluster, topic), 20)

    producer = checker.NumberedProducer(bootstrap, topic, rate=PRODUCE_RATE).start()
    loop = checker.KillLoop(cluster, topic)
    try:
        # Records before the first kill, so the first leader has some to lose.
        wait_for("first acknowledgements", lambda: len(producer.acked) >= 100, 30)
        loop.run(FAULT_KILLS, time.time() + FAULT_SECONDS)
    finally:
        producer.stop()
    verdict = checker.final_check(cluster, bootstrap, topic, producer, loop)
    truncations = sum(b.log_text().count("truncating") for b in brokers)
    print(verdict.text())
    print("%d truncations; test took %.0f s" % (truncations, time.time() - t_start))
    assert len(loop.rounds) >= FAULT_KILLS, "only %d of %d kills in %.0f s" % (
        len(loop.rounds), FAULT_KILLS, FAULT_SECONDS)
    assert len(producer.acked) > 0
    assert verdict.ok, verdict.text()
    # The point of the exercise: restarted leaders had suffixes to cut.
    assert truncations > 0, "no replica ever truncated its log: no kill left a divergent suffix"


def numbered(start, n):
    return [checker.VALUE_FMT % i for i in range(start, start + n)]


def produce_values(bootstrap, topic, values, timeout=60):
    """acks=all through librdkafka; returns (acknowledged, failed)."""
    from confluent_kafka import Producer

    acked, failed = [], []

    def on_delivery(err, msg):
        (failed if err else acked).append(msg.value() if err is None else (msg.value(), err.str()))

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2, "message.timeout.ms": 30000})
    for v in values:
        p.produce(topic, value=v, partition=0, on_delivery=on_delivery)
        p.poll(0)
    p.flush(timeout)
    return acked, failed


def log_values(broker, topic):
    """[(offset, partition leader epoch, value)] of every record in the
    broker's log files (read from disk, so also while it is stopped)."""
    out = []
    blob = segment_bytes(broker, topic)
    pos = 0
    while pos + 17 <= len(blob):
        length = int.from_bytes(blob[pos + 8:pos + 12], "big")
        epoch = int.from_bytes(blob[pos + 12:pos + 16], "big", signed=True)
        for batch in kwire.decode_batches(blob[pos:pos + 12 + length]):
            out.extend((off, epoch, v) for off, _k, v, _h in batch["records"])
        pos += 12 + length
    return out


def test_stopped_leader_is_deposed_truncates_and_follows(broker_factory):
    """The leader appends records (acks=1) no follower fetches, then stops
    (SIGSTOP) for longer than broker.session.timeout.ms: fenced, a follower
    from the ISR leads in a later epoch and takes acks=all writes at the same
    offsets. SIGCONT: the old leader hears of the new epoch, cuts its
    divergent suffix and follows; its log ends up byte-identical to the new
    leader's, with every acks=all record and none of the acks=1 ones."""
    # A session timeout well above how long the followers stay stopped (they
    # must not be fenced), and an ISR lag above it too (the stop must not
    # shrink the ISR).
    brokers, ports = start_fault_cluster(broker_factory, session_timeout_ms=3000, lag_ms=6000)
    cluster = BrokerCluster(brokers, ports)
    topic = "deposed"
    create_rf3(brokers[0], topic)
    view = wait_for("every replica in the ISR", lambda: checker.full_isr(cluster, topic), 20)
    old = view[0]
    followers = [n for n in cluster.nodes if n != old]
    everyone = ",".join(b.bootstrap for b in brokers)

    acked, failed = produce_values(everyone, topic, numbered(0, 100))
    assert not failed and len(acked) == 100, failed[:3]
    wait_for("the followers hold the first 100", lambda: checker.compare_replicas(cluster, topic) is None, 15)

    stopped = []

    def stop(node):
        os.kill(brokers[node].proc.pid, signal.SIGSTOP)
        cluster.paused.add(node)
        stopped.append(node)

    def cont(node):
        os.kill(brokers[node].proc.pid, signal.SIGCONT)
        cluster.paused.discard(node)
        stopped.remove(node)

    local_only = [b"local-%04d" % i for i in range(20)]
    try:
        # The followers stop first. A fetch of theirs parked on the leader
        # is answered (empty) after replica.fetch.wait.max.ms (500 ms): wait
        # that out, so no answer can carry the next append to them.
        for n in followers:
            stop(n)
        time.sleep(1.2)
        with kwire.Conn(brokers[old].bootstrap) as c:
            for i in range(0, len(local_only), 5):
                r = c.produce(topic, 0, kwire.record_batch([(None, v, []) for v in local_only[i:i + 5]]), acks=1)
                assert r["error_code"] == 0, r
                assert r["base_offset"] == 100 + i, r
        stop(old)
        for n in followers:
            cont(n)
        t_stop = time.time()
        old_log = log_values(brokers[old], topic)
        assert [v for _, _, v in old_log[100:]] == local_only, old_log[95:]
        old_epoch = old_log[-1][1]

        # Fenced after the session timeout: a follower leads, the ISR is the
        # two of them (min.insync.replicas=2 is met).
        def moved():
            v = checker.agreed_view(cluster, followers, topic)
            return v if v and v[0] in followers and sorted(v[2]) == sorted(followers) else None

        new, _, isr = wait_for("a new leader among %s" % followers, moved, 30)
        print("node %d leads instead of stopped node %d after %.2f s" % (new, old, time.time() - t_stop))
        survivors = ",".join(brokers[n].bootstrap for n in followers)
        acked2, failed2 = produce_values(survivors, topic, numbered(100, 200))
        assert not failed2 and len(acked2) == 200, failed2[:3]
        new_log = log_values(brokers[new], topic)
        assert new_log[100][2] == checker.VALUE_FMT % 100 and new_log[100][1] > old_epoch, new_log[100]
    finally:
        for n in list(stopped):
            cont(n)

    # Back: the old leader learns it was deposed, truncates and follows.
    t_cont = time.time()
    wait_for("node %d back in the ISR" % old, lambda: checker.full_isr(cluster, topic), 60)
    try:
        checker.wait_for("byte-identical logs", lambda: checker.compare_replicas(cluster, topic) is None, 30,
                         interval=0.5)
    except AssertionError:
        raise AssertionError("replica logs differ: %s\nold leader's log from offset 95: %s" % (
            checker.compare_replicas(cluster, topic), log_values(brokers[old], topic)[95:130]))
    print("node %d back in the ISR with an identical log %.2f s after SIGCONT" % (old, time.time() - t_cont))
    assert "truncat" in brokers[old].log_text()

    records, high = checker.read_partition(everyone, topic)
    values = [v for _, v in records]
    assert high == 300
    assert values == numbered(0, 300), [x for x in records if x[1] not in numbered(0, 300)][:10]
    assert not set(local_only) & set(values)
