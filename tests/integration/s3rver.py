"""s3rver: a real S3 server (npm s3rver, tests/node_modules) for the tests.

    server = S3rver(workdir, buckets=["tern"])   # or S3rver() for a temp dir
    server.start()          # free port; server.endpoint == "127.0.0.1:PORT"
    server.list_keys("tern"), server.count_objects("tern")
    server.corrupt("tern", key)                  # same length, other bytes
    server.stop(); server.start()                # an outage: same port, same objects
    server.close()          # stops it and removes a temp dir it made

It is also a context manager. The server listens on 127.0.0.1 only, uses
path-style URLs, accepts s3rver's built-in account (S3RVER / S3RVER) with
AWS Signature V2 or V4, and keeps its objects under <workdir>/data, so they
survive stop()/start(). Buckets are created at start with s3rver's own
--configure-bucket (libs3 cannot create buckets on s3rver).

The process dies with the Python process that started it (PR_SET_PDEATHSIG),
so a crashed or killed test run leaves no server behind; call stop() (or use
`with`) to stop it earlier. Its output goes to <workdir>/s3rver.log.
"""

import ctypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "node_modules" / "s3rver" / "bin" / "s3rver.js"
ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
START_TIMEOUT = 20.0  # seconds to wait for "S3rver listening on ..."
STOP_TIMEOUT = 5.0  # seconds a SIGTERM may take before SIGKILL
OBJECT_SUFFIX = "._S3rver_object"  # how s3rver names an object's file
LISTENING_RE = re.compile(r"S3rver listening on ([0-9.]+):(\d+)")


class S3rverError(RuntimeError):
    pass


def _die_with_parent():
    # Runs in the child between fork and exec: ask for SIGKILL when the
    # parent dies (prctl(PR_SET_PDEATHSIG, SIGKILL); PR_SET_PDEATHSIG = 1).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class S3rver:
    def __init__(self, workdir=None, buckets=("tern",)):
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="tern-s3rver-")) if workdir is None else Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "s3rver.log"
        self.buckets = list(buckets)
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.host = "127.0.0.1"
        self.port = 0  # chosen at the first start, kept across restarts
        self.proc = None

    # ---- lifecycle -------------------------------------------------------------

    @property
    def endpoint(self):
        """"host:port" (libs3's hostName, the broker's claimcheck.s3.endpoint)."""
        if not self.port:
            raise S3rverError("s3rver has not been started")
        return "%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return "http://" + self.endpoint

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Starts the server (a free port the first time, the same port
        after a stop) and waits until it listens. Returns self."""
        if self.running:
            return self
        node = shutil.which("node")
        if node is None:
            raise S3rverError("node is not on PATH: install Node.js (deploy/deps.sh)")
        if not SCRIPT.exists():
            raise S3rverError("s3rver is not installed (%s missing): run deploy/deps.sh (npm ci in tests/)" % SCRIPT)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            err = self._start_once(node, deadline)
            if err is None:
                return self
            # The previous port may still be held for a moment after a
            # restart: try again until the deadline.
            if self.port and "EADDRINUSE" in err and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise S3rverError(err)

    def _start_once(self, node, deadline):
        cmd = [node, str(SCRIPT), "-d", str(self.data_dir), "-a", self.host, "-p", str(self.port),
               "--no-vhost-buckets"]
        for b in self.buckets:
            cmd += ["--configure-bucket", b]
        with open(self.log_path, "ab") as log:
            offset = log.tell()
            log.write(("---- %s\n" % " ".join(cmd)).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=str(self.workdir), preexec_fn=_die_with_parent)
        while time.monotonic() < deadline:
            text = self._log_since(offset)
            m = LISTENING_RE.search(text)
            if m:
                self.port = int(m.group(2))
                return None
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                return "s3rver exited with status %s before listening:\n%s" % (rc, text[-4000:])
            time.sleep(0.02)
        text = self._log_since(offset)
        self._kill()
        return "s3rver did not listen within %.0f s:\n%s" % (START_TIMEOUT, text[-4000:])

    def _log_since(self, offset):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _kill(self):
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop(self):
        """Stops the server (objects stay on disk; start() brings it back on
        the same port). Idempotent."""
        self._kill()

    def close(self):
        """Stops the server and removes the directory if this object made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass

    def log_text(self):
        return self._log_since(0)

    # ---- the stored objects (read from disk: works while stopped too) ------------

    def _bucket_dir(self, bucket):
        return self.data_dir / bucket

    def object_path(self, bucket, key):
        """The file holding the bytes of `key` (<bucket>/<dirs>/<name>._S3rver_object)."""
        return self._bucket_dir(bucket) / (key + OBJECT_SUFFIX)

    def list_keys(self, bucket, prefix=""):
        """Every object key in `bucket` (sorted), optionally under `prefix`."""
        root = self._bucket_dir(bucket)
        keys = []
        for dirpath, _, files in os.walk(root):
            for f in files:
                if not f.endswith(OBJECT_SUFFIX):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                key = rel[: -len(OBJECT_SUFFIX)]
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def count_objects(self, bucket, prefix=""):
        return len(self.list_keys(bucket, prefix))

    def read_object(self, bucket, key):
        return self.object_path(bucket, key).read_bytes()

    def corrupt(self, bucket, key, how="flip"):
        """Damages a stored object in place: "flip" inverts one byte in the
        middle (same length, another SHA-256), "truncate" drops the last
        byte (another length). The server serves the damaged bytes."""
        path = self.object_path(bucket, key)
        if not path.exists():
            raise S3rverError("no object %s/%s (%s)" % (bucket, key, path))
        size = path.stat().st_size
        if how == "flip":
            if size == 0:
                raise S3rverError("object %s/%s is empty: nothing to flip" % (bucket, key))
            with open(path, "r+b") as f:
                f.seek(size // 2)
                b = f.read(1)
                f.seek(size // 2)
                f.write(bytes([b[0] ^ 0xFF]))
        elif how == "truncate":
            if size == 0:
                raise S3rverError("object %s/%s is empty: nothing to truncate" % (bucket, key))
            os.truncate(path, size - 1)
        else:
            raise ValueError("corrupt: how must be 'flip' or 'truncate'")
        # s3rver caches the MD5 (its ETag) beside the object: drop it so it
        # is recomputed from the damaged bytes.
        md5 = Path(str(path) + ".md5")
        if md5.exists():
            md5.unlink()

    def boto3_client(self):
        """A boto3 S3 client for this server (path style, s3rver's account)."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}))
