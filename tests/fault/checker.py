#!/usr/bin/python3
"""Numbered-record checker for Tern's replicated partitions under faults.

A producer (librdkafka through confluent_kafka) writes the numbers 0, 1, 2, ...
as values b"%010d" to one partition with acks=all and remembers which of them
the delivery reports acknowledged. Meanwhile a loop kill -9s the partition's
current leader, waits for the controller to elect another from the ISR,
restarts the killed broker on its ports and waits until it is back in the
ISR - again and again. Afterwards the whole partition is read back from
offset 0 to the high watermark and checked:

  - every acknowledged number is in the log exactly once (acks=all with
    min.insync.replicas=2 promises that while one ISR member survives);
  - no number is in the log twice, acknowledged or not: the producer sends
    every record once (retries=0, see below), so a second copy can only come
    from the brokers;
  - unacknowledged numbers may or may not be there;
  - every replica's log is byte-identical once the ISR holds all of them.

Why retries=0 by default: the producer is not idempotent
(enable.idempotence=false, no KIP-98 sequence numbers), so resending a batch
whose answer was lost (the leader died after appending it) legitimately
writes it twice - Kafka's at-least-once. With retries=0 every record is sent at most once and any
duplicate is the broker's. `--retries N` lets librdkafka resend; duplicates
are then reported but do not fail the check.

Used by tests/integration/test_faults.py (import) and by tests/fault/soak.sh:

  checker.py soak --cluster-sh deploy/cluster.sh --state DIR --tern BIN \\
      --base-port P [--nodes 3] [--kills N] [--minutes T] [--rate R]

runs the produce + kill loop against a cluster started by deploy/cluster.sh
(state directory DIR, Kafka ports P, P+1, ...) and exits 0 when every check
passed, 1 otherwise.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import threading
import time

VALUE_FMT = b"%010d"
ROW_RE = re.compile(r"Topic: (\S+)\tPartition: (\d+)\tLeader: (-?\d+|none)\tReplicas: ([\d,]*)\tIsr: ([\d,]*)")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def wait_for(what, fn, timeout, interval=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


# --- partition state through `tern topics --describe` -----------------------

def describe_cli(tern, bootstrap, topic, timeout=10):
    """{partition: (leader, replicas, isr)} as the broker at `bootstrap`
    describes `topic`, or None when it does not answer."""
    env = dict(os.environ)
    # A dead broker refuses at once; this bounds a busy one.
    env.setdefault("TERN_CONNECT_TIMEOUT_MS", "1000")
    try:
        proc = subprocess.run([tern, "topics", "--bootstrap-server", bootstrap, "--describe", "--topic", topic],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return None
    rows = {}
    for m in ROW_RE.finditer(proc.stdout):
        leader = -1 if m.group(3) == "none" else int(m.group(3))
        rows[int(m.group(2))] = (leader, [int(x) for x in m.group(4).split(",") if x],
                                 [int(x) for x in m.group(5).split(",") if x])
    return rows or None


def agreed_view(cluster, nodes, topic, partition=0):
    """(leader, replicas, isr) of the partition when every node in `nodes`
    describes it alike, else None."""
    views = [cluster.describe(n, topic) for n in nodes]
    if any(v is None or partition not in v for v in views):
        return None
    first = views[0][partition]
    if any(v[partition] != first for v in views):
        return None
    return first


def full_isr(cluster, topic, partition=0):
    """The view when every node agrees, there is a leader, and the ISR holds
    every replica; else None."""
    v = agreed_view(cluster, cluster.nodes, topic, partition)
    if v is None or v[0] < 0 or sorted(v[2]) != sorted(v[1]) or len(v[1]) != len(cluster.nodes):
        return None
    return v


# --- the producer -----------------------------------------------------------

class NumberedProducer:
    """Produces VALUE_FMT % i for i = 0, 1, ... at `rate` records/s on a
    thread of its own until stop(). .acked {value: ack time}, .failed
    {value: error}, .sent (numbers handed to librdkafka)."""

    def __init__(self, bootstrap, topic, partition=0, rate=500, retries=0, acks="all", extra=None):
        self.bootstrap = bootstrap
        self.topic = topic
        self.partition = partition
        self.rate = rate
        self.retries = retries
        self.acks = acks
        self.extra = dict(extra or {})
        self.acked = {}
        self.failed = {}
        self.errors = collections.Counter()
        self.error_span = {}  # error name -> (first, last) wall clock
        self.sent = 0
        self.unflushed = 0
        self._stop = threading.Event()
        self._thread = None
        self._exc = None

    def config(self):
        cfg = {
            "bootstrap.servers": self.bootstrap,
            "acks": self.acks,
            "retries": self.retries,
            "linger.ms": 5,
            # Long enough to wait out a failover, short enough to end a run.
            "message.timeout.ms": 30000,
            "max.in.flight.requests.per.connection": 5,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
            "enable.idempotence": False,
        }
        cfg.update(self.extra)
        return cfg

    def _on_delivery(self, err, msg):
        v = msg.value()
        if err is None:
            self.acked[v] = time.time()
        else:
            self.failed[v] = err.str()
            self.errors[err.name()] += 1
            now = time.time()
            first, _ = self.error_span.get(err.name(), (now, now))
            self.error_span[err.name()] = (first, now)

    def _run(self):
        from confluent_kafka import Producer

        try:
            p = Producer(self.config())
            t0 = time.time()
            while not self._stop.is_set():
                due = int((time.time() - t0) * self.rate) + 1
                while self.sent < due and not self._stop.is_set():
                    try:
                        p.produce(self.topic, value=VALUE_FMT % self.sent, partition=self.partition,
                                  on_delivery=self._on_delivery)
                    except BufferError:
                        p.poll(0.05)
                        continue
                    self.sent += 1
                p.poll(0.01)
            self.unflushed = p.flush(60)
        except Exception as e:  # reported by stop()
            self._exc = e

    def start(self):
        self._thread = threading.Thread(target=self._run, name="numbered-producer", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(120)
        if self._thread.is_alive():
            raise AssertionError("the producer did not finish flushing within 120 s")
        if self._exc is not None:
            raise self._exc
        return self


# --- reading the partition back and checking it ------------------------------

def read_partition(bootstrap, topic, partition=0, timeout=120):
    """[(offset, value)] from offset 0 up to the high watermark, read with a
    librdkafka consumer; also returns the high watermark."""
    from confluent_kafka import Consumer, TopicPartition, KafkaException

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "checker-%d-%f" % (os.getpid(), time.time()),
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", "check.crcs": True})
    try:
        deadline = time.time() + timeout
        while True:
            try:
                _, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                break
            except KafkaException:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        c.assign([TopicPartition(topic, partition, 0)])
        out = []
        nxt = 0
        while nxt < high:
            if time.time() > deadline:
                raise AssertionError("read %d of %d offsets in %ds" % (len(out), high, timeout))
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            out.append((m.offset(), m.value()))
            nxt = m.offset() + 1
        return out, high
    finally:
        c.close()


class Verdict:
    def __init__(self):
        self.ok = True
        self.lines = []

    def fail(self, msg):
        self.ok = False
        self.lines.append("FAIL " + msg)

    def note(self, msg):
        self.lines.append("     " + msg)

    def text(self):
        return "\n".join(self.lines)


def clock(t):
    return time.strftime("%H:%M:%S", time.localtime(t)) + ".%03d" % (t % 1 * 1000)


def leader_at(timeline, t):
    """The partition leader the timeline names at wall clock t."""
    who = None
    for when, what, node in timeline:
        if when > t:
            break
        if what == "leader":
            who = node
    return who


def verify(producer, records, high, timeline=(), duplicates_fail=None):
    """Checks `records` ([(offset, value)] read back) against what
    `producer` had acknowledged. Returns a Verdict."""
    if duplicates_fail is None:
        duplicates_fail = producer.retries == 0
    v = Verdict()
    acked = producer.acked
    offsets = collections.defaultdict(list)
    strange = []
    for off, val in records:
        if val is None or len(val) != 10 or not val.isdigit() or int(val) >= producer.sent:
            strange.append((off, val))
        offsets[val if val is not None else b"<null>"].append(off)
    v.note("produced %d, acknowledged %d, failed %d (%s), left in the queue %d" % (
        producer.sent, len(acked), len(producer.failed),
        ", ".join("%s %d" % kv for kv in producer.errors.most_common()) or "-", producer.unflushed))
    for name, (first, last) in sorted(producer.error_span.items()):
        v.note("  %s from %s to %s" % (name, clock(first), clock(last)))
    present_unacked = sum(1 for val in offsets if val not in acked)
    v.note("log: %d records, high watermark %d; %d acknowledged and %d unacknowledged numbers in it" % (
        len(records), high, len(acked) - sum(1 for a in acked if a not in offsets), present_unacked))

    gaps = [(a[0], b[0]) for a, b in zip(records, records[1:]) if b[0] != a[0] + 1]
    if records and records[0][0] != 0:
        gaps.insert(0, (-1, records[0][0]))
    if gaps:
        v.fail("offsets not contiguous: %s" % gaps[:10])
    if strange:
        v.fail("%d values never produced: %s" % (len(strange), strange[:10]))

    missing = sorted(a for a in acked if a not in offsets)
    if missing:
        v.fail("%d acknowledged records missing" % len(missing))
        for val in missing[:20]:
            t = acked[val]
            v.note("  missing %s, acknowledged at %s while node %s led" % (
                val.decode(), clock(t), leader_at(timeline, t)))
    dups = sorted((val, offs) for val, offs in offsets.items() if len(offs) > 1)
    if dups:
        acked_dups = [d for d in dups if d[0] in acked]
        msg = "%d numbers more than once (%d of them acknowledged)" % (len(dups), len(acked_dups))
        if duplicates_fail:
            v.fail(msg)
        else:
            v.note(msg + " - the producer retried, so at-least-once allows it")
        for val, offs in dups[:20]:
            v.note("  %s at offsets %s%s" % (val.decode(), offs, " (acknowledged)" if val in acked else ""))
    # Informational: one producer, one partition, sends in order; a number
    # below an earlier one means a batch landed out of order.
    inversions, top = 0, -1
    for _, val in records:
        if val is not None and val.isdigit():
            n = int(val)
            inversions += n < top
            top = max(top, n)
    if inversions:
        v.note("%d records below an earlier number (out of order)" % inversions)
    return v


def compare_replicas(cluster, topic, partition=0):
    """None when every node's log of the partition is byte-identical, else a
    description of the first difference."""
    blobs = {n: cluster.segment_bytes(n, topic, partition) for n in cluster.nodes}
    ref_node = cluster.nodes[0]
    ref = blobs[ref_node]
    diffs = []
    for n, blob in blobs.items():
        if blob == ref:
            continue
        at = next((i for i, (a, b) in enumerate(zip(ref, blob)) if a != b), min(len(ref), len(blob)))
        diffs.append("node %d: %d bytes, node %d: %d bytes, first difference at byte %d (%s / %s)" % (
            ref_node, len(ref), n, len(blob), at, batch_at(ref, at), batch_at(blob, at)))
    return "; ".join(diffs) or None


def batch_at(blob, pos):
    """'batch base offset B epoch E' of the batch holding byte `pos`."""
    i = 0
    while i + 17 <= len(blob):
        base = int.from_bytes(blob[i:i + 8], "big", signed=True)
        length = int.from_bytes(blob[i + 8:i + 12], "big")
        epoch = int.from_bytes(blob[i + 12:i + 16], "big", signed=True)
        if pos < i + 12 + length:
            return "batch at offset %d, leader epoch %d" % (base, epoch)
        i += 12 + length
    return "past the end"


# --- the kill loop ------------------------------------------------------------

class KillLoop:
    """kill -9 the partition's leader, wait for another, restart the killed
    broker, wait until the ISR holds every replica again; repeat.

    `cluster`: .nodes [ids], .describe(node, topic), .kill(node),
    .start(node), .segment_bytes(node, topic, partition)."""

    def __init__(self, cluster, topic, partition=0, failover_timeout=60, rejoin_timeout=90):
        self.cluster = cluster
        self.topic = topic
        self.partition = partition
        self.failover_timeout = failover_timeout
        self.rejoin_timeout = rejoin_timeout
        self.timeline = []  # (wall clock, "kill"|"leader"|"start"|"isr", node)
        self.rounds = []  # (killed, new leader, failover s, rejoin s)

    def run(self, kills, deadline):
        c = self.cluster
        while len(self.rounds) < kills and time.time() < deadline:
            view = wait_for("every replica in the ISR", lambda: full_isr(c, self.topic, self.partition),
                            self.rejoin_timeout)
            if not self.timeline:
                self.timeline.append((time.time(), "leader", view[0]))
            victim = view[0]
            survivors = [n for n in c.nodes if n != victim]
            t0 = time.time()
            c.kill(victim)
            self.timeline.append((t0, "kill", victim))

            def moved():
                v = agreed_view(c, survivors, self.topic, self.partition)
                return v if v and v[0] not in (-1, victim) else None

            new = wait_for("a leader other than node %d" % victim, moved, self.failover_timeout)[0]
            t1 = time.time()
            self.timeline.append((t1, "leader", new))
            c.start(victim)
            t2 = time.time()
            self.timeline.append((t2, "start", victim))
            wait_for("node %d back in the ISR" % victim, lambda: full_isr(c, self.topic, self.partition),
                     self.rejoin_timeout)
            t3 = time.time()
            self.timeline.append((t3, "isr", victim))
            self.rounds.append((victim, new, t1 - t0, t3 - t2))
            log("kill %d: node %d killed; node %d leads after %.2f s; node %d back in the ISR %.2f s after "
                "its restart" % (len(self.rounds), victim, new, t1 - t0, victim, t3 - t2))
        return self.rounds

    def summary(self):
        if not self.rounds:
            return "no kills"
        fo = sorted(r[2] for r in self.rounds)
        rj = sorted(r[3] for r in self.rounds)
        return ("%d kills; new leader after median %.2f s (max %.2f); back in the ISR after median %.2f s "
                "(max %.2f)" % (len(self.rounds), fo[len(fo) // 2], fo[-1], rj[len(rj) // 2], rj[-1]))


def final_check(cluster, bootstrap, topic, producer, loop, partition=0, settle_timeout=90):
    """After the loop: waits for a full ISR and identical replica logs, reads
    the partition back and verifies it. Returns a Verdict."""
    wait_for("every replica in the ISR", lambda: full_isr(cluster, topic, partition), settle_timeout)
    try:
        wait_for("byte-identical replica logs", lambda: compare_replicas(cluster, topic, partition) is None,
                 settle_timeout, interval=0.5)
        differ = None
    except AssertionError:
        differ = compare_replicas(cluster, topic, partition)
    records, high = read_partition(bootstrap, topic, partition)
    v = verify(producer, records, high, loop.timeline if loop else ())
    if differ:
        v.fail("replica logs differ: " + differ)
    else:
        v.note("replica logs byte-identical on nodes %s (%d bytes)" % (
            cluster.nodes, len(cluster.segment_bytes(cluster.nodes[0], topic, partition))))
    if loop is not None:
        v.note(loop.summary())
    return v


# --- a cluster run by deploy/cluster.sh (soak.sh) -----------------------------

class ScriptCluster:
    def __init__(self, cluster_sh, state, tern, base_port, nodes=3):
        self.cluster_sh = cluster_sh
        self.state = state
        self.tern = tern
        self.base_port = base_port
        self.nodes = list(range(nodes))

    def bootstrap(self, node):
        return "127.0.0.1:%d" % (self.base_port + node)

    def describe(self, node, topic):
        return describe_cli(self.tern, self.bootstrap(node), topic)

    def _sh(self, *args):
        proc = subprocess.run([self.cluster_sh] + list(args), capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError("cluster.sh %s: %s%s" % (" ".join(args), proc.stdout, proc.stderr))

    def kill(self, node):
        self._sh("kill", str(node))

    def start(self, node):
        self._sh("start", str(node))

    def truncations(self):
        """Lines of the brokers' logs where a replica cut its log."""
        n = 0
        for node in self.nodes:
            try:
                with open(os.path.join(self.state, "broker-%d.log" % node), errors="replace") as f:
                    n += sum("truncating" in line for line in f)
            except FileNotFoundError:
                pass
        return n

    def segment_bytes(self, node, topic, partition=0):
        d = os.path.join(self.state, "data-%d" % node, "%s-%d" % (topic, partition))
        names = sorted(f for f in os.listdir(d) if f.endswith(".log"))
        out = []
        for f in names:
            with open(os.path.join(d, f), "rb") as fh:
                out.append(fh.read())
        return b"".join(out)


