"""Concurrent right checks write exactly one approval event (real threads, real Redis).

The HTTP outcomes of concurrent checks are the contract suite's (contract_tests/).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask

from monolith import keys


def test_twenty_right_checks_emit_one_approval_event(
    app: Flask, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
    stream: Callable[[str], Any],
) -> None:
    vid = start().get_json()["id"]
    body = {"verification_id": vid, "code": outbox_codes(vid)[0]}

    def check(_: int) -> int:
        return int(app.test_client().post("/api/verification-checks", json=body).status_code)

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert sorted(pool.map(check, range(20))).count(200) == 1
    events = stream(keys.v3_events(keys.bucket(vid[2:18])))
    approvals = [e for _i, e in events if e["type"] == "verification.approved"]
    assert len(approvals) == 1
