"""`tern groups` (kafka-consumer-groups.sh) against a real broker and a real
confluent_kafka consumer: --list, --describe (committed offset, log-end
offset, lag, owner), --reset-offsets (dry run and --execute) and --delete."""

import re
import time

from confluent_kafka import Consumer, Producer, TopicPartition

import kwire
from helpers import create_topic, run_cli, unique_topic

PARTITIONS = 3
RECORDS = 100
CONSUMED = 60
DELETE_GROUPS_API_KEY = 42
HEADER = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
          "CLIENT-ID"]


def groups(b, *args, check=True):
    return run_cli(["groups", "--bootstrap-server", b.bootstrap] + list(args), check=check)


def wait_for(cond, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


def parse_describe(stdout):
    """The table of --describe: {partition: row dict}, after checking the
    header is Kafka's."""
    lines = [l for l in stdout.splitlines() if l.strip()]
    assert lines, "no output"
    assert lines[0].split() == HEADER, "header: %r" % lines[0]
    rows = {}
    for l in lines[1:]:
        cols = l.split()
        assert len(cols) == len(HEADER), "row: %r" % l
        row = dict(zip(HEADER, cols))
        rows[int(row["PARTITION"])] = row
    return rows


def num(v):
    return None if v == "-" else int(v)


def produce_numbered(bootstrap, topic):
    """RECORDS records round-robin over the partitions; returns the count per
    partition."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(RECORDS):
        p.produce(topic, value=b"record-%d" % i, partition=i % PARTITIONS)
    assert p.flush(30) == 0, "records left unsent"
    return {q: len(range(q, RECORDS, PARTITIONS)) for q in range(PARTITIONS)}


def consume_and_commit(bootstrap, topic, group, count):
    """A subscribed consumer that reads `count` records, the same number from
    each partition, and commits them synchronously. Offsets are stored by
    hand, so records fetched beyond a partition's share are not committed.
    Returns the (still open) consumer."""
    share = count // PARTITIONS
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "client.id": "groups-cli-test",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
    })
    c.subscribe([topic])
    got = {q: 0 for q in range(PARTITIONS)}
    deadline = time.time() + 60
    while min(got.values()) < share and time.time() < deadline:
        m = c.poll(1.0)
        if m is None or m.error() or got[m.partition()] >= share:
            continue
        assert m.offset() == got[m.partition()], "partition %d: offset %d" % (m.partition(), m.offset())
        got[m.partition()] += 1
        c.store_offsets(message=m)
    assert got == {q: share for q in range(PARTITIONS)}, got
    c.commit(asynchronous=False)
    return c


def committed_by_consumer(c, topic):
    res = c.committed([TopicPartition(topic, q) for q in range(PARTITIONS)], timeout=10)
    return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in res}


def log_end_offsets(bootstrap, topic):
    with kwire.Conn(bootstrap) as conn:
        out = {}
        for q in range(PARTITIONS):
            r = conn.list_offsets(topic, q, kwire.LATEST)
            assert r["error_code"] == 0, r
            out[q] = r["offset"]
        return out


def describe_rows(b, group):
    d = groups(b, "--describe", "--group", group)
    return d, parse_describe(d.stdout)


def total_lag(rows):
    return sum(num(r["LAG"]) for r in rows.values())


def test_describe_lag_and_reset_offsets(broker):
    topic = unique_topic("grp")
    group = "G-" + topic
    create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    per_partition = produce_numbered(broker.bootstrap, topic)
    ends = log_end_offsets(broker.bootstrap, topic)
    assert ends == per_partition

    c = consume_and_commit(broker.bootstrap, topic, group, CONSUMED)
    try:
        committed = committed_by_consumer(c, topic)
        assert committed == {q: CONSUMED // PARTITIONS for q in range(PARTITIONS)}, committed

        assert group in groups(broker, "--list").stdout.split()

        # An active group: one row per assigned partition, owned by the member.
        d, rows = describe_rows(broker, group)
        assert "no active members" not in d.stderr
        assert sorted(rows) == list(range(PARTITIONS))
        for q, row in rows.items():
            assert row["GROUP"] == group and row["TOPIC"] == topic
            assert num(row["CURRENT-OFFSET"]) == committed[q], (q, row, committed)
            assert num(row["LOG-END-OFFSET"]) == ends[q], (q, row, ends)
            assert num(row["LAG"]) == ends[q] - committed[q], (q, row)
            # librdkafka's member ids are the client id and a UUID.
            assert row["CONSUMER-ID"].startswith("groups-cli-test-"), row
            assert row["CLIENT-ID"] == "groups-cli-test"
            assert row["HOST"].endswith("127.0.0.1"), row
        assert len({r["CONSUMER-ID"] for r in rows.values()}) == 1, rows
        assert total_lag(rows) == RECORDS - CONSUMED

        # Kafka refuses to reset the offsets of a group with members.
        refused = groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest",
                         "--execute", check=False)
        assert refused.returncode == 1, refused
        assert refused.stderr.strip().splitlines() == [
            "tern: Assignments can only be reset if the group '%s' is inactive, but the current state is "
            "Stable." % group]
        assert committed_by_consumer(c, topic) == committed
    finally:
        c.close()

    # Closed: the group is Empty, its offsets stay, no owner any more.
    d = wait_for(lambda: (lambda r: r if "has no active members" in r.stderr else None)(
        groups(broker, "--describe", "--group", group)), what="the group to become Empty")
    assert d.stderr.strip() == "Consumer group '%s' has no active members." % group
    rows = parse_describe(d.stdout)
    assert {q: num(r["CURRENT-OFFSET"]) for q, r in rows.items()} == committed
    for r in rows.values():
        assert r["CONSUMER-ID"] == r["HOST"] == r["CLIENT-ID"] == "-"
    assert total_lag(rows) == RECORDS - CONSUMED

    # A dry run prints the plan and changes nothing.
    plan = groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest")
    lines = [l.split() for l in plan.stdout.splitlines() if l.strip()]
    assert lines[0] == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    assert lines[1:] == [[group, topic, str(q), "0"] for q in range(PARTITIONS)]
    _, after = describe_rows(broker, group)
    assert after == rows

    # --execute: everything is to be read again.
    groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
    _, rows = describe_rows(broker, group)
    assert sorted(rows) == list(range(PARTITIONS))
    assert {q: num(r["CURRENT-OFFSET"]) for q, r in rows.items()} == {q: 0 for q in range(PARTITIONS)}
    assert total_lag(rows) == RECORDS

    # --to-offset on one partition; beyond the end it is clamped to the end.
    groups(broker, "--reset-offsets", "--group", group, "--topic", "%s:1" % topic, "--to-offset", "10",
           "--execute")
    big = groups(broker, "--reset-offsets", "--group", group, "--topic", "%s:2" % topic, "--to-offset",
                 "5000", "--execute")
    assert "Value will be set to %d" % ends[2] in big.stderr, big.stderr
    _, rows = describe_rows(broker, group)
    assert {q: num(r["CURRENT-OFFSET"]) for q, r in rows.items()} == {0: 0, 1: 10, 2: ends[2]}
    assert total_lag(rows) == ends[0] + (ends[1] - 10)

    # --to-latest: nothing left to read.
    groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-latest", "--execute")
    _, rows = describe_rows(broker, group)
    assert {q: num(r["CURRENT-OFFSET"]) for q, r in rows.items()} == ends
    assert total_lag(rows) == 0

    # A consumer of the group starts where the reset put it: at the end.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.subscribe([topic])
        wait_for(lambda: c.poll(0.5) is None and c.assignment(), what="the consumer to be assigned")
        assert committed_by_consumer(c, topic) == ends
    finally:
        c.close()


def broker_has_delete_groups(b):
    with kwire.Conn(b.bootstrap) as conn:
        return DELETE_GROUPS_API_KEY in conn.api_versions(0)["api_keys"]


def test_delete_group(broker):
    topic = unique_topic("grpdel")
    group = "D-" + topic
    create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    produce_numbered(broker.bootstrap, topic)
    supported = broker_has_delete_groups(broker)
    c = consume_and_commit(broker.bootstrap, topic, group, 10)
    try:
        busy = groups(broker, "--delete", "--group", group, check=False)
        # Exit 1 with one line: never a crash (librdkafka 2.0 aborts on
        # admin calls to an API the broker lacks, so the tool checks first).
        assert busy.returncode == 1, busy
        assert len(busy.stderr.strip().splitlines()) == 1, busy.stderr
        if supported:
            assert "'%s' could not be deleted: it has active members (NON_EMPTY_GROUP)" % group in busy.stderr
        else:
            assert busy.stderr.strip() == (
                "tern: Consumer group '%s' could not be deleted: the broker does not support deleting "
                "consumer groups (DeleteGroups, API key 42)" % group)
    finally:
        c.close()
    wait_for(lambda: "has no active members" in groups(broker, "--describe", "--group", group).stderr,
             what="the group to become Empty")

    res = groups(broker, "--delete", "--group", group, check=False)
    if not supported:
        # Until the broker serves DeleteGroups (API key 42) the command
        # says so and the group stays.
        assert res.returncode == 1, res
        assert "does not support deleting consumer groups (DeleteGroups, API key 42)" in res.stderr
        assert group in groups(broker, "--list").stdout.split()
        return
    assert res.returncode == 0, res
    assert res.stdout.strip() == "Deletion of requested consumer groups ('%s') was successful." % group
    assert group not in groups(broker, "--list").stdout.split()
    gone = groups(broker, "--describe", "--group", group, check=False)
    assert gone.returncode == 1
    assert gone.stderr.strip() == "tern: Consumer group '%s' does not exist." % group


def test_usage_and_missing_group_errors(broker):
    missing = groups(broker, "--describe", "--group", "no-such-group-" + unique_topic(), check=False)
    assert missing.returncode == 1
    assert re.fullmatch(r"tern: Consumer group 'no-such-group-\S+' does not exist\.\n", missing.stderr), missing
    assert missing.stdout == ""

    bad = [
        (["--list", "--describe"], "exactly one action"),
        (["--describe"], "--group"),
        (["--reset-offsets", "--group", "g", "--to-earliest"], "--topic"),
        (["--reset-offsets", "--group", "g", "--topic", "t"], "exactly one of --to-earliest"),
        (["--reset-offsets", "--group", "g", "--topic", "t", "--to-earliest", "--to-latest"], "exactly one of"),
        (["--reset-offsets", "--group", "g", "--topic", "t:x", "--to-earliest"], "Invalid partition 'x'"),
        (["--describe", "--group", "g", "--execute"], "--reset-offsets only"),
    ]
    for args, msg in bad:
        r = groups(broker, *args, check=False)
        assert r.returncode == 1, (args, r)
        assert len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr, (args, r.stderr)

    t = unique_topic("grpnone")
    r = groups(broker, "--reset-offsets", "--group", "g", "--topic", t, "--to-earliest", check=False)
    assert r.returncode == 1 and "Topic '%s' does not exist" % t in r.stderr, r