def create_topic_cli(tern, bootstrap, topic, rf, configs, timeout=60):
    deadline = time.time() + timeout
    args = [tern, "topics", "--bootstrap-server", bootstrap, "--create", "--topic", topic, "--partitions", "1",
            "--replication-factor", str(rf)]
    for k, v in configs.items():
        args += ["--config", "%s=%s" % (k, v)]
    while True:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30)
        if proc.returncode == 0 or "already exists" in proc.stdout + proc.stderr:
            return
        if time.time() > deadline:
            raise AssertionError("create %s: %s %s" % (topic, proc.stdout, proc.stderr))
        time.sleep(0.2)


def soak(args):
    cluster = ScriptCluster(args.cluster_sh, args.state, args.tern, args.base_port, args.nodes)
    bootstrap = ",".join(cluster.bootstrap(n) for n in cluster.nodes)
    topic = args.topic
    create_topic_cli(args.tern, bootstrap, topic, args.nodes, {"min.insync.replicas": str(args.min_isr)})
    wait_for("%s with every replica in the ISR" % topic, lambda: full_isr(cluster, topic), 60)
    producer = NumberedProducer(bootstrap, topic, rate=args.rate, retries=args.retries).start()
    loop = KillLoop(cluster, topic)
    t0 = time.time()
    deadline = t0 + args.minutes * 60 if args.minutes > 0 else float("inf")
    kills = args.kills if args.kills > 0 else 10**9
    err = None
    try:
        loop.run(kills, deadline)
    except AssertionError as e:
        err = e
        log("kill loop stopped: %s" % e)
    finally:
        producer.stop()
    log("produced for %.0f s" % (time.time() - t0))
    try:
        v = final_check(cluster, bootstrap, topic, producer, loop)
    except AssertionError as e:
        v = Verdict()
        v.fail("final check: %s" % e)
    if err is not None:
        v.fail("kill loop: %s" % err)
    v.note("%d log truncations in the brokers' logs" % cluster.truncations())
    print(v.text(), flush=True)
    print("soak: %s in %.0f s" % ("PASS" if v.ok else "FAIL", time.time() - t0), flush=True)
    return 0 if v.ok else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("soak", help="produce numbered records while killing partition leaders, then verify")
    s.add_argument("--cluster-sh", required=True)
    s.add_argument("--state", required=True, help="TERN_CLUSTER_DIR of the cluster")
    s.add_argument("--tern", required=True, help="the tern CLI binary")
    s.add_argument("--base-port", type=int, required=True)
    s.add_argument("--nodes", type=int, default=3)
    s.add_argument("--topic", default="soak")
    s.add_argument("--kills", type=int, default=100, help="stop after this many kills (0: no limit)")
    s.add_argument("--minutes", type=float, default=0, help="stop after this long (0: no limit)")
    s.add_argument("--rate", type=int, default=500, help="records per second")
    s.add_argument("--retries", type=int, default=0, help="librdkafka retries (duplicates then do not fail)")
    s.add_argument("--min-isr", type=int, default=2)
    args = ap.parse_args(argv)
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
