"""The tern CLI (kafka-topics.sh / console producer / console consumer) and
the broker's configuration errors."""

import re
import subprocess
import time

from helpers import Broker, run_cli, tool, unique_topic, write_properties

# kafka-topics.sh --describe, Kafka 3.x:
# Topic: t\tTopicId: <base64 uuid>\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: k=v,...
# \tTopic: t\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0[\tElr: ...\tLastKnownElr: ...]
HEADER_RE = r"^Topic: {t}\tTopicId: [A-Za-z0-9_-]{{22}}\tPartitionCount: {n}\tReplicationFactor: 1\tConfigs: ?\S*$"
PARTITION_RE = r"^\tTopic: {t}\tPartition: (\d+)\tLeader: 0\tReplicas: 0\tIsr: 0(\t.*)?$"


def topics(b, *args, check=True):
    return run_cli(["topics", "--bootstrap-server", b.bootstrap] + list(args), check=check)


def test_topics_create_list_describe_delete(broker):
    t = unique_topic("cli")
    topics(broker, "--create", "--topic", t, "--partitions", "3", "--replication-factor", "1",
           "--config", "retention.ms=3600000")
    assert t in topics(broker, "--list").stdout.split()

    out = topics(broker, "--describe", "--topic", t).stdout
    lines = [l for l in out.splitlines() if l.strip()]
    assert re.match(HEADER_RE.format(t=re.escape(t), n=3), lines[0]), "header line: %r" % lines[0]
    assert "retention.ms=3600000" in lines[0]
    parts = sorted(int(re.match(PARTITION_RE.format(t=re.escape(t)), l).group(1))
                   for l in lines[1:] if re.match(PARTITION_RE.format(t=re.escape(t)), l))
    assert parts == [0, 1, 2], "partition lines: %r" % lines[1:]

    # Creating it again is an error naming the topic (TOPIC_ALREADY_EXISTS).
    again = topics(broker, "--create", "--topic", t, "--partitions", "1", "--replication-factor", "1", check=False)
    assert again.returncode != 0 and t in (again.stdout + again.stderr)
    assert topics(broker, "--create", "--if-not-exists", "--topic", t, "--partitions", "1",
                  "--replication-factor", "1", check=False).returncode == 0

    topics(broker, "--delete", "--topic", t)
    deadline = time.time() + 10
    while t in topics(broker, "--list").stdout.split() and time.time() < deadline:
        time.sleep(0.2)
    assert t not in topics(broker, "--list").stdout.split()
    assert topics(broker, "--describe", "--topic", t, check=False).returncode != 0


def test_describe_all_topics(broker):
    names = [unique_topic("all%d" % i) for i in range(2)]
    for n in names:
        topics(broker, "--create", "--topic", n, "--partitions", "1", "--replication-factor", "1")
    out = topics(broker, "--describe").stdout
    for n in names:
        assert re.search(HEADER_RE.format(t=re.escape(n), n=1), out, re.M), out


def test_produce_consume_round_trip(broker):
    t = unique_topic("cli")
    topics(broker, "--create", "--topic", t, "--partitions", "1", "--replication-factor", "1")
    lines = ["line %d: %s" % (i, "x" * (i % 37)) for i in range(500)]
    run_cli(["produce", "--bootstrap-server", broker.bootstrap, "--topic", t],
            input="\n".join(lines) + "\n")
    out = run_cli(["consume", "--bootstrap-server", broker.bootstrap, "--topic", t, "--from-beginning",
                   "--max-messages", str(len(lines)), "--timeout-ms", "15000"]).stdout
    assert out.splitlines() == lines


def test_produce_consume_keys(broker):
    t = unique_topic("cli")
    topics(broker, "--create", "--topic", t, "--partitions", "1", "--replication-factor", "1")
    lines = ["key%d:value%d" % (i, i) for i in range(50)]
    run_cli(["produce", "--bootstrap-server", broker.bootstrap, "--topic", t,
             "--property", "parse.key=true", "--property", "key.separator=:"],
            input="\n".join(lines) + "\n")
    out = run_cli(["consume", "--bootstrap-server", broker.bootstrap, "--topic", t, "--from-beginning",
                   "--max-messages", "50", "--timeout-ms", "15000",
                   "--property", "print.key=true", "--property", "key.separator=:"]).stdout
    assert out.splitlines() == lines


def test_kcat_reads_what_tern_produce_wrote(broker):
    t = unique_topic("cli")
    topics(broker, "--create", "--topic", t, "--partitions", "1", "--replication-factor", "1")
    lines = ["hello %d" % i for i in range(20)]
    run_cli(["produce", "--bootstrap-server", broker.bootstrap, "--topic", t], input="\n".join(lines) + "\n")
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-t", t, "-C", "-e", "-q", "-o", "beginning"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == lines


def _start_expect_failure(tmp_path, props=None, overrides=None):
    b = Broker(tmp_path, props=props, overrides=overrides)
    write_properties(b.config_path, b.props)
    p = subprocess.run(b.argv(), capture_output=True, text=True, timeout=20)
    return p


def test_unknown_config_key_stops_broker(tmp_path):
    p = _start_expect_failure(tmp_path / "a", props={"no.such.setting": "1"})
    assert p.returncode != 0
    assert "no.such.setting" in p.stderr + p.stdout


def test_unknown_override_key_stops_broker(tmp_path):
    p = _start_expect_failure(tmp_path / "b", overrides={"bogus.key": "x"})
    assert p.returncode != 0
    assert "bogus.key" in p.stderr + p.stdout


def test_invalid_value_stops_broker(tmp_path):
    p = _start_expect_failure(tmp_path / "c", props={"num.partitions": "zero"})
    assert p.returncode != 0
    assert "num.partitions" in p.stderr + p.stdout


def test_broker_help_and_version():
    assert subprocess.run([tool("tern-broker"), "--help"], capture_output=True, timeout=10).returncode == 0
    assert subprocess.run([tool("tern"), "--help"], capture_output=True, timeout=10).returncode == 0
