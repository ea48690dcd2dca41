"""helpers: tern-broker processes on free ports, the CLI, topic creation.

Every broker a test starts listens on 127.0.0.1 with a port the kernel picks
(listeners=PLAINTEXT://127.0.0.1:0) and keeps its data in the test's own
temporary directory, so the tests run beside a local cluster on 9092-9094 and
beside another test run.

Binaries come from $TERN_BUILD_DIR (default: <repo>/build)/cmd/.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import kwire

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("TERN_BUILD_DIR", REPO / "build"))
LISTENING_RE = re.compile(r"tern-broker: node (\d+) listening on (\S+):(\d+)")
START_TIMEOUT = 20.0  # seconds to wait for the "listening on" line
STOP_TIMEOUT = 20.0  # seconds a SIGTERM may take before it counts as a hang


def tool(name):
    """Path of a Tern binary (tern-broker, tern, tern-perf); fails the test
    when it was not built."""
    path = BUILD_DIR / "cmd" / name
    if not path.exists():
        pytest.fail("%s not built (expected at %s; set TERN_BUILD_DIR)" % (name, path), pytrace=False)
    return str(path)


def run_cli(args, input=None, timeout=60, check=True):
    """Runs `tern ARGS`; returns the CompletedProcess (text mode)."""
    proc = subprocess.run(
        [tool("tern")] + list(args),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            "tern %s exited %d\nstdout:\n%s\nstderr:\n%s"
            % (" ".join(args), proc.returncode, proc.stdout, proc.stderr)
        )
    return proc


def write_properties(path, props):
    with open(path, "w") as f:
        f.write("# written by the integration tests\n")
        for k, v in props.items():
            f.write("%s=%s\n" % (k, v))


class Broker:
    """One tern-broker process.

    .bootstrap "127.0.0.1:PORT", .port, .data_dir (log.dirs), .log_path,
    .start() / .stop() (SIGTERM, returns the exit code) / .kill9() /
    .restart() (same port, same data), .log_text()."""

    def __init__(self, workdir, name="broker", props=None, overrides=None):
        self.workdir = Path(workdir)
        self.name = name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.config_path = self.workdir / "server.properties"
        self.log_path = self.workdir / "broker.log"
        self.props = {
            "node.id": "0",
            "listeners": "PLAINTEXT://127.0.0.1:0",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
        }
        self.props.update(props or {})
        self.overrides = dict(overrides or {})
        self.proc = None
        self.port = None
        self.host = None
        self._log_offset = 0
        self._logf = None

    @property
    def bootstrap(self):
        return "%s:%d" % (self.host, self.port)

    def argv(self):
        args = [tool("tern-broker"), str(self.config_path)]
        overrides = dict(self.overrides)
        if self.port is not None:
            # A restart keeps the port clients already know.
            overrides["listeners"] = "PLAINTEXT://127.0.0.1:%d" % self.port
        for k, v in overrides.items():
            args += ["--override", "%s=%s" % (k, v)]
        return args

    def start(self, timeout=START_TIMEOUT):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        write_properties(self.config_path, self.props)
        self._logf = open(self.log_path, "ab")
        self._log_offset = self._logf.tell()
        self._logf.write(("=== start %s\n" % " ".join(self.argv())).encode())
        self._logf.flush()
        self._log_offset = self._logf.tell()
        self.proc = subprocess.Popen(
            self.argv(),
            stdin=subprocess.DEVNULL,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            cwd=str(self.workdir),
            start_new_session=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = LISTENING_RE.search(self._log_since_start())
            if m:
                self.host = m.group(2)
                self.port = int(m.group(3))
                return self
            if self.proc.poll() is not None:
                raise AssertionError(
                    "tern-broker exited %d before listening; log:\n%s" % (self.proc.returncode, self.log_text()[-4000:])
                )
            time.sleep(0.05)
        self.kill9()
        raise AssertionError("tern-broker did not print its listening line in %.0fs; log:\n%s" % (timeout, self.log_text()[-4000:]))

    def _log_since_start(self):
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            return f.read().decode(errors="replace")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; returns the exit code. A broker that does not
        stop in time is killed and the test fails."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError("tern-broker ignored SIGTERM for %.0fs" % timeout)
        rc = self.proc.returncode
        self._close_log()
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def restart(self, timeout=START_TIMEOUT):
        if self.alive():
            self.stop()
        return self.start(timeout)

    def _close_log(self):
        if self._logf is not None:
            self._logf.close()
            self._logf = None

    def segment_dir(self, topic, partition=0):
        return self.data_dir / ("%s-%d" % (topic, partition))


def create_topic(bootstrap, topic, partitions=1, config=None, timeout=15.0):
    """Creates a topic with confluent-kafka's AdminClient and waits until
    Metadata shows every partition with a leader."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
        request_timeout=timeout,
    )
    fs[topic].result(timeout)
    kwire.wait_for_topic(bootstrap, topic, timeout)


def unique_topic(prefix="t"):
    return "%s-%d-%d" % (prefix, os.getpid(), time.monotonic_ns() % 10**9)
