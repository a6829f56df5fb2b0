"""pytest wiring for integration tests; the API is documented in testbed_fixtures.py."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from testbed_fixtures import (  # noqa: E402
    LeakScanner,
    cleanup_runner,
    make_runner,
    session_lock,
    start_testbed,
)

__all__ = ["LeakScanner"]


@pytest.fixture(scope="session")
def testbed():
    if os.geteuid() != 0:
        pytest.fail("integration tests drive the test bed and must run as root")
    with session_lock():
        yield start_testbed()


@pytest.fixture(scope="session")
def _playbook_runner(testbed):
    runner, workdir = make_runner(testbed.inventory)
    yield runner
    cleanup_runner(workdir)


@pytest.fixture
def run_playbook(_playbook_runner):
    return _playbook_runner


@pytest.fixture
def leak_scanner():
    """A fresh LeakScanner (add tokens with .add()); its syslog offset is 'now'."""
    return LeakScanner()
