"""Idempotent producers (KIP-98) of real clients while the partition leader
is kill -9'ed again and again, on three brokers.

librdkafka (confluent_kafka, enable.idempotence=true: acks=all, retries
without limit, max.in.flight.requests.per.connection=5 - though librdkafka
2.0 counts records against that limit and so keeps one request per
partition in flight once batches hold more than four) and kafkajs
(idempotent: true, acks -1, one request at a time,
tests/integration/js/idempotent_producer.js) each write the numbers
0, 1, 2, ... to one partition with replication factor 3 and
min.insync.replicas=2 while tests/fault/checker.py's KillLoop kill -9s the
leader IDEM_KILLS (10) times, restarting it on the same ports and waiting
for it to be back in the ISR each time. Followers fetch in batched rounds
(test_faults.BATCHED_FETCH), so a kill leaves records on the dead leader
that no follower has: the client's retries of those go to the new leader,
which must append them once, and the restarted broker must cut them and
rebuild its producer state from what is left.

Afterwards, on top of checker.final_check (every acknowledged number in the
log exactly once, contiguous offsets, byte-identical replicas):
  - no number in the log twice, acknowledged or not - the clients retry
    every failed request, and only the brokers' deduplication keeps a retry
    of an appended batch from being written again;
  - the numbers in the log strictly increase (no batch overtook another);
  - no fatal error in librdkafka (it raises one when the broker's answers
    break the idempotence protocol, e.g. an unexpected sequence gap);
  - the producer still gets acknowledgements after the last kill.
Records that failed (a delivery error reached the application) are counted
and their errors printed; they may be missing, never doubled.

IDEM_KILLS, IDEM_SECONDS (120: the loop's time limit), IDEM_RATE (300
records/s) and IDEM_BETWEEN (100: acknowledgements the producer must get
after each restart before the loop goes on to the next kill) override.
"""

import collections
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from helpers import REPO
from test_faults import BATCHED_FETCH, BrokerCluster, create_rf3, start_fault_cluster
from test_quorum import wait_for

sys.path.insert(0, str(REPO / "tests" / "fault"))
import checker  # noqa: E402

IDEM_KILLS = int(os.environ.get("IDEM_KILLS", "10"))
IDEM_SECONDS = float(os.environ.get("IDEM_SECONDS", "120"))
IDEM_RATE = int(os.environ.get("IDEM_RATE", "300"))
IDEM_BETWEEN = int(os.environ.get("IDEM_BETWEEN", "100"))
JS_SCRIPT = REPO / "tests" / "integration" / "js" / "idempotent_producer.js"


class IdempotentProducer(checker.NumberedProducer):
    """checker's numbered producer with enable.idempotence=true and
    librdkafka's own retries for it (retries=INT32_MAX): no retries key.
    Also records librdkafka's error callbacks, fatal ones above all, and
    from its statistics how many records it transmitted (resends
    included) and its producer id and epoch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fatal = []
        self.client_errors = collections.Counter()
        self.txmsgs = 0
        self.eos = {}

    def config(self):
        cfg = super().config()
        del cfg["retries"]
        cfg["enable.idempotence"] = True
        cfg["error_cb"] = self._on_error
        cfg["statistics.interval.ms"] = 1000
        cfg["stats_cb"] = self._on_stats
        return cfg

    def _on_stats(self, text):
        stats = json.loads(text)
        part = stats.get("topics", {}).get(self.topic, {}).get("partitions", {}).get(str(self.partition), {})
        self.txmsgs = part.get("txmsgs", self.txmsgs)
        self.eos = stats.get("eos", self.eos)

    def _on_error(self, err):
        self.client_errors[err.name()] += 1
        if err.fatal():
            self.fatal.append("%s: %s" % (err.name(), err.str()))


class ScriptProducer:
    """The outcome of idempotent_producer.js in the shape checker.verify
    reads (.sent, .acked {value: ack time}, .failed, .errors, .error_span,
    .unflushed)."""

    retries = None

    def __init__(self, result):
        self.sent = result["sent"]
        self.acked = {checker.VALUE_FMT % n: t / 1000.0 for n, t in result["acked"]}
        self.failed = {checker.VALUE_FMT % n: e for n, e in result["failed"]}
        self.errors = collections.Counter(result["errors"])
        self.error_span = {k: (a / 1000.0, b / 1000.0) for k, (a, b) in result["error_span"].items()}
        self.unflushed = result["unfinished"]
        self.retried = result["retried"]
        self.producers = result["producers"]
        self.fatal = result.get("fatal")


class NodeProducer:
    """Runs idempotent_producer.js; .acked_count follows its progress lines."""

    def __init__(self, bootstrap, topic, rate, out_file):
        if not (REPO / "tests" / "node_modules" / "kafkajs").exists():
            pytest.fail("kafkajs not installed: run deploy/deps.sh (npm ci in tests/)", pytrace=False)
        self.out_file = out_file
        self.acked_count = 0
        self.lines = []
        self.proc = subprocess.Popen(["node", str(JS_SCRIPT), bootstrap, topic, str(rate), str(out_file)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("ACKED "):
                self.acked_count = int(line.split()[1])
            else:
                self.lines.append(line)

    def stop(self, timeout=150):
        """Asks the script to stop and waits; returns ScriptProducer."""
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("idempotent_producer.js did not stop in %ds:\n%s" % (
                timeout, "\n".join(self.lines[-40:])))
        self._reader.join(10)
        if not os.path.exists(self.out_file):
            raise AssertionError("idempotent_producer.js exited %d without a result:\n%s" % (
                rc, "\n".join(self.lines[-40:])))
        with open(self.out_file) as f:
            result = ScriptProducer(json.load(f))
        result.exit_code = rc
        return result

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def out_of_order(records):
    """[(offset, value)] where the value is not above every earlier one."""
    bad, top = [], -1
    for off, val in records:
        n = int(val) if val is not None and val.isdigit() else -1
        if n <= top:
            bad.append((off, val))
        top = max(top, n)
    return bad


class ProgressCluster(BrokerCluster):
    """Each restart also waits until the producer has had IDEM_BETWEEN more
    acknowledgements since the kill: it got past the failover, and the next
    kill hits a producer that is sending again rather than one still
    stalled by the last. (KillLoop reports the rejoin time from the end of
    start(), so the wait does not show in it.)"""

    acked_count = None

    def kill(self, node):
        self._acked_at_kill = self.acked_count()
        super().kill(node)

    def start(self, node):
        super().start(node)
        want = self._acked_at_kill + IDEM_BETWEEN
        wait_for("%d acknowledgements after the kill of node %d" % (IDEM_BETWEEN, node),
                 lambda: self.acked_count() >= want, 60)


def kill_loop_cluster(broker_factory, topic):
    brokers, ports = start_fault_cluster(broker_factory, session_timeout_ms=1000, lag_ms=3000, extra=BATCHED_FETCH)
    cluster = ProgressCluster(brokers, ports)
    create_rf3(brokers[0], topic)
    wait_for("every replica in the ISR", lambda: checker.full_isr(cluster, topic), 20)
    return brokers, cluster, ",".join(b.bootstrap for b in brokers)


def run_kills(loop, acked_count):
    """The kill loop, then acknowledgements past the last kill's."""
    loop.cluster.acked_count = acked_count
    wait_for("first acknowledgements", lambda: acked_count() >= 100, 30)
    loop.run(IDEM_KILLS, time.time() + IDEM_SECONDS)
    after = acked_count()
    wait_for("acknowledgements after the last kill", lambda: acked_count() >= after + 100, 60)


