"""netns: a private test network of Linux network namespaces, and
tern-broker processes inside it.

    root namespace                     one namespace per node
    bridge  10.X.Y.254/24  --veth--    10.X.Y.1  (node 0)
                           --veth--    10.X.Y.2  (node 1)
                           --veth--    10.X.Y.3  (node 2)

The test process stays in the root namespace and reaches every node over the
bridge. A partition is made of blackhole routes inside the namespaces
(iptables-free): `isolate(i)` makes node i and the other nodes drop what they
send each other, while the root namespace - the test's clients - still
reaches all of them. `heal()` deletes those routes.

Every run gets names of its own (`tn<pid hex><random>`...) and a /24 no
interface or route of the machine uses, so runs coexist and a leftover of a
crashed run cannot collide with a new one; `destroy()` removes what the run
made (deleting a namespace deletes the veth end inside it and so its peer).
Leftovers of runs whose process is gone are removed on the next `create()`.

Needs root and `ip` (iproute2). `available()` says whether this machine
allows it, so tests can skip cleanly elsewhere.
"""

import ipaddress
import json
import os
import random
import re
import subprocess
from pathlib import Path

from helpers import Broker, tool

PREFIX = "tn"  # every name this module creates starts with it
NETNS_DIR = Path("/run/netns")
_OWNED_RE = re.compile(r"^%s([0-9a-f]{6})[0-9a-f]{3}(br|[hpnx]\d*)$" % PREFIX)


