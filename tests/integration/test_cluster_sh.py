"""deploy/cluster.sh: up starts three brokers that form one Raft quorum,
status shows each node's pid, ports and role and the leader they agree on,
kill N / start N take one node down and back on the same ports, stop N is a
controlled shutdown (SIGTERM: the node's partition leaderships and Raft
leadership move before it exits), logs N shows that node's log, down leaves
no process.

The cluster runs on free ports with its own state directory
(TERN_CLUSTER_DIR in the test's tmp dir) and the test build's binaries
(TERN_BUILD_DIR: cluster.sh never builds then), so it runs beside a real
cluster on 9092-9094. Teardown always runs `down`, then kills by pid file
whatever is left."""

import os
import random
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from helpers import tool

CLUSTER_SH = helpers.REPO / "deploy" / "cluster.sh"
NODES = 3
STATUS_HEADER = ["NODE", "PID", "PORT", "CONTROLLER", "ROLE", "LAG", "SEES-LEADER"]


def ports_free(ports):
    socks = []
    try:
        for p in ports:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
            socks.append(s)
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port_ranges(n):
    """(kafka base, controller base): two runs of n consecutive free ports,
    away from the kernel's ephemeral range where clients' ports come from."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(20000, 31000 - 2 * n)
        ctrl = base + n + rng.randrange(0, 500)
        if ports_free(list(range(base, base + n)) + list(range(ctrl, ctrl + n))):
            return base, ctrl
    pytest.fail("no free port range found", pytrace=False)


class NodeLog:
    """What conftest's failure hook attaches: a name, a path, the text."""

    def __init__(self, name, path):
        self.name, self.log_path = name, path

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A zombie (killed, not reaped yet) is gone for our purposes.
        return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def is_tern_broker(pid):
    try:
        return b"tern-broker" in Path("/proc/%d/cmdline" % pid).read_bytes()
    except OSError:
        return False