def report(verdict, records, brokers, t_start, extra=()):
    truncations = sum(b.log_text().count("truncating") for b in brokers)
    lines = [verdict.text()] + list(extra)
    lines.append("%d truncations; test took %.0f s" % (truncations, time.time() - t_start))
    text = "\n".join(lines)
    print(text)
    return text, truncations


def check_common(loop, producer, verdict, records, text, truncations):
    assert len(loop.rounds) >= IDEM_KILLS, "only %d of %d kills in %.0f s" % (len(loop.rounds), IDEM_KILLS,
                                                                               IDEM_SECONDS)
    assert verdict.ok, text
    # checker.verify fails on duplicates only for a producer that never
    # retries; these retry without limit and must still have none.
    counts = collections.Counter(v for _, v in records)
    dups = sorted((v, c) for v, c in counts.items() if c > 1)
    assert not dups, "%d numbers more than once, e.g. %s\n%s" % (len(dups), dups[:10], text)
    bad = out_of_order(records)
    assert not bad, "%d records not above every earlier number, e.g. %s\n%s" % (len(bad), bad[:10], text)
    assert len(producer.acked) > 0
    assert truncations > 0, "no replica ever truncated its log: no kill left a divergent suffix"


def test_librdkafka_idempotent_producer_under_leader_kills(broker_factory):
    t_start = time.time()
    topic = "idem-rdkafka"
    brokers, cluster, bootstrap = kill_loop_cluster(broker_factory, topic)
    producer = IdempotentProducer(bootstrap, topic, rate=IDEM_RATE).start()
    loop = checker.KillLoop(cluster, topic)
    try:
        run_kills(loop, lambda: len(producer.acked))
    finally:
        producer.stop()
    verdict = checker.final_check(cluster, bootstrap, topic, producer, loop)
    records, _ = checker.read_partition(bootstrap, topic)
    text, truncations = report(verdict, records, brokers, t_start, [
        "librdkafka (statistics of the last second): %d records transmitted for %d produced (resends "
        "included), producer id %s epoch %s (%s epoch(s)); error callbacks: %s" % (
            producer.txmsgs, producer.sent, producer.eos.get("producer_id"), producer.eos.get("producer_epoch"),
            producer.eos.get("epoch_cnt"), dict(producer.client_errors) or "-"),
        "fatal: %s" % (producer.fatal or "-")])
    assert not producer.fatal, "librdkafka raised a fatal idempotence error: %s\n%s" % (producer.fatal, text)
    check_common(loop, producer, verdict, records, text, truncations)


def test_kafkajs_idempotent_producer_under_leader_kills(broker_factory, tmp_path):
    t_start = time.time()
    topic = "idem-kafkajs"
    brokers, cluster, bootstrap = kill_loop_cluster(broker_factory, topic)
    node = NodeProducer(bootstrap, topic, IDEM_RATE, tmp_path / "kafkajs-result.json")
    loop = checker.KillLoop(cluster, topic)
    try:
        run_kills(loop, lambda: node.acked_count)
        producer = node.stop()
    finally:
        node.kill()
    verdict = checker.final_check(cluster, bootstrap, topic, producer, loop)
    records, _ = checker.read_partition(bootstrap, topic)
    text, truncations = report(verdict, records, brokers, t_start, [
        "kafkajs: %d producer(s), exit code %d; errors it retried: %s" % (
            producer.producers, producer.exit_code, producer.retried or "-")])
    assert producer.exit_code == 0 and not producer.fatal, "idempotent_producer.js: exit %d %s\n%s" % (
        producer.exit_code, producer.fatal or "", "\n".join(node.lines[-40:]))
    check_common(loop, producer, verdict, records, text, truncations)
