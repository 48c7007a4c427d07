"""One real stack for the fault suite (own Redis, own route table, free ports), started once.

Each test gets it with every process running and ready (a test that killed something and failed
before restarting it does not break the next one) and an empty dev inbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from devtools.components import free_ports
from tests.faults.api import AUTH, ReportFn, reporter
from tests.faults.stack_control import FaultStack, fault_components


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    workdir = tmp_path_factory.mktemp("faults")
    parts, table = fault_components(free_ports(), workdir)
    print(f"\n[faults] starting the stack; logs in {workdir / 'logs'}", flush=True)
    stack = FaultStack(parts, table, workdir)
    with stack:
        yield stack


@pytest.fixture
def stack(fault_stack: FaultStack, http: httpx.Client) -> FaultStack:
    revived = fault_stack.revive_all()
    if revived:
        print(f"\n[faults] restarted what an earlier test left dead: {revived}", flush=True)
    http.delete(fault_stack.url("devinbox") + "/messages").raise_for_status()
    return fault_stack


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, headers=AUTH) as client:
        yield client


@pytest.fixture
def report(record_property: Callable[[str, object], None]) -> ReportFn:
    return reporter(record_property)
