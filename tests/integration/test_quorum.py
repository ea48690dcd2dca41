"""The metadata quorum run by tern-broker: three voters elect a leader, survive
the leader's kill -9 with a new one, take the killed node back; the quorum is
visible through DescribeQuorum (`tern metadata-quorum`). A broker without
controller.quorum.voters runs no quorum and does not advertise DescribeQuorum."""

import re
import socket
import time

import kwire
from helpers import run_cli

DESCRIBE_QUORUM = 55
ELECTION_TIMEOUT_MS = 500


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def quorum_status(broker):
    """`tern metadata-quorum describe --status` as a dict, or None when the
    command fails (broker down or not answering)."""
    proc = run_cli(["metadata-quorum", "--bootstrap-server", broker.bootstrap, "describe", "--status"],
                   timeout=15, check=False)
    if proc.returncode != 0:
        return None
    out = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    for key in ("LeaderId", "LeaderEpoch", "HighWatermark"):
        out[key] = int(out[key])
    out["CurrentVoters"] = [int(x) for x in re.findall(r"\d+", out["CurrentVoters"])]
    return out


def quorum_replication(broker):
    """`describe --replication` rows: {node_id: (log_end_offset, lag, status)}."""
    proc = run_cli(["metadata-quorum", "--bootstrap-server", broker.bootstrap, "describe", "--replication"],
                   timeout=15)
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NodeId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp",
                                "Status"], proc.stdout
    rows = {}
    for line in lines[1:]:
        f = line.split()
        rows[int(f[0])] = (int(f[1]), int(f[2]), f[5])
    return rows


def wait_for(what, fn, timeout):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def agreed_leader(brokers, min_epoch=0):
    """(leader id, epoch) when every broker reports the same leader at an
    epoch above min_epoch, else None."""
    seen = [quorum_status(b) for b in brokers]
    if any(s is None or s["LeaderId"] < 0 or s["LeaderEpoch"] <= min_epoch for s in seen):
        return None
    if len({(s["LeaderId"], s["LeaderEpoch"]) for s in seen}) != 1:
        return None
    return seen[0]["LeaderId"], seen[0]["LeaderEpoch"]


def start_quorum(broker_factory, n=3, extra=None):
    """n voters, each also a broker; `extra` props for all of them."""
    ports = free_ports(n)
    voters = ",".join("%d@127.0.0.1:%d" % (i, p) for i, p in enumerate(ports))
    brokers = []
    for i in range(n):
        props = {
            "node.id": str(i),
            "controller.quorum.voters": voters,
            "listeners": "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:%d" % ports[i],
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.election.timeout.ms": str(ELECTION_TIMEOUT_MS),
        }
        props.update(extra or {})
        brokers.append(broker_factory(props=props, name="node%d" % i))
    return brokers, ports


def restart_same_ports(b, controller_port):
    """Restarts a killed broker on its Kafka and controller ports. (helpers'
    restart() keeps only the Kafka listener.)"""
    port = b.port
    b.port = None
    b.props["listeners"] = "PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d" % (port, controller_port)
    b.start()


def test_quorum_elects_fails_over_and_rejoins(broker_factory):
    brokers, ports = start_quorum(broker_factory)

    leader, epoch = wait_for("a leader all three agree on", lambda: agreed_leader(brokers), 15)
    status = quorum_status(brokers[0])
    assert sorted(status["CurrentVoters"]) == [0, 1, 2]
    assert status["CurrentObservers"] == "[]"
    assert status["ClusterId"] not in ("", "-")
    with kwire.Conn(brokers[0].bootstrap) as c:
        assert c.api_versions(3)["api_keys"][DESCRIBE_QUORUM] == (0, 1)

    # The leader sees every voter's log; all three caught up.
    rows = wait_for("every voter caught up",
                    lambda: (lambda r: r if all(lag == 0 for _, lag, _ in r.values()) else None)(
                        quorum_replication(brokers[leader])), 10)
    assert sorted(rows) == [0, 1, 2]
    assert rows[leader][2] == "Leader"
    assert sorted(s for _, _, s in rows.values()) == ["Follower", "Follower", "Leader"]

    # kill -9 the leader: the survivors elect another one in a later epoch.
    killed = brokers[leader]
    killed.kill9()
    survivors = [b for b in brokers if b is not killed]
    t0 = time.time()
    new_leader, new_epoch = wait_for("a new leader", lambda: agreed_leader(survivors, epoch), 10)
    assert new_leader != leader
    assert new_epoch > epoch
    print("failover took %.2f s" % (time.time() - t0))

    # It comes back: it follows the new leader and its log catches up.
    restart_same_ports(killed, ports[leader])

    def rejoined():
        if agreed_leader(brokers, epoch) is None:
            return None
        rows = quorum_replication(brokers[new_leader])
        leo, lag, status = rows[leader]
        return rows if status == "Follower" and leo > 0 and lag == 0 else None

    rows = wait_for("the restarted node to catch up", rejoined, 10)
    assert rows[new_leader][2] == "Leader"


def test_without_voters_no_describe_quorum(broker):
    with kwire.Conn(broker.bootstrap) as c:
        keys = c.api_versions(3)["api_keys"]
    assert DESCRIBE_QUORUM not in keys
    assert 18 in keys  # the table itself is still there
    # Asked anyway, it is an unknown key: the connection closes.
    with kwire.Conn(broker.bootstrap) as c:
        c.send_request(DESCRIBE_QUORUM, 1, b"\x01\x00", flexible=True)
        assert c.is_closed_by_peer()
    proc = run_cli(["metadata-quorum", "--bootstrap-server", broker.bootstrap, "describe", "--status"],
                   check=False)
    assert proc.returncode != 0
    assert "controller.quorum.voters" in proc.stderr
