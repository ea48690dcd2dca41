"""Controlled shutdown (Kafka's KIP-631): SIGTERM makes a broker ask the
active controller to move its partition leaderships to other in-sync
replicas; it keeps serving until the controller says the new leaders serve,
then closes its logs cleanly and, if it led the metadata quorum, hands Raft
leadership to another voter (raft_transfer). Without an answer it still exits
after 2 x broker.session.timeout.ms (sooner once the quorum has no leader);
a second signal stops it at once.

Observed from outside: the broker exits by itself; right after it did, the
survivors describe new leaders for everything it led; an acks=all producer
running through it saw only NOT_LEADER_OR_FOLLOWER answers (never a dead
connection, a timeout or an offline partition) and few of them; no
acknowledged record is missing; every partition directory it had carries the
clean-shutdown marker; a new Raft leader follows at once."""

import random
import signal
import threading
import time

import kwire
from test_controller import describe, live_brokers, start_cluster
from test_quorum import agreed_leader, start_quorum, wait_for

TOPICS = ["cs-a", "cs-b"]
PARTITIONS = 3
NOT_LEADER_OR_FOLLOWER = 6
CLEAN_SHUTDOWN_MARKER = ".kafka_cleanshutdown"
# Generous: the broker's own bound is 2 x broker.session.timeout.ms (2 s
# here); this only keeps a hung broker from hanging the test.
EXIT_TIMEOUT = 30


def node_id(broker):
    return int(broker.props["node.id"])


def create_led_by(brokers, x, topics):
    """RF3 topics whose every partition has `x` as its preferred (so first)
    leader; waits until all three brokers describe them so."""
    from confluent_kafka.admin import AdminClient, NewTopic

    others = [node_id(b) for b in brokers if node_id(b) != x]
    assignment = [[x] + (others if p % 2 == 0 else others[::-1]) for p in range(PARTITIONS)]
    admin = AdminClient({"bootstrap.servers": ",".join(b.bootstrap for b in brokers)})
    fs = admin.create_topics([NewTopic(t, PARTITIONS, replica_assignment=assignment) for t in topics],
                             request_timeout=20)
    for t in topics:
        fs[t].result(20)

    def led_by_x():
        for t in topics:
            views = [describe(b, t) for b in brokers]
            if any(v is None or len(v) != PARTITIONS or v != views[0] for v in views):
                return None
            if any(lead != x or sorted(isr) != sorted([x] + others) for lead, _, isr in views[0].values()):
                return None
        return True

    wait_for("%s led by %d with a full ISR everywhere" % (topics, x), led_by_x, 20)


class ProbeProducer(threading.Thread):
    """An acks=all producer that says what it sees: one record at a time, per
    partition in turn, to the leader its metadata names. An error is recorded
    (NOT_LEADER, a dead connection, a timeout ...), then metadata is asked
    again of any broker that answers and the same record is retried, so
    every value it was told is written is in `acked`."""

    def __init__(self, brokers, topics):
        super().__init__(daemon=True)
        self.addrs = {node_id(b): b.bootstrap for b in brokers}
        self.targets = [(t, p) for t in topics for p in range(PARTITIONS)]
        self.leaders = {}
        self.conns = {}
        self.acked = {tp: [] for tp in self.targets}
        self.errors = []  # (time, topic, partition, leader, what)
        self.stop_ev = threading.Event()
        self.failure = None

    def conn(self, node):
        c = self.conns.get(node)
        if c is None:
            c = self.conns[node] = kwire.Conn(self.addrs[node], timeout=10)
        return c

    def drop(self, node):
        c = self.conns.pop(node, None)
        if c is not None:
            c.close()

    def refresh(self):
        nodes = list(self.addrs)
        random.shuffle(nodes)
        for node in nodes:
            try:
                md = self.conn(node).metadata([t for t in {t for t, _ in self.targets}])
            except (OSError, kwire.ConnectionClosed):
                self.drop(node)
                continue
            for t in md["topics"]:
                for p in t["partitions"]:
                    self.leaders[(t["name"], p["partition_index"])] = p["leader_id"]
            return

    def send(self, tp, value):
        """True once `value` is acknowledged; False after recording an error."""
        leader = self.leaders.get(tp, -1)
        if leader not in self.addrs:
            self.errors.append((time.time(), tp[0], tp[1], leader, "no leader"))
            return False
        batch = kwire.record_batch([(None, value, [])])
        try:
            r = self.conn(leader).produce(tp[0], tp[1], batch, acks=-1, timeout_ms=10000)
        except (OSError, kwire.ConnectionClosed) as e:
            self.drop(leader)
            self.errors.append((time.time(), tp[0], tp[1], leader, "connection: %s" % e))
            return False
        if r["error_code"] != 0:
            self.errors.append((time.time(), tp[0], tp[1], leader, r["error_code"]))
            return False
        return True

    def run(self):
        try:
            self.refresh()
            n = 0
            while not self.stop_ev.is_set():
                for tp in self.targets:
                    value = b"probe-%s-%d-%08d" % (tp[0].encode(), tp[1], n)
                    while not self.send(tp, value):
                        if self.stop_ev.wait(0.05):
                            return
                        self.refresh()
                    self.acked[tp].append(value)
                n += 1
        except Exception as e:  # reported by the test, not lost in a thread
            self.failure = e
        finally:
            for node in list(self.conns):
                self.drop(node)

    def count(self):
        return sum(len(v) for v in self.acked.values())


