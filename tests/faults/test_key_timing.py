"""The answer time of a refused key does not tell whether its id exists, measured over real HTTP on
each side: an unknown id and a known id with a wrong secret, interleaved so the machine's noise
falls on both alike. (That both take the same path, one SHA-256 and one constant-time compare, is
proven by each side's unit tests, tests/unit/*/test_api_keys.py: a microsecond is below what HTTP
timing can see; this catches anything larger, such as a lookup only one path makes.)"""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from tests.faults.api import API_KEY, SEND_PATH, ReportFn
from tests.faults.stack_control import FaultStack

ROUNDS = 300
KNOWN_ID = API_KEY.split(".", 1)[0]
UNKNOWN_ID = "ak_" + "0" * 16


def answer_ms(http: httpx.Client, url: str, key_id: str) -> float:
    started = time.perf_counter()
    response = http.post(url, json={}, headers={
        "Authorization": f"Bearer {key_id}.wrong-secret-wrong-secret-wrong-secret-000"})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 401, response.text
    return elapsed


@pytest.mark.parametrize("target", ["monolith", "send"])
def test_unknown_and_known_key_ids_are_refused_in_the_same_time(
        stack: FaultStack, report: ReportFn, target: str) -> None:
    url = stack.url(target) + SEND_PATH
    known: list[float] = []
    unknown: list[float] = []
    with httpx.Client(timeout=5.0) as http:
        for _ in range(20):  # warm the connection and both paths
            answer_ms(http, url, KNOWN_ID)
            answer_ms(http, url, UNKNOWN_ID)
        for _ in range(ROUNDS):
            known.append(answer_ms(http, url, KNOWN_ID))
            unknown.append(answer_ms(http, url, UNKNOWN_ID))
    known_ms, unknown_ms = statistics.median(known), statistics.median(unknown)
    report(f"{target}_refused_key_median_ms", {"known_id_wrong_secret": round(known_ms, 3),
                                               "unknown_id": round(unknown_ms, 3),
                                               "ratio": round(unknown_ms / known_ms, 3)})
    assert abs(unknown_ms - known_ms) <= max(0.2 * known_ms, 0.3), (known_ms, unknown_ms)
