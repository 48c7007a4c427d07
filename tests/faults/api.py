"""What the fault tests do as a user would: fresh destinations and client IPs, sends, codes read
from the dev inbox, the shape of problem answers, and printing the measured numbers."""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from contract_tests.problems import PROBLEMS

SEND_PATH = "/api/verifications"
CHECK_PATH = "/api/verification-checks"
# The errors the gateway makes itself (routing/README.md), with their statuses.
GATEWAY_PROBLEM_TYPE = "urn:problem:gateway:"
GATEWAY_PROBLEMS = {"invalid_header_value": 400, "bad_gateway": 502, "service_unavailable": 503,
                    "gateway_timeout": 504}
# The fault stack's one API key (client `faults`, every scope): fixed, like its pepper, and no
# secret (the stack is throwaway). Every client of the suite sends it (the inbox ignores it).
API_KEY = "ak_fa0175000000c0de.fault-suite-key-not-a-secret-00000000000000"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
CODE_IN_MESSAGE = re.compile(r"code is (\d{4,10})")
ReportFn = Callable[[str, object], None]

# Unique per session: destinations and client IPs never repeat, so rate limits of one test (and
# the small per-IP limit of the fault stack) never leak into another.
_serial = itertools.count(random.randrange(10_000, 90_000) * 1000)


def new_phone() -> str:
    """A valid US mobile-capable number, +1 212 then exchange 200-999 and 4 digits (8,000,000)."""
    n = next(_serial) % 8_000_000
    return f"+1212{200 + n // 10_000}{n % 10_000:04d}"


def new_email() -> str:
    return f"fault-{next(_serial)}@example.com"


def new_client_ip() -> str:
    n = next(_serial)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def as_client(ip: str) -> dict[str, str]:
    """The stack trusts loopback as a proxy, so this is the client IP the API sees."""
    return {"X-Forwarded-For": ip}


def send(http: httpx.Client, base_url: str, to: str, channel: str = "sms") -> httpx.Response:
    return http.post(base_url + SEND_PATH, json={"to": to, "channel": channel},
                     headers=as_client(new_client_ip()))


def created_id(response: httpx.Response) -> str:
    assert response.status_code == 201, describe(response)
    verification_id = response.json()["id"]
    assert isinstance(verification_id, str)
    return verification_id


def messages(http: httpx.Client, inbox_url: str, to: str | None = None) -> list[dict[str, Any]]:
    params = {"to": to} if to else {}
    response = http.get(inbox_url + "/messages", params=params)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


def wait_code(http: httpx.Client, inbox_url: str, to: str, timeout: float = 10.0) -> str:
    """The code in the newest message to `to`, polling the inbox for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        for message in messages(http, inbox_url, to):
            match = CODE_IN_MESSAGE.search(str(message["body"]))
            if match:
                return match.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"no code for {to} in the dev inbox within {timeout:.0f}s "
                                 "(is the dispatcher running? see its log)")
        time.sleep(0.05)


def problem_violation(status: int, headers: Mapping[str, str], body: Any) -> str | None:
    """Why an error answer is not a documented problem (docs/api.md, Errors, or the gateway's
    own in routing/README.md), or None."""
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/problem+json":
        return f"content-type {media!r}, not application/problem+json"
    if isinstance(body, dict) and str(body.get("type", "")).startswith(GATEWAY_PROBLEM_TYPE):
        return gateway_problem_violation(status, headers, body)
    if not isinstance(body, dict) or body.get("code") not in PROBLEMS:
        return f"body has no documented code: {body!r}"[:400]
    code_status, title, detail = PROBLEMS[body["code"]]
    if (body.get("status"), status) != (code_status, code_status):
        return f"status {status} (body {body.get('status')}) for code {body['code']}"
    expected_detail = detail.format(field=body.get("field"))
    if body.get("title") != title or body.get("detail") != expected_detail:
        return f"title/detail differ from docs/api.md for {body['code']}: {body!r}"
    if status in (429, 503) and not retry_after_ok(headers.get("retry-after")):
        return f"{status} without a whole-second Retry-After >= 1 ({headers.get('retry-after')})"
    return None


def gateway_problem_violation(status: int, headers: Mapping[str, str],
                              body: dict[str, Any]) -> str | None:
    if GATEWAY_PROBLEMS.get(str(body.get("code"))) != status or body.get("status") != status:
        return f"gateway problem {body.get('code')} with status {status}: {body!r}"
    if status == 503 and not retry_after_ok(headers.get("retry-after")):
        return ("the gateway's own 503 has no Retry-After (docs/api.md: every 503 carries one): "
                f"{body!r}")
    return None


def retry_after_ok(value: str | None) -> bool:
    return value is not None and value.isdigit() and int(value) >= 1


def describe(response: httpx.Response) -> str:
    request = response.request
    sent = request.content[:200] if request.content else b""
    headers = {k: v for k, v in response.headers.items()
               if k.lower() in ("content-type", "retry-after", "x-served-by", "location")}
    return (f"\n  {request.method} {request.url} {sent!r}\n"
            f"  -> {response.status_code} {headers} {response.text[:400]}")


def reporter(record_property: Callable[[str, object], None]) -> ReportFn:
    """Print a measured number (visible with -s) and attach it to the JUnit report."""

    def report(name: str, value: object) -> None:
        print(f"\n[faults] {name} = {value}", flush=True)
        record_property(name, value)

    return report


class Findings:
    """Collects every broken expectation of a scenario, so one run reports all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def expect(self, ok: bool, message: str, examples: list[str] | None = None) -> None:
        if not ok:
            shown = "".join(f"\n    {line}" for line in (examples or [])[:8])
            more = f"\n    ... {len(examples or []) - 8} more" if len(examples or []) > 8 else ""
            self.items.append(message + shown + more)

    def assert_none(self) -> None:
        assert not self.items, f"{len(self.items)} expectation(s) broken:\n- " + "\n- ".join(
            self.items)
