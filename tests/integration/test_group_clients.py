"""Consumer groups with unmodified clients: confluent-kafka (librdkafka),
kafka-python and kafkajs, each against one Tern broker.

Membership: members run as separate processes (this file is also the Python
member program, see member_main; js/group_member.js is the kafkajs one) so
that one can be killed without a chance to leave. Two members of a group
share a 6-partition topic, a third joins and the partitions are spread over
all three, one closes (LeaveGroup), one is killed (its session expires), and
the last one drains the topic. A producer in the test process writes
numbered records throughout. Every member logs what it was assigned and
every record it processed, and commits each record's offset synchronously
after processing it. From those logs the test checks that

  - every produced record was processed;
  - a record was processed a second time only when its first processing was
    never committed (the killed member's tail, or a commit refused during a
    rebalance): resuming from the committed offset loses and repeats nothing;
  - no member processed a partition after another member had been assigned
    it (Kafka's eager rebalance: nobody owns a partition twice at once).

Commit, close, reopen: a member commits at N and closes; the next member of
the group starts at N.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import REPO, create_topic, unique_topic

CLIENTS = ["confluent", "kafka-python", "kafkajs"]
PARTITIONS = 6
SESSION_MS = 6000
# The member that leaves cleanly gets a session far longer than the time its
# partitions are given to move: only its LeaveGroup can make them move in time.
LONG_SESSION_MS = 90000
LEAVE_MOVE_TIMEOUT = 45.0
HEARTBEAT_MS = 1000
PRODUCE_RATE = 30  # records per second, round robin over the partitions

GROUP_PROPS = {
    # Kafka's default minimum is 6000; the members use 6000 and 90000.
    "group.min.session.timeout.ms": "1000",
    # No 3 s wait for more members when an empty group gets its first one.
    "group.initial.rebalance.delay.ms": "0",
}

JS_MEMBER = REPO / "tests" / "integration" / "js" / "group_member.js"


# ====================================================================================
# The Python member program: python3 test_group_clients.py member CLIENT ...
# ====================================================================================


class _Events:
    """One JSON object a line, line-buffered: a kill -9 loses at most the
    line being written."""

    def __init__(self, path, name):
        self.name = name
        self.f = open(path, "a", buffering=1)

    def emit(self, ev, **fields):
        fields.update(ev=ev, m=self.name, t=time.time())
        self.f.write(json.dumps(fields) + "\n")


def _run_confluent(a, ev, stopping):
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    def on_assign(consumer, parts):
        ev.emit("assign", parts=sorted(p.partition for p in parts))

    def on_revoke(consumer, parts):
        ev.emit("revoke", parts=sorted(p.partition for p in parts))

    c = Consumer(
        {
            "bootstrap.servers": a.bootstrap,
            "group.id": a.group,
            "client.id": a.name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": a.session_ms,
            "heartbeat.interval.ms": HEARTBEAT_MS,
            # librdkafka wants it >= session.timeout.ms; it is the rebalance timeout.
            "max.poll.interval.ms": max(30000, a.session_ms),
        }
    )
    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    processed = 0
    while not stopping.is_set():
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            ev.emit("error", err=str(m.error()))
            continue
        p, o = m.partition(), m.offset()
        ev.emit("rec", p=p, o=o)
        try:
            c.commit(offsets=[TopicPartition(a.topic, p, o + 1)], asynchronous=False)
            ev.emit("commit", p=p, o=o + 1)
        except KafkaException as e:
            ev.emit("commitfail", p=p, o=o + 1, err=str(e))
        processed += 1
        if a.stop_after and processed >= a.stop_after:
            break
    c.close()  # leaves the group (LeaveGroup)
    ev.emit("closed")


def _run_kafka_python(a, ev, stopping):
    from kafka import ConsumerRebalanceListener, KafkaConsumer
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            ev.emit("revoke", parts=sorted(tp.partition for tp in revoked))

        def on_partitions_assigned(self, assigned):
            ev.emit("assign", parts=sorted(tp.partition for tp in assigned))

    c = KafkaConsumer(
        bootstrap_servers=a.bootstrap,
        group_id=a.group,
        client_id=a.name,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=a.session_ms,
        heartbeat_interval_ms=HEARTBEAT_MS,
        max_poll_interval_ms=max(30000, a.session_ms),
    )
    c.subscribe([a.topic], listener=Listener())
    processed = 0
    while not stopping.is_set() and not (a.stop_after and processed >= a.stop_after):
        # One record a poll: after a refused commit the member goes back to
        # poll() (which rejoins) instead of working through a batch of
        # records from partitions it may no longer own.
        for tp, recs in c.poll(timeout_ms=200, max_records=1).items():
            for r in recs:
                ev.emit("rec", p=tp.partition, o=r.offset)
                try:
                    c.commit({tp: OffsetAndMetadata(r.offset + 1, None)})
                    ev.emit("commit", p=tp.partition, o=r.offset + 1)
                except KafkaError as e:
                    ev.emit("commitfail", p=tp.partition, o=r.offset + 1, err=repr(e))
                processed += 1
    c.close(autocommit=False)  # leaves the group (LeaveGroup)
    ev.emit("closed")


def member_main(argv):
    ap = argparse.ArgumentParser(prog="test_group_clients.py member")
    ap.add_argument("client", choices=["confluent", "kafka-python"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--session-ms", type=int, default=SESSION_MS)
    ap.add_argument("--stop-after", type=int, default=0)
    a = ap.parse_args(argv)
    ev = _Events(a.events, a.name)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        (_run_confluent if a.client == "confluent" else _run_kafka_python)(a, ev, stopping)
    except Exception as e:  # logged for the test's failure report
        ev.emit("error", err=repr(e))
        raise
    return 0


# ====================================================================================
# The test side
# ====================================================================================


def wait_for(cond, timeout, what, state=lambda: "", running=()):
    """Polls cond() until true; fails at once when a member of `running` exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        dead = [m.name for m in running if not m.alive()]
        if dead:
            raise AssertionError("%s: member(s) %s exited\n%s" % (what, ", ".join(dead), state()))
        time.sleep(0.1)
    raise AssertionError("%s: not within %.0f s\n%s" % (what, timeout, state()))


