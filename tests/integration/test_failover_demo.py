"""deploy/failover-demo.sh: the Kafka failover lab (a producer with acks=all
and a consumer while the partition leader is killed with kill -9 and
restarted) runs end to end and passes its own check - every acknowledged
record consumed, in order.

The script starts its own cluster through deploy/cluster.sh on free ports with
its state in the test's tmp dir (TERN_CLUSTER_DIR) and the test build's
binaries (TERN_BUILD_DIR), so it runs beside a cluster on 9092-9094. It stops
that cluster itself; teardown runs `cluster.sh down` with the same environment
anyway, then kills by pid file whatever is left."""

import os
import re
import subprocess
from pathlib import Path

import pytest

import helpers
from helpers import tool
from test_cluster_sh import NodeLog, free_port_ranges, is_tern_broker, pid_alive

DEMO_SH = helpers.REPO / "deploy" / "failover-demo.sh"
CLUSTER_SH = helpers.REPO / "deploy" / "cluster.sh"
NODES = 3
SUMMARY_RE = re.compile(r"^SUMMARY (.*)$", re.M)


def summary(out):
    """The key=value pairs of the script's SUMMARY line (numbers as ints)."""
    m = SUMMARY_RE.findall(out)
    assert len(m) == 1, "expected one SUMMARY line in:\n" + out[-3000:]
    pairs = dict(kv.split("=", 1) for kv in m[0].split())
    return {k: int(v) if v.isdigit() else v for k, v in pairs.items()}