class Cluster:
    def __init__(self, state_dir, base, ctrl):
        self.dir = Path(state_dir)
        self.base, self.ctrl = base, ctrl
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMCHECK_", "TERN_"))}
        self.env.update({
            "TERN_CLUSTER_DIR": str(self.dir),
            "TERN_BUILD_DIR": str(Path(tool("tern-broker")).parents[1]),
            "TERN_BASE_PORT": str(base),
            "TERN_CONTROLLER_BASE_PORT": str(ctrl),
            "TERN_BROKERS": str(NODES),
            # Rendered into every server-N.properties (the CLAIMCHECK_* rule).
            "CLAIMCHECK_WORKER_THREADS": "3",
        })
        self.seen_pids = set()

    def run(self, *args, check=True, timeout=90):
        proc = subprocess.run(["bash", str(CLUSTER_SH)] + list(args), env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError("cluster.sh %s exited %d\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def status(self):
        """(rows {id: dict}, leader line, exit code) from `cluster.sh status`."""
        proc = self.run("status", check=False)
        lines = proc.stdout.splitlines()
        assert lines and lines[0].split() == STATUS_HEADER, proc.stdout + proc.stderr
        rows = {}
        for line in lines[1:-1]:
            f = line.split()
            assert len(f) == len(STATUS_HEADER), line
            row = dict(zip(STATUS_HEADER, f))
            rows[int(row["NODE"])] = row
            if row["PID"] != "down":
                self.seen_pids.add(int(row["PID"]))
        assert lines[-1].startswith("raft leader:"), proc.stdout
        return rows, lines[-1], proc.returncode

    def wait_status(self, what, pred, timeout=20):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.status()
            ok = pred(*last)
            if ok is not None and ok is not False:  # a leader id may be 0
                return last
            time.sleep(0.2)
        raise AssertionError("timed out waiting for %s; last status: %r" % (what, last))

    def pid_files(self):
        return sorted(self.dir.glob("broker-*.pid"))

    def kill_leftovers(self):
        pids = set(self.seen_pids)
        for f in self.pid_files():
            try:
                pids.add(int(f.read_text().strip()))
            except (OSError, ValueError):
                pass
        for pid in pids:
            if pid_alive(pid) and is_tern_broker(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def cluster(request, tmp_path):
    base, ctrl = free_port_ranges(NODES)
    c = Cluster(tmp_path / "cluster", base, ctrl)
    request.node._tern_brokers = [NodeLog("node%d" % i, c.dir / ("broker-%d.log" % i)) for i in range(NODES)]
    try:
        yield c
    finally:
        try:
            c.run("down", check=False, timeout=60)
        finally:
            c.kill_leftovers()


def one_leader(rows, leader_line, rc):
    """The leader id when every node runs, exactly one says Leader, and all
    see that node as leader at the same epoch; else None."""
    if rc != 0 or len(rows) != NODES or any(r["PID"] == "down" for r in rows.values()):
        return None
    leaders = [i for i, r in rows.items() if r["ROLE"] == "Leader"]
    if len(leaders) != 1 or any(r["ROLE"] not in ("Leader", "Follower") for r in rows.values()):
        return None
    if len({r["SEES-LEADER"] for r in rows.values()}) != 1:
        return None
    seen = next(iter(rows.values()))["SEES-LEADER"].split("@")[0]
    if seen != str(leaders[0]) or not re.match(r"raft leader: node %d \(epoch \d+\)" % leaders[0], leader_line):
        return None
    return leaders[0]


def test_up_status_kill_start_logs_down(cluster):
    up = cluster.run("up")
    assert "raft leader: node" in up.stdout, up.stdout

    # Rendered configuration: Kafka's keys, the tuned timeouts, the shared
    # claim-check store, CLAIMCHECK_* from the environment.
    cfg = (cluster.dir / "server-1.properties").read_text()
    voters = ",".join("%d@127.0.0.1:%d" % (i, cluster.ctrl + i) for i in range(NODES))
    for line in ["node.id=1", "process.roles=broker,controller",
                 "listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d" % (cluster.base + 1, cluster.ctrl + 1),
                 "advertised.listeners=PLAINTEXT://127.0.0.1:%d" % (cluster.base + 1),
                 "controller.listener.names=CONTROLLER", "controller.quorum.voters=" + voters,
                 "log.dirs=%s" % (cluster.dir / "data-1"), "controller.quorum.election.timeout.ms=400",
                 "broker.heartbeat.interval.ms=150", "broker.session.timeout.ms=750",
                 "claimcheck.fs.dir=%s" % (cluster.dir / "claimcheck"), "claimcheck.worker.threads=3"]:
        assert line in cfg.splitlines(), "%s missing from server-1.properties:\n%s" % (line, cfg)

    # up: three pids, one leader every node agrees on.
    rows, leader_line, rc = cluster.wait_status("one agreed leader", one_leader)
    leader = one_leader(rows, leader_line, rc)
    assert [int(rows[i]["PORT"]) for i in range(NODES)] == [cluster.base + i for i in range(NODES)]
    assert [int(rows[i]["CONTROLLER"]) for i in range(NODES)] == [cluster.ctrl + i for i in range(NODES)]
    pids = {i: int(rows[i]["PID"]) for i in range(NODES)}
    assert len(set(pids.values())) == NODES and all(pid_alive(p) for p in pids.values())
    assert sorted(r["ROLE"] for r in rows.values()) == ["Follower", "Follower", "Leader"]

    # A second up starts nothing new.
    again = cluster.run("up")
    assert again.stdout.count("already running") == NODES, again.stdout
    assert {i: int(r["PID"]) for i, r in cluster.status()[0].items()} == pids

    # kill 1: it is down, its process is gone, the others keep (or elect) a leader.
    cluster.run("kill", "1")
    assert not pid_alive(pids[1])
    rows, leader_line, rc = cluster.status()
    assert rc != 0
    assert rows[1]["PID"] == "down" and rows[1]["ROLE"] == "-"
    assert rows[0]["PID"] == str(pids[0]) and rows[2]["PID"] == str(pids[2])
    cluster.wait_status("a leader among 0 and 2", lambda rows, line, rc: rows[1]["PID"] == "down" and any(
        rows[i]["ROLE"] == "Leader" for i in (0, 2)) and re.match(r"raft leader: node [02] ", line))
    assert cluster.run("kill", "1", check=False).returncode != 0  # not running any more

    # start 1: same ports, same data; back as a Follower (or Leader).
    start = cluster.run("start", "1")
    assert "node 1 up" in start.stdout
    rows, leader_line, rc = cluster.wait_status("node 1 back in the quorum", one_leader)
    assert rows[1]["ROLE"] in ("Follower", "Leader")
    assert rows[1]["PORT"] == str(cluster.base + 1) and rows[1]["CONTROLLER"] == str(cluster.ctrl + 1)
    new_pid = int(rows[1]["PID"])
    assert new_pid != pids[1]
    pids[1] = new_pid

    # logs 1: node 1's log (both of its starts), not the others'.
    logs = cluster.run("logs", "1")
    assert logs.stdout.count("node 1 listening on 127.0.0.1:%d" % (cluster.base + 1)) >= 1, logs.stdout
    assert "node 1 killed (kill -9)" in logs.stdout or "start node 1" in logs.stdout
    assert "node 0 listening" not in logs.stdout and "node 2 listening" not in logs.stdout
    all_logs = cluster.run("logs")
    assert all("broker-%d.log" % i in all_logs.stdout for i in range(NODES)), all_logs.stdout
    assert cluster.run("logs", "9", check=False).returncode != 0

    # down: nothing left running, no pid file left.
    cluster.run("down")
    deadline = time.time() + 10
    while time.time() < deadline and any(pid_alive(p) for p in pids.values()):
        time.sleep(0.1)
    assert not [p for p in pids.values() if pid_alive(p)]
    assert cluster.pid_files() == []
    rows, leader_line, rc = cluster.status()
    assert rc != 0 and all(r["PID"] == "down" for r in rows.values())
    assert leader_line.startswith("raft leader: none")


def describe(cluster, node, topic):
    """{partition: (leader, isr)} as node `node` describes `topic`, or None."""
    proc = subprocess.run([tool("tern"), "topics", "--bootstrap-server", "127.0.0.1:%d" % (cluster.base + node),
                           "--describe", "--topic", topic], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        return None
    rows = {}
    for m in re.finditer(r"Partition: (\d+)\tLeader: (-?\d+)\tReplicas: [\d,]*\tIsr: ([\d,]*)", proc.stdout):
        rows[int(m.group(1))] = (int(m.group(2)), sorted(int(x) for x in m.group(3).split(",") if x))
    return rows or None


def test_stop_is_a_controlled_shutdown(cluster):
    cluster.run("up")
    rows, leader_line, rc = cluster.wait_status("one agreed leader", one_leader)
    x = one_leader(rows, leader_line, rc)  # the Raft leader: its stop hands that over too
    pid = int(rows[x]["PID"])
    subprocess.run([tool("tern"), "topics", "--bootstrap-server", "127.0.0.1:%d" % cluster.base, "--create",
                    "--topic", "moving", "--partitions", "6", "--replication-factor", "3"],
                   check=True, capture_output=True, timeout=30)
    deadline = time.time() + 20
    while True:
        view = describe(cluster, x, "moving")
        if view and len(view) == 6 and all(isr == [0, 1, 2] for _, isr in view.values()):
            break
        assert time.time() < deadline, "no full ISR: %r" % (view,)
        time.sleep(0.2)
    assert any(lead == x for lead, _ in view.values()), view  # placement spreads leaders

    stop = cluster.run("stop", str(x))
    assert "node %d stopped in" % x in stop.stdout, stop.stdout
    assert "controlled shutdown done" in stop.stdout, stop.stdout  # the controller granted it
    assert not pid_alive(pid)
    assert not (cluster.dir / ("broker-%d.pid" % x)).exists()
    other = (x + 1) % NODES
    # Already moved when stop returned: no partition is led by x or offline.
    view = describe(cluster, other, "moving")
    assert view and all(lead not in (x, -1) and x not in isr for lead, isr in view.values()), view
    # Its logs were closed cleanly.
    for p in range(6):
        assert (cluster.dir / ("data-%d" % x) / ("moving-%d" % p) / ".kafka_cleanshutdown").exists()
    rows, leader_line, rc = cluster.wait_status(
        "a new Raft leader", lambda rows, line, rc: rows[x]["PID"] == "down" and re.match(
            r"raft leader: node (?!%d )\d+ " % x, line))
    assert "node %d stopped (SIGTERM)" % x in cluster.run("logs", str(x)).stdout

    # Not running any more: stop fails; start brings it back.
    proc = cluster.run("stop", str(x), check=False)
    assert proc.returncode != 0 and proc.stderr.startswith("cluster: "), proc.stderr
    cluster.run("start", str(x))
    cluster.wait_status("node %d back in the quorum" % x, one_leader)


def test_usage_and_bad_arguments(cluster):
    proc = cluster.run(check=False)
    assert proc.returncode == 2 and "cluster.sh up" in proc.stdout
    assert "cluster.sh stop N" in proc.stdout and "cluster.sh kill N" in proc.stdout
    for args in (["kill"], ["kill", "x"], ["start", "3"], ["kill", "0"], ["stop"], ["stop", "x"], ["stop", "3"],
                 ["stop", "0"]):
        proc = cluster.run(*args, check=False)
        assert proc.returncode != 0, args
        assert proc.stderr.startswith("cluster: "), (args, proc.stderr)
    # Nothing was started by any of those.
    assert cluster.pid_files() == []