class Member:
    """A group member process of one client library."""

    def __init__(self, client, name, bootstrap, topic, group, workdir, session_ms=SESSION_MS, stop_after=0):
        self.client = client
        self.name = name
        self.args = (bootstrap, topic, group)
        self.session_ms = session_ms
        self.stop_after = stop_after
        self.events_path = Path(workdir) / ("%s.events" % name)
        self.out_path = Path(workdir) / ("%s.out" % name)
        self.proc = None
        self._out = None

    def argv(self):
        bootstrap, topic, group = self.args
        if self.client == "kafkajs":
            return ["node", str(JS_MEMBER), bootstrap, topic, group, self.name, str(self.events_path),
                    str(self.session_ms), str(self.stop_after)]
        return [sys.executable, str(Path(__file__).resolve()), "member", self.client, "--bootstrap", bootstrap,
                "--topic", topic, "--group", group, "--name", self.name, "--events", str(self.events_path),
                "--session-ms", str(self.session_ms), "--stop-after", str(self.stop_after)]

    def start(self):
        self._out = open(self.out_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def events(self):
        out = []
        try:
            with open(self.events_path) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass  # the line a kill -9 cut short
        except FileNotFoundError:
            pass
        return out

    def latest_assignment(self, since):
        """Partitions of this member's latest assignment made after `since`,
        or None (none since, or closed/revoked after it)."""
        cur = None
        for e in self.events():
            if e["ev"] == "assign":
                cur = set(e["parts"]) if e["t"] > since else None
            elif e["ev"] in ("revoke", "closed"):
                cur = None
        return cur

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=60):
        """SIGTERM: the member closes its consumer (LeaveGroup). Returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError("member %s did not close within %d s\n%s" % (self.name, timeout, self.report()))

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError("member %s did not finish within %d s\n%s" % (self.name, timeout, self.report()))

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self._out is not None:
            self._out.close()
            self._out = None

    def report(self):
        try:
            out = self.out_path.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            out = ""
        evs = [e for e in self.events() if e["ev"] not in ("rec", "commit")]
        return "--- member %s (%s) exit=%s\nevents (without rec/commit): %s\noutput:\n%s" % (
            self.name, self.client, self.proc.poll() if self.proc else None, json.dumps(evs[-30:]), out)


class NumberedProducer(threading.Thread):
    """Writes records round robin over the partitions at a steady rate until
    stopped; .delivered is the set of (partition, offset) acknowledged."""

    def __init__(self, bootstrap, topic, partitions, rate=PRODUCE_RATE):
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.partitions, self.rate = bootstrap, topic, partitions, rate
        self.delivered = set()
        self.errors = []
        self._stop_evt = threading.Event()
        self.unflushed = None

    def _cb(self, err, msg):
        if err is not None:
            self.errors.append(str(err))
        else:
            self.delivered.add((msg.partition(), msg.offset()))

    def run(self):
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 5})
        i = 0
        while not self._stop_evt.is_set():
            p.produce(self.topic, value=b"%d" % i, partition=i % self.partitions, on_delivery=self._cb)
            p.poll(0)
            i += 1
            time.sleep(1.0 / self.rate)
        self.unflushed = p.flush(30)

    def stop(self):
        self._stop_evt.set()

    def finish(self):
        self.stop()
        self.join(60)
        assert not self.is_alive(), "producer thread did not finish"
        assert self.unflushed == 0, "%s records never acknowledged" % self.unflushed
        assert not self.errors, "delivery errors: %r" % self.errors[:5]
        return set(self.delivered)


def require_client(client):
    if client == "kafkajs" and not (REPO / "tests" / "node_modules" / "kafkajs").exists():
        pytest.fail("kafkajs not installed: run deploy/deps.sh (npm ci in tests/)", pytrace=False)


def shared_without_overlap(members, since):
    """True when each member's assignment made after `since` is non-empty,
    no partition is assigned twice and all partitions are covered."""
    seen = []
    for m in members:
        a = m.latest_assignment(since)
        if not a:
            return False
        seen += sorted(a)
    return len(seen) == len(set(seen)) and set(seen) == set(range(PARTITIONS))


def processed_since_assignment(members, since):
    """True when every member has processed a record of its current
    partitions after it got them: the new owners are working."""
    for m in members:
        evs = m.events()
        assigns = [e for e in evs if e["ev"] == "assign" and e["t"] > since]
        if not assigns:
            return False
        last = assigns[-1]
        if not any(e["ev"] == "rec" and e["t"] >= last["t"] and e["p"] in last["parts"] for e in evs):
            return False
    return True


def processing_log(members):
    """[(t, member, seq, event)] of every assign/rec/commit/commitfail, in
    time order (seq keeps each member's own order for equal times)."""
    out = []
    for m in members:
        for i, e in enumerate(m.events()):
            if e["ev"] in ("assign", "rec", "commit", "commitfail"):
                out.append((e["t"], m.name, i, e))
    out.sort(key=lambda x: (x[0], x[1], x[2]))
    return out


def check_processing(members, produced):
    """The three properties of the module docstring; returns the number of
    records processed twice (all of them uncommitted the first time)."""
    log = processing_log(members)
    # Each processing and whether its own commit succeeded: every member
    # commits right after processing, so the next commit/commitfail event of
    # the same member for this partition is this record's.
    processings = {}  # (p, o) -> [(t, member, committed)]
    pending = {}  # (member, p) -> [t, member, committed] awaiting its commit outcome
    for t, name, _, e in log:
        if e["ev"] == "rec":
            entry = [t, name, False]
            processings.setdefault((e["p"], e["o"]), []).append(entry)
            pending[(name, e["p"])] = (e["o"], entry)
        elif e["ev"] in ("commit", "commitfail"):
            o, entry = pending.pop((name, e["p"]), (None, None))
            if entry is not None and e["ev"] == "commit" and e["o"] == o + 1:
                entry[2] = True

    missing = sorted(produced - set(processings))
    assert not missing, "%d produced records never processed, e.g. %r" % (len(missing), missing[:10])

    bad_dups = []
    dups = 0
    for key, ps in processings.items():
        if len(ps) > 1:
            dups += 1
            for t, name, committed in ps[:-1]:
                if committed:
                    bad_dups.append((key, ps))
                    break
    assert not bad_dups, (
        "records processed again after their processing was committed (%d), e.g. %r"
        % (len(bad_dups), bad_dups[:5])
    )

    # Ownership: the latest assignment of a partition before a processing
    # must be the processing member's own.
    owner = {}  # partition -> member of its latest assignment
    holds = {}  # member -> partitions of its latest assignment
    stale = []
    for t, name, _, e in log:
        if e["ev"] == "assign":
            holds[name] = set(e["parts"])
            for p in e["parts"]:
                owner[p] = (name, t)
        elif e["ev"] == "rec":
            p = e["p"]
            cur = owner.get(p)
            if p not in holds.get(name, ()) or cur is None or cur[0] != name:
                # Equal times cannot be ordered across processes: benefit of the doubt.
                if cur is not None and cur[0] != name and cur[1] >= t:
                    continue
                stale.append({"member": name, "p": p, "o": e["o"], "t": t, "owner": cur})
    assert not stale, (
        "records processed by a member while another owned the partition (%d), e.g. %r" % (len(stale), stale[:5])
    )
    return dups


@pytest.mark.parametrize("client", CLIENTS)
def test_group_members_share_and_move(broker_factory, tmp_path, client):
    require_client(client)
    b = broker_factory(props=GROUP_PROPS)
    topic = unique_topic("grp-" + client)
    group = "g-" + topic
    create_topic(b.bootstrap, topic, PARTITIONS)

    members = []

    def member(name, session_ms=SESSION_MS):
        m = Member(client, name, b.bootstrap, topic, group, tmp_path, session_ms=session_ms)
        members.append(m)
        return m.start()

    def state():
        return "\n".join(m.report() for m in members)

    producer = NumberedProducer(b.bootstrap, topic, PARTITIONS)
    producer.start()
    try:
        # Two members share the six partitions.
        t0 = time.time()
        leaver = member("a", session_ms=LONG_SESSION_MS)
        victim = member("b")
        wait_for(lambda: shared_without_overlap([leaver, victim], t0), 60, "two members share the partitions", state,
                 running=members)
        wait_for(lambda: processed_since_assignment([leaver, victim], t0), 30, "both members process", state,
                 running=members)
        two = [leaver.latest_assignment(t0), victim.latest_assignment(t0)]

        # A third joins: the partitions are spread over all three.
        t1 = time.time()
        survivor = member("c")
        wait_for(lambda: shared_without_overlap([leaver, victim, survivor], t1), 60,
                 "a third member gets a share", state, running=members)
        wait_for(lambda: processed_since_assignment([leaver, victim, survivor], t1), 30,
                 "all three members process", state, running=members)
        three = [m.latest_assignment(t1) for m in (leaver, victim, survivor)]

        # One closes: LeaveGroup moves its partitions at once (its session
        # would keep them for LONG_SESSION_MS).
        t2 = time.time()
        rc = leaver.terminate()
        assert rc == 0, "member a exited %d after SIGTERM\n%s" % (rc, leaver.report())
        assert any(e["ev"] == "closed" for e in leaver.events()), leaver.report()
        wait_for(lambda: shared_without_overlap([victim, survivor], t2), LEAVE_MOVE_TIMEOUT,
                 "the partitions of the member that left move to the others", state, running=[victim, survivor])
        wait_for(lambda: processed_since_assignment([victim, survivor], t2), 30, "two members process", state,
                 running=[victim, survivor])

        # One is killed: it never leaves; the coordinator drops it when its
        # session expires and the survivor gets everything.
        t3 = time.time()
        victim.kill9()
        wait_for(lambda: shared_without_overlap([survivor], t3), SESSION_MS / 1000.0 + 30,
                 "the killed member's partitions move to the survivor", state, running=[survivor])
        wait_for(lambda: processed_since_assignment([survivor], t3), 30, "the survivor processes", state,
                 running=[survivor])

        produced = producer.finish()
        assert len(produced) > 100, "only %d records produced" % len(produced)

        def drained():
            done = {(e["p"], e["o"]) for m in members for e in m.events() if e["ev"] == "rec"}
            return produced <= done

        wait_for(drained, 60, "every produced record processed", state, running=[survivor])
        rc = survivor.terminate()
        assert rc == 0, "member c exited %d after SIGTERM\n%s" % (rc, survivor.report())

        dups = check_processing(members, produced)
        for m in members:
            assert any(e["ev"] == "rec" for e in m.events()), "member %s processed nothing" % m.name
        print("%s: %d records, %d processed twice (uncommitted first time); assignments %r then %r"
              % (client, len(produced), dups, two, three))
    finally:
        producer.stop()
        for m in members:
            m.kill9()


def _committed(bootstrap, group, topic):
    """The group's committed offset of partition 0, read with OffsetFetch by
    a client that does not join the group."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, 0)], timeout=15)[0].offset
    finally:
        c.close()


@pytest.mark.parametrize("client", CLIENTS)
def test_commit_close_reopen(broker_factory, tmp_path, client):
    from confluent_kafka import Producer

    require_client(client)
    b = broker_factory(props=GROUP_PROPS)
    topic = unique_topic("reopen-" + client)
    group = "g-" + topic
    total, first = 100, 37
    create_topic(b.bootstrap, topic, 1)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    for i in range(total):
        p.produce(topic, value=b"%d" % i, partition=0)
    assert p.flush(30) == 0

    m1 = Member(client, "first", b.bootstrap, topic, group, tmp_path, stop_after=first)
    m2 = Member(client, "second", b.bootstrap, topic, group, tmp_path, stop_after=total - first)
    try:
        m1.start()
        rc = m1.wait_exit(90)
        assert rc == 0, m1.report()
        ev1 = m1.events()
        assert [e["o"] for e in ev1 if e["ev"] == "rec"] == list(range(first)), m1.report()
        commits = [e["o"] for e in ev1 if e["ev"] == "commit"]
        assert commits and commits[-1] == first, "last commit %r, expected %d\n%s" % (commits[-1:], first, m1.report())
        assert ev1[-1]["ev"] == "closed", m1.report()
        assert _committed(b.bootstrap, group, topic) == first

        m2.start()
        rc = m2.wait_exit(90)
        assert rc == 0, m2.report()
        recs = [e["o"] for e in m2.events() if e["ev"] == "rec"]
        assert recs[:1] == [first], "the reopened member started at %r, not at the committed %d" % (recs[:1], first)
        assert recs == list(range(first, total)), m2.report()
        assert _committed(b.bootstrap, group, topic) == total
    finally:
        m1.kill9()
        m2.kill9()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "member":
        sys.exit(member_main(sys.argv[2:]))
    sys.exit("usage: test_group_clients.py member CLIENT --bootstrap H:P --topic T --group G --name N --events F")


def test_cooperative_sticky_assignment_is_relayed(broker_factory):
    """The broker relays whatever the client leader computes: with
    librdkafka's cooperative-sticky strategy (incremental rebalancing over the
    classic protocol) two members share the six partitions without overlap,
    and a third takes some without anyone losing partitions it keeps."""
    from confluent_kafka import Consumer

    from helpers import create_topic, unique_topic

    b = broker_factory(props=GROUP_PROPS)
    topic = unique_topic("coop")
    create_topic(b.bootstrap, topic, PARTITIONS)
    conf = {"bootstrap.servers": b.bootstrap, "group.id": "coop-" + topic, "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": HEARTBEAT_MS, "partition.assignment.strategy": "cooperative-sticky",
            "auto.offset.reset": "earliest"}
    members = [Consumer(conf), Consumer(conf)]
    try:
        for m in members:
            m.subscribe([topic])

        def settled(ms, n):
            deadline = time.time() + 60
            while time.time() < deadline:
                for m in ms:
                    m.poll(0.1)
                owned = [{tp.partition for tp in m.assignment()} for m in ms]
                if all(owned) and sum(len(o) for o in owned) == n and len(set().union(*owned)) == n:
                    return owned
            raise AssertionError("no settled assignment: %r" % [m.assignment() for m in ms])

        two = settled(members, PARTITIONS)
        members.append(Consumer(conf))
        members[2].subscribe([topic])
        three = settled(members, PARTITIONS)
        assert all(three), three
        # Sticky: what the first two still own is a subset of what they had.
        assert three[0] <= two[0] and three[1] <= two[1], (two, three)
    finally:
        for m in members:
            m.close()


def test_static_member_restarts_without_a_rebalance(broker_factory):
    """KIP-345: a member with group.instance.id that closes (no LeaveGroup
    for a static member) and comes back within the session timeout gets its
    partitions again without a rebalance - the other member keeps its own
    throughout - and a second live member with the same instance id fences
    the first (FENCED_INSTANCE_ID)."""
    from confluent_kafka import Consumer, KafkaError

    from helpers import create_topic, unique_topic

    b = broker_factory(props=GROUP_PROPS)
    topic = unique_topic("static")
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = "static-" + topic

    def member(instance, errors=None):
        conf = {"bootstrap.servers": b.bootstrap, "group.id": group, "group.instance.id": instance,
                "session.timeout.ms": 30000, "heartbeat.interval.ms": HEARTBEAT_MS,
                "auto.offset.reset": "earliest"}
        if errors is not None:
            conf["error_cb"] = errors.append
        c = Consumer(conf)
        c.subscribe([topic])
        return c

    def owned(c):
        return {tp.partition for tp in c.assignment()}

    polled_errors = {}

    def poll_until(ms, cond, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in ms:
                msg = m.poll(0.1)
                if msg is not None and msg.error():
                    polled_errors.setdefault(id(m), []).append(msg.error())
            if cond():
                return
        raise AssertionError("timed out: %r; errors %r" % ([owned(m) for m in ms], polled_errors))

    def fenced(errs):
        return any(e.code() == KafkaError.FENCED_INSTANCE_ID or
                   (e.code() == KafkaError._FATAL and "fenced" in e.str().lower()) for e in errs)

    a, other = member("i-a"), member("i-b")
    try:
        poll_until([a, other], lambda: owned(a) and owned(other) and len(owned(a) | owned(other)) == PARTITIONS)
        mine, theirs = owned(a), owned(other)
        a.close()
        a = member("i-a")
        poll_until([a, other], lambda: owned(a) == mine)
        # No rebalance: the other member never gave anything up.
        for _ in range(20):
            other.poll(0.1)
            assert owned(other) == theirs
        # A second live "i-a" replaces the first, which is fenced.
        errors = []
        a_errors = []
        a.close()
        a = member("i-a", a_errors)
        poll_until([a, other], lambda: owned(a) == mine)
        twin = member("i-a", errors)
        poll_until([twin, other], lambda: owned(twin) == mine)
        poll_until([a, twin, other], lambda: fenced(a_errors + polled_errors.get(id(a), [])), 40)
        assert not fenced(errors + polled_errors.get(id(twin), [])), errors
    finally:
        for c in (a, other, locals().get("twin")):
            if c is None:
                continue
            try:
                c.close()
            except Exception:
                pass
