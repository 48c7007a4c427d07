"""Oversized, malformed and hostile requests get a 4xx problem with a documented code, never a
5xx, from the monolith, the services and the gateway alike (the same list for each)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.faults.api import (
    AUTH,
    CHECK_PATH,
    as_client,
    new_client_ip,
    new_phone,
    problem_violation,
)
from tests.faults.hostile_bodies import CASES, Hostile
from tests.faults.stack_control import FaultStack

TARGETS = ("monolith", "services", "gateway")


@pytest.fixture(scope="module")
def hostile_stack(fault_stack: FaultStack) -> FaultStack:
    fault_stack.revive_all()  # once for the module: these requests hurt nothing
    return fault_stack


def base_url(stack: FaultStack, target: str, path: str) -> str:
    if target == "services":
        return stack.url("verify" if path.startswith(CHECK_PATH) else "send")
    return stack.url(target)


def with_fresh_destinations(body: bytes) -> bytes:
    parts = body.split(b"@TO@")
    out = parts[0]
    for part in parts[1:]:
        out += new_phone().encode() + part
    return out


def chunks(body: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


def expected_codes(case: Hostile, target: str) -> frozenset[str]:
    """The API's codes; through the gateway, a header value that is not UTF-8 is refused by the
    gateway itself, with its own problem (it never forwards it, nor speaks for the API)."""
    if target == "gateway" and any(not _is_utf8(v) for v in case.headers.values()):
        return frozenset({"invalid_header_value"})
    return case.codes


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_gets_a_documented_4xx_problem(
        hostile_stack: FaultStack, target: str, case: Hostile) -> None:
    url = base_url(hostile_stack, target, case.path) + case.path
    headers = [(k.encode(), v.encode()) for k, v in as_client(new_client_ip()).items()]
    headers += [(k.encode(), v) for k, v in case.headers.items()]
    if case.content_type:
        headers.append((b"Content-Type", case.content_type.encode()))
    body = with_fresh_destinations(case.body)
    content = chunks(body) if case.chunked else (body if case.method == "POST" else None)
    with httpx.Client(timeout=10.0, headers=AUTH) as http:
        response = http.request(case.method, url, content=content, headers=headers)
    try:
        answer = response.json()
    except ValueError:
        answer = response.text[:300]
    shown = f"{case.method} {url} ({len(body)} bytes) -> {response.status_code} " \
            f"{response.headers.get('content-type')} {answer!r}"[:800]
    assert 400 <= response.status_code < 500, shown
    headers_seen = {k.lower(): v for k, v in response.headers.items()}
    violation = problem_violation(response.status_code, headers_seen, answer)
    assert violation is None, f"{violation}: {shown}"
    assert answer["code"] in expected_codes(case, target), shown
    if answer["code"] == "invalid_parameter" and case.param:
        assert answer.get("field") == case.param, shown
