"""Fixtures of the integration tests: real tern-broker processes on free ports
(see helpers.Broker). Every broker a test starts is stopped at teardown, and
the log of every broker of a failed test is attached to the failure report."""

import os
import signal

import pytest

from helpers import Broker

TEST_TIMEOUT = int(os.environ.get("TERN_TEST_TIMEOUT", "300"))  # seconds per test


@pytest.fixture
def broker_factory(request, tmp_path):
    """make(props=None, overrides=None, start=True) -> Broker. Every broker
    made is stopped at teardown, failed test or not."""
    made = []
    request.node._tern_brokers = made

    def make(props=None, overrides=None, start=True, name=None):
        name = name or "broker%d" % len(made)
        b = Broker(tmp_path / name, name=name, props=props, overrides=overrides)
        made.append(b)
        if start:
            b.start()
        return b

    yield make
    errors = []
    for b in made:
        try:
            b.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            b.kill9()
    if errors:
        pytest.fail("; ".join(errors), pytrace=False)


@pytest.fixture
def broker(broker_factory):
    """A started broker with default settings."""
    return broker_factory()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for b in getattr(item, "_tern_brokers", []):
            rep.sections.append(("tern-broker %s log (%s)" % (b.name, b.log_path), b.log_text()[-8000:]))


class _TestTimeout(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A per-test time limit (TERN_TEST_TIMEOUT seconds), so a hung client
    or broker fails one test instead of the whole run."""

    def on_alarm(signum, frame):
        raise _TestTimeout("test exceeded %ds" % TEST_TIMEOUT)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