class Demo:
    def __init__(self, tmp_path, brokers=NODES):
        self.dir = tmp_path / "cluster"
        self.work = tmp_path / "demo"
        self.base, self.ctrl = free_port_ranges(NODES)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CLAIMCHECK_", "TERN_")) and k not in ("KEEP_CLUSTER", "TOPIC", "DEMO_DIR")}
        self.env.update({
            "TERN_CLUSTER_DIR": str(self.dir),
            "TERN_BUILD_DIR": str(Path(tool("tern-broker")).parents[1]),
            "TERN_BASE_PORT": str(self.base),
            "TERN_CONTROLLER_BASE_PORT": str(self.ctrl),
            "TERN_BROKERS": str(brokers),
            # Kept after a passing run too: the test checks the files.
            "DEMO_DIR": str(self.work),
        })

    def run(self, timeout=240):
        return subprocess.run(["bash", str(DEMO_SH)], env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def pids(self):
        out = set()
        for f in self.dir.glob("broker-*.pid"):
            try:
                out.add(int(f.read_text().strip()))
            except (OSError, ValueError):
                pass
        return out

    def client_pids(self):
        """The script's background clients still running (their command
        line names this run's DEMO_DIR)."""
        marker = str(self.work / "clients.py").encode()
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if marker in (d / "cmdline").read_bytes() and pid_alive(int(d.name)):
                        out.append(int(d.name))
                except OSError:
                    pass
        return out

    def teardown(self):
        for pid in self.client_pids():
            os.kill(pid, 9)
        try:
            if self.dir.exists():
                subprocess.run(["bash", str(CLUSTER_SH), "down"], env=self.env, capture_output=True,
                               timeout=60, stdin=subprocess.DEVNULL)
        finally:
            for pid in self.pids():
                if pid_alive(pid) and is_tern_broker(pid):
                    os.kill(pid, 9)


@pytest.fixture
def demo(request, tmp_path):
    d = Demo(tmp_path)
    # Attached to the failure report by conftest.
    request.node._tern_brokers = [NodeLog("node%d" % i, d.dir / ("broker-%d.log" % i)) for i in range(NODES)] + [
        NodeLog("demo " + name, d.work / (name + ".log")) for name in ("producer", "consumer")]
    try:
        yield d
    finally:
        d.teardown()


def verify(work, acked, consumed):
    """Runs the script's own checker (clients.py verify) on the given lists:
    acked values, consumed (offset, value) pairs. Returns (exit code, summary)."""
    (work / "t-acked.txt").write_text("".join("%08d\n" % v for v in acked))
    (work / "t-consumed.txt").write_text("".join("%d %08d\n" % ov for ov in consumed))
    (work / "t-failed.txt").write_text("")
    proc = subprocess.run(["/usr/bin/python3", str(work / "clients.py"), "verify", str(work / "t-acked.txt"),
                           str(work / "t-consumed.txt"), str(work / "t-failed.txt"), "0"],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, summary(proc.stdout)


def test_failover_demo_loses_no_acknowledged_record(demo):
    proc = demo.run()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, "failover-demo.sh exited %d:\n%s" % (proc.returncode, out[-6000:])
    assert "RESULT: PASS" in proc.stdout, out[-3000:]
    s = summary(proc.stdout)
    assert s["result"] == "PASS"
    # 200 before the kill, 50 more from the new leader (the script's minimums).
    assert s["acknowledged"] >= 250, s
    assert s["missing"] == 0 and s["out_of_order"] == 0, s
    assert s["distinct"] >= s["acknowledged"] and s["consumed"] == s["distinct"] + s["duplicates"], s

    # The lab's story as `tern topics --describe` told it: all three in sync,
    # then another leader without the killed one, then the killed one back.
    parts = re.findall(r"Partition: 0\tLeader: (\d+)\tReplicas: ([\d,]+)\tIsr: ([\d,]+)", proc.stdout)
    assert len(parts) == 3, proc.stdout
    (l0, r0, i0), (l1, _, i1), (l2, _, i2) = parts
    assert sorted(r0.split(",")) == sorted(i0.split(",")) == ["0", "1", "2"], parts
    assert l1 != l0 and l0 not in i1.split(",") and len(i1.split(",")) == 2, parts
    assert l0 in i2.split(",") and len(i2.split(",")) == 3, parts
    assert "Configs: min.insync.replicas=2" in proc.stdout

    # The summary agrees with the clients' own files.
    acked = [int(x) for x in (demo.work / "acked.txt").read_text().split()]
    consumed = [tuple(int(x) for x in line.split()) for line in (demo.work / "consumed.txt").read_text().splitlines()]
    assert len(acked) == s["acknowledged"] and len(consumed) == s["consumed"]
    values = [v for _, v in consumed]
    assert not set(acked) - set(values)
    offsets = [o for o, _ in consumed]
    assert offsets == list(range(len(offsets))), "the consumer skipped or repeated offsets"

    # It started the cluster, so it stopped it; its clients are gone too.
    assert demo.pids() == set() or not any(pid_alive(p) for p in demo.pids())
    assert demo.client_pids() == []
    assert not re.search(r"node \d+ ignored SIGTERM", proc.stdout)

    # The checker fails when it should: one acknowledged record not consumed,
    # two records consumed in the wrong order; a duplicate alone passes.
    seq = [(i, v) for i, v in enumerate(range(100))]
    rc, v = verify(demo.work, list(range(100)), seq)
    assert rc == 0 and v["missing"] == 0 and v["result"] == "PASS", v
    rc, v = verify(demo.work, list(range(100)), seq[:50] + seq[51:])
    assert rc == 1 and v["missing"] == 1 and v["result"] == "FAIL", v
    swapped = [(i, v) for i, v in enumerate(list(range(40)) + [41, 40] + list(range(42, 100)))]
    rc, v = verify(demo.work, list(range(100)), swapped)
    assert rc == 1 and v["out_of_order"] == 1 and v["missing"] == 0, v
    dup = [(i, v) for i, v in enumerate(list(range(60)) + list(range(55, 100)))]
    rc, v = verify(demo.work, list(range(100)), dup)
    assert rc == 0 and v["duplicates"] == 5, v
    rc, v = verify(demo.work, [], [])
    assert rc == 1 and v["acknowledged"] == 0, v


def test_failover_demo_fails_without_three_brokers(tmp_path):
    """A step that cannot happen ends the script with a FAIL summary and a
    non-zero exit, without starting anything."""
    d = Demo(tmp_path, brokers=2)
    try:
        proc = d.run(timeout=60)
        assert proc.returncode != 0, proc.stdout
        assert "RESULT: FAIL" in proc.stdout and "three brokers" in proc.stderr, proc.stdout + proc.stderr
        assert summary(proc.stdout)["result"] == "FAIL"
        assert d.pids() == set()
    finally:
        d.teardown()
