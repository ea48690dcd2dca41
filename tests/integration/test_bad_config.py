"""A configuration the broker cannot run with stops it before it starts: exit
status 2, nothing on stdout, and exactly one line on stderr that names the
offending key - whether the value came from the properties file or from
--override. The cases are the ones a quorum setup gets wrong: voters that do
not parse or repeat an id, a node that is neither a voter nor has a
controller listener, a log directory that cannot be created."""

import socket
import subprocess

import pytest

from helpers import tool, write_properties

RUN_TIMEOUT = 15  # seconds; a broker that starts anyway is killed then


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_broker(tmp_path, props=None, overrides=None, data=None):
    """Runs tern-broker with a properties file (props) and --override pairs;
    returns the CompletedProcess. Listeners take free ports, so a config
    that is accepted by mistake starts a broker, which is killed at the
    timeout and fails the test."""
    path = tmp_path / "server.properties"
    base = {
        "node.id": "0",
        "listeners": "PLAINTEXT://127.0.0.1:0",
        "log.dirs": str(data if data is not None else tmp_path / "data"),
    }
    base.update(props or {})
    write_properties(path, base)
    argv = [tool("tern-broker"), str(path)]
    for k, v in (overrides or {}).items():
        argv += ["--override", "%s=%s" % (k, v)]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail("tern-broker accepted the configuration and ran (stdout %r, stderr %r)" % (e.stdout, e.stderr),
                    pytrace=False)


def assert_one_line_error(proc, *words):
    """Exit 2, nothing on stdout, one stderr line naming every word (keys)."""
    assert proc.returncode == 2, "exit %d, stderr %r" % (proc.returncode, proc.stderr)
    assert "listening on" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, "expected one line on stderr, got %r" % proc.stderr
    line = lines[0]
    assert line.startswith("tern-broker: invalid configuration: "), line
    for w in words:
        assert w in line, "%r does not name %r" % (line, w)
    return line


def quorum_props(voters):
    return {
        "listeners": "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:%d" % free_port(),
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": voters,
    }


def test_duplicate_voter_ids(tmp_path):
    # In the properties file...
    proc = run_broker(tmp_path, props=quorum_props("0@127.0.0.1:19001,1@127.0.0.1:19002,0@127.0.0.1:19003"))
    line = assert_one_line_error(proc, "controller.quorum.voters:")
    assert "voter id 0 appears twice" in line
    # ...and as an override.
    proc = run_broker(tmp_path, props=quorum_props("0@127.0.0.1:19001"),
                      overrides={"controller.quorum.voters": "2@127.0.0.1:19001,2@127.0.0.1:19002"})
    assert "voter id 2 appears twice" in assert_one_line_error(proc, "controller.quorum.voters:")


def test_two_voters_on_one_address(tmp_path):
    proc = run_broker(tmp_path, props=quorum_props("0@127.0.0.1:19001,1@127.0.0.1:19001"))
    assert "same address" in assert_one_line_error(proc, "controller.quorum.voters:")


@pytest.mark.parametrize("voter,why", [
    ("0@host", "no port"),
    ("x@h:1", "id"),
    ("@h:1", "id"),
    ("-1@h:1", "id"),
    ("0@h:port", "port must be a number"),
    ("0@h:99999", "port out of range"),
    ("0@h:0", "port out of range"),
    ("0@:1", "no host"),
    ("0@::1:19001", "brackets"),
    ("0-127.0.0.1:19001", "no '@'"),
])
def test_voter_that_does_not_parse(tmp_path, voter, why):
    proc = run_broker(tmp_path, overrides=quorum_props("0@127.0.0.1:19001,%s" % voter))
    line = assert_one_line_error(proc, "controller.quorum.voters:", "'%s'" % voter)
    assert why in line


def test_value_with_a_newline_stays_one_line(tmp_path):
    # `\n` in a properties file is an escaped newline inside the value.
    path = tmp_path / "server.properties"
    path.write_text("log.dirs=%s\ncontroller.quorum.voters=0@h\\n:1\n" % (tmp_path / "data"))
    proc = subprocess.run([tool("tern-broker"), str(path)], capture_output=True, text=True, timeout=RUN_TIMEOUT)
    line = assert_one_line_error(proc, "controller.quorum.voters:")
    assert "0@h\\n:1" in line


def test_log_dir_under_a_regular_file(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be\n")
    proc = run_broker(tmp_path, data=blocker / "data")
    line = assert_one_line_error(proc, "log.dirs:", str(blocker / "data"))
    assert "not a directory" in line
    # Deeper: the file is an ancestor, not the parent.
    proc = run_broker(tmp_path, overrides={"log.dirs": "%s,%s" % (tmp_path / "ok", blocker / "a" / "b")})
    assert_one_line_error(proc, "log.dirs:", str(blocker / "a" / "b"))
    # The log dir itself is a file.
    proc = run_broker(tmp_path, data=blocker)
    assert "is not a directory" in assert_one_line_error(proc, "log.dirs:")
    # metadata.log.dir is checked the same way.
    proc = run_broker(tmp_path, overrides={"metadata.log.dir": str(blocker / "meta")})
    assert_one_line_error(proc, "metadata.log.dir:")
    assert not (tmp_path / "ok").exists(), "nothing is created before the configuration is valid"


def test_node_not_a_voter_without_controller_listener(tmp_path):
    proc = run_broker(tmp_path, props={"node.id": "5", "controller.quorum.voters": "0@127.0.0.1:19001"})
    assert_one_line_error(proc, "node.id:", "controller.quorum.voters", "controller listener")
    # A controller listener on port 0 cannot be dialled by the voters either.
    props = quorum_props("0@127.0.0.1:19001")
    props.update({"node.id": "5", "listeners": "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"})
    proc = run_broker(tmp_path, props=props)
    assert_one_line_error(proc, "listeners:", "fixed port")


def test_unknown_key_and_bad_number_still_one_line(tmp_path):
    proc = run_broker(tmp_path, overrides={"controller.quorum.election.timeout.msx": "400"})
    assert_one_line_error(proc, "controller.quorum.election.timeout.msx")
    proc = run_broker(tmp_path, props={"broker.session.timeout.ms": "soon"})
    assert_one_line_error(proc, "broker.session.timeout.ms:", "server.properties:")