class LibrdkafkaProducer(threading.Thread):
    """confluent-kafka (librdkafka), acks=all, as an application would run
    it: its retries hide NOT_LEADER; a record it gives up on is a failed
    delivery."""

    def __init__(self, bootstrap, topics):
        super().__init__(daemon=True)
        from confluent_kafka import Producer

        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                           "linger.ms": 5, "message.timeout.ms": 30000})
        self.topics = topics
        self.acked = {}
        self.failed = []
        self.stop_ev = threading.Event()
        self.failure = None

    def on_delivery(self, err, msg):
        if err:
            self.failed.append((msg.topic(), msg.partition(), str(err)))
        else:
            self.acked.setdefault((msg.topic(), msg.partition()), []).append(msg.value())

    def run(self):
        try:
            n = 0
            while not self.stop_ev.is_set():
                for t in self.topics:
                    self.p.produce(t, value=b"rdk-%s-%08d" % (t.encode(), n), on_delivery=self.on_delivery)
                n += 1
                self.p.poll(0.005)
            self.p.flush(40)
        except Exception as e:
            self.failure = e

    def count(self):
        return sum(len(v) for v in self.acked.values())


def partition_values(bootstrap, topic, partition):
    """Every value of one partition, read from the beginning up to its high
    watermark."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cs-check-%d" % time.monotonic_ns(),
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        _, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=20)
        c.assign([TopicPartition(topic, partition, 0)])
        got, last = [], -1
        deadline = time.time() + 60
        while last + 1 < high and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.append(m.value())
            last = m.offset()
        assert last + 1 >= high, "read %s-%d up to %d of %d" % (topic, partition, last + 1, high)
        return got
    finally:
        c.close()


def wait_until_produced(producers, more, timeout=30):
    """Waits until each producer acknowledged `more` records beyond now."""
    goals = [(p, p.count() + more) for p in producers]
    wait_for("%d more acknowledged records" % more,
             lambda: all(p.count() >= goal or p.failure for p, goal in goals), timeout)


def sigterm_and_check(brokers, x_broker):
    """Runs both producers through the cluster, SIGTERMs x_broker (which
    leads every partition of TOPICS) and checks everything the module
    docstring promises. Returns the Raft leader and epoch the survivors
    agree on afterwards."""
    x = node_id(x_broker)
    survivors = [b for b in brokers if b is not x_broker]
    probe = ProbeProducer(brokers, TOPICS)
    rdk = LibrdkafkaProducer(",".join(b.bootstrap for b in brokers), TOPICS)
    probe.start()
    rdk.start()
    try:
        wait_until_produced([probe, rdk], 100)
        errors_before = len(probe.errors)

        t0 = time.time()
        x_broker.proc.send_signal(signal.SIGTERM)
        rc = x_broker.proc.wait(EXIT_TIMEOUT)
        took = time.time() - t0
        # Right after the exit: the survivors already name new leaders.
        for t in TOPICS:
            for b in survivors:
                view = describe(b, t)
                assert view is not None and len(view) == PARTITIONS, (b.name, t, view)
                for p, (lead, replicas, isr) in view.items():
                    assert lead not in (x, -1), "%s-%d led by %d right after %d exited (%s)" % (
                        t, p, lead, x, b.name)
                    assert x not in isr, (t, p, isr)
        assert rc == 0, "exit code %r" % rc
        x_broker.stop()  # closes its log file; the process is gone already

        # Writes go on through the survivors.
        wait_until_produced([probe, rdk], 100)
    finally:
        probe.stop_ev.set()
        rdk.stop_ev.set()
        probe.join(60)
        rdk.join(60)
    assert probe.failure is None, probe.failure
    assert rdk.failure is None, rdk.failure

    log = x_broker.log_text()
    assert "controlled shutdown done" in log, log[-3000:]
    assert "not granted" not in log, log[-3000:]

    # The probe went through x before and saw only "not the leader" while
    # the leaderships moved, a few times at most per partition: never a
    # closed connection, a timeout or an offline partition.
    during = probe.errors[errors_before:]
    print("SIGTERM to exit: %.2f s; probe errors during the move: %d %r" % (took, len(during), during[:12]))
    assert all(e[4] == NOT_LEADER_OR_FOLLOWER for e in probe.errors), probe.errors
    assert len(during) <= 3 * len(probe.targets), during
    assert not rdk.failed, rdk.failed[:5]

    # No acknowledged record is missing.
    rest = ",".join(b.bootstrap for b in survivors)
    for t in TOPICS:
        for p in range(PARTITIONS):
            stored = set(partition_values(rest, t, p))
            acked = probe.acked[(t, p)] + rdk.acked.get((t, p), [])
            assert acked, (t, p)
            missing = [v for v in acked if v not in stored]
            assert not missing, "%s-%d lost %d acknowledged record(s), e.g. %r" % (t, p, len(missing), missing[:3])

    # Closed cleanly: every partition log it held has the marker.
    for t in TOPICS:
        for p in range(PARTITIONS):
            d = x_broker.segment_dir(t, p)
            assert (d / CLEAN_SHUTDOWN_MARKER).exists(), "%s has no %s" % (d, CLEAN_SHUTDOWN_MARKER)

    # The quorum has a leader among the survivors, in a later epoch if x led it.
    leader, epoch = wait_for("a Raft leader the survivors agree on", lambda: agreed_leader(survivors), 10)
    assert leader != x
    return leader, epoch


def test_sigterm_of_the_controller_moves_its_leaderships_and_the_raft_leadership(broker_factory):
    brokers, _ = start_cluster(broker_factory)
    raft_leader, raft_epoch = agreed_leader(brokers)
    x_broker = next(b for b in brokers if node_id(b) == raft_leader)
    create_led_by(brokers, raft_leader, TOPICS)

    leader, epoch = sigterm_and_check(brokers, x_broker)
    assert epoch > raft_epoch
    # Handed over, not lost: the survivors did not wait an election timeout.
    assert "leadership transfer done" in x_broker.log_text(), x_broker.log_text()[-3000:]


def test_sigterm_of_a_partition_leader_that_is_not_the_controller(broker_factory):
    brokers, _ = start_cluster(broker_factory)
    raft_leader, raft_epoch = agreed_leader(brokers)
    x_broker = next(b for b in brokers if node_id(b) != raft_leader)
    create_led_by(brokers, node_id(x_broker), TOPICS)

    leader, epoch = sigterm_and_check(brokers, x_broker)
    assert (leader, epoch) == (raft_leader, raft_epoch)  # the quorum was not disturbed


def test_without_a_controller_sigterm_still_exits_cleanly(broker_factory):
    """The two other nodes are gone (kill -9): no quorum, no controller to
    answer. The broker asks, gives up (the quorum has no leader, or
    2 x broker.session.timeout.ms passed) and exits cleanly all the same."""
    brokers, _ = start_cluster(broker_factory)
    x_broker = brokers[0]
    create_led_by(brokers, 0, TOPICS[:1])
    for b in brokers[1:]:
        b.kill9()

    x_broker.proc.send_signal(signal.SIGTERM)
    rc = x_broker.proc.wait(EXIT_TIMEOUT)
    assert rc == 0
    log = x_broker.log_text()
    # It asked, waited for its bound, then went on.
    assert "controlled shutdown: asking the controller" in log, log[-3000:]
    assert "controlled shutdown not granted" in log, log[-3000:]
    for p in range(PARTITIONS):
        assert (x_broker.segment_dir(TOPICS[0], p) / CLEAN_SHUTDOWN_MARKER).exists()


def test_a_second_signal_stops_at_once(broker_factory):
    """SIGTERM twice: the second one skips the wait (as ^C twice). A long
    session timeout makes the wait for the missing controller long."""
    brokers, _ = start_quorum(broker_factory, 3, extra={"broker.heartbeat.interval.ms": "150",
                                                        "broker.session.timeout.ms": "15000"})
    wait_for("a Raft leader", lambda: agreed_leader(brokers), 15)
    wait_for("three unfenced brokers", lambda: all(len(live_brokers(b)) == 3 for b in brokers), 15)
    x_broker = brokers[0]
    for b in brokers[1:]:
        b.kill9()
    x_broker.proc.send_signal(signal.SIGTERM)
    wait_for("the controlled shutdown to start",
             lambda: "controlled shutdown: asking the controller" in x_broker.log_text(), 10)
    x_broker.proc.send_signal(signal.SIGTERM)
    rc = x_broker.proc.wait(EXIT_TIMEOUT)
    assert rc == 0
    log = x_broker.log_text()
    assert "received again" in log, log[-3000:]
    # Neither granted nor timed out: cut short.
    assert "controlled shutdown done" not in log and "not granted" not in log, log[-3000:]