def ip(*args, check=True):
    proc = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError("ip %s: exit %d: %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc


def available():
    """(True, "") when namespaces, veths and bridges can be made here, else
    (False, why)."""
    if os.geteuid() != 0:
        return False, "network namespaces need root"
    try:
        ip("-V")
    except (OSError, RuntimeError) as e:
        return False, "no usable ip(8): %s" % e
    name = "%s%06x%03xx" % (PREFIX, os.getpid() & 0xFFFFFF, random.randrange(0x1000))
    try:
        ip("netns", "add", name)
    except RuntimeError as e:
        return False, str(e)
    ip("netns", "del", name, check=False)
    return True, ""


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale():
    """Deletes the namespaces and links of earlier runs whose process no
    longer exists (the name carries the low 24 bits of the owner's pid; a
    live owner, or a pid reused by a live process, keeps its network)."""
    live = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            live.add(int(pid) & 0xFFFFFF)
    names = []
    if NETNS_DIR.is_dir():
        names += [("netns", n) for n in os.listdir(NETNS_DIR)]
    out = ip("-j", "link", "show", check=False).stdout or "[]"
    names += [("link", l.get("ifname", "")) for l in json.loads(out)]
    for kind, name in names:
        m = _OWNED_RE.match(name)
        if m is None or int(m.group(1), 16) in live:
            continue
        if kind == "netns":
            ip("netns", "del", name, check=False)
        else:
            ip("link", "del", name, check=False)


def _used_networks():
    """Every IPv4 network an address or a (non-default) route of the root
    namespace covers."""
    nets = []
    for line in ip("-4", "-o", "addr", "show").stdout.splitlines():
        m = re.search(r"\binet (\S+)", line)
        if m:
            nets.append(ipaddress.ip_interface(m.group(1)).network)
    for line in ip("-4", "route", "show", "table", "all").stdout.splitlines():
        dest = line.split()[0] if line.split() else ""
        if dest in ("default", "broadcast", "local", "unreachable", "blackhole", "prohibit", "throw"):
            dest = line.split()[1] if len(line.split()) > 1 else ""
        if dest == "default" or not dest:
            continue
        try:
            nets.append(ipaddress.ip_network(dest, strict=False))
        except ValueError:
            pass
    return nets


class TestNetwork:
    """A bridge and n namespaces on a fresh 10.X.Y.0/24. Node i is
    .addr(i) = 10.X.Y.(i+1) in namespace .netns(i)."""

    __test__ = False  # not a pytest test class

    def __init__(self, n):
        self.n = n
        self.tag = "%s%06x%03x" % (PREFIX, os.getpid() & 0xFFFFFF, random.randrange(0x1000))
        self.bridge = self.tag + "br"
        self.subnet = None
        self.created = False
        self.blackholes = []  # (namespace, address) routes in place

    def netns(self, i):
        return "%sn%d" % (self.tag, i)

    def _veth_host(self, i):
        return "%sh%d" % (self.tag, i)

    def _veth_peer(self, i):
        return "%sp%d" % (self.tag, i)

    def addr(self, i):
        return str(self.subnet.network_address + i + 1)

    @property
    def gateway(self):
        return str(self.subnet.network_address + 254)

    def _pick_subnet(self):
        used = _used_networks()
        for _ in range(200):
            net = ipaddress.ip_network("10.%d.%d.0/24" % (random.randrange(100, 250), random.randrange(1, 255)))
            if not any(net.overlaps(u) for u in used):
                return net
        raise RuntimeError("no free 10.x.y.0/24 for a test network")

    def create(self):
        remove_stale()
        self.subnet = self._pick_subnet()
        self.created = True  # from here on destroy() has something to undo
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", "%s/24" % self.gateway, "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i in range(self.n):
            ns, host, peer = self.netns(i), self._veth_host(i), self._veth_peer(i)
            ip("netns", "add", ns)
            ip("link", "add", host, "type", "veth", "peer", "name", peer)
            ip("link", "set", peer, "netns", ns)
            ip("link", "set", host, "master", self.bridge, "up")
            self.exec_ip(i, "addr", "add", "%s/24" % self.addr(i), "dev", peer)
            self.exec_ip(i, "link", "set", peer, "up")
            self.exec_ip(i, "link", "set", "lo", "up")
        return self

    def exec_prefix(self, i):
        """argv prefix that runs a command inside node i's namespace."""
        return ["ip", "netns", "exec", self.netns(i)]

    def exec_ip(self, i, *args, check=True):
        return ip("-n", self.netns(i), *args, check=check)

    def _blackhole(self, i, j):
        self.exec_ip(i, "route", "add", "blackhole", "%s/32" % self.addr(j))
        self.blackholes.append((i, j))

    def isolate(self, i):
        """Node i and every other node no longer reach each other (packets
        silently dropped both ways, as on a cut link); the root namespace
        still reaches all of them."""
        for j in range(self.n):
            if j != i:
                self._blackhole(i, j)
                self._blackhole(j, i)

    def heal(self):
        for i, j in self.blackholes:
            self.exec_ip(i, "route", "del", "blackhole", "%s/32" % self.addr(j), check=False)
        self.blackholes = []

    def destroy(self):
        """Removes everything create() made; safe to call twice and after a
        create() that failed half-way."""
        if not self.created:
            return
        errors = []
        for i in range(self.n):
            # The namespace takes its veth end along; the host end goes with it.
            ip("netns", "del", self.netns(i), check=False)
            ip("link", "del", self._veth_host(i), check=False)
        ip("link", "del", self.bridge, check=False)
        for name in [self.bridge] + [self._veth_host(i) for i in range(self.n)]:
            if ip("link", "show", name, check=False).returncode == 0:
                errors.append("link %s" % name)
        for i in range(self.n):
            if (NETNS_DIR / self.netns(i)).exists():
                errors.append("netns %s" % self.netns(i))
        self.created = False
        if errors:
            raise RuntimeError("test network not fully removed: %s" % ", ".join(errors))


class NetnsBroker(Broker):
    """A tern-broker inside node i's namespace. Its listeners are in
    props (fixed ports: each namespace has ports of its own), so a restart
    keeps them without helpers.Broker's 127.0.0.1 override."""

    def __init__(self, net, i, workdir, name, props):
        super().__init__(workdir, name=name, props=props)
        self.net = net
        self.index = i

    def argv(self):
        args = self.net.exec_prefix(self.index) + [tool("tern-broker"), str(self.config_path)]
        for k, v in self.overrides.items():
            args += ["--override", "%s=%s" % (k, v)]
        return args
