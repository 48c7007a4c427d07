"""The load of the Redis outage scenario: what each target is asked, how recovery is measured,
and the right codes checked through every checker at once."""

from __future__ import annotations

import asyncio
import functools

import httpx

from tests.faults.api import AUTH, CHECK_PATH, SEND_PATH, as_client, new_client_ip, new_phone
from tests.faults.load import Call, Outcome, Probe

CHECKERS = ("monolith", "verify", "gateway")


def probes(urls: dict[str, str], known_id: str) -> list[Probe]:
    def sending(url: str) -> Call:
        return Call("POST", url + SEND_PATH, {"to": new_phone(), "channel": "sms"},
                    as_client(new_client_ip()))

    def reading(url: str) -> Call:
        return Call("GET", f"{url}{SEND_PATH}/{known_id}")

    def checking(url: str) -> Call:  # a destination with nothing pending: a 404 when healthy
        return Call("POST", url + CHECK_PATH, {"to": new_phone(), "code": "123456"})

    plan = {"monolith": ("send", "read", "check"), "send": ("send", "read"),
            "verify": ("check",), "gateway": ("send", "read", "check")}
    makers = {"send": (sending, frozenset({201}), 0.25), "read": (reading, frozenset({200}), 0.05),
              "check": (checking, frozenset({404}), 0.05)}
    found = []
    for target, ops in plan.items():
        for op in ops:
            make, normal, pause = makers[op]
            url = urls[target]
            found.append(Probe(target, op, functools.partial(make, url), normal, pause))
    return found


def recovery_seconds(outcomes: list[Outcome], target: str, restarted: float, up: float) -> float:
    """From Redis answering again to the start of the run of normal answers that never broke."""
    after = [o for o in outcomes if o.target == target and o.started >= restarted]
    abnormal = [i for i, o in enumerate(after) if not o.normal]
    if not abnormal:
        return 0.0
    if abnormal[-1] == len(after) - 1:
        return float("inf")
    return max(0.0, after[abnormal[-1] + 1].started - up)


async def check_all(urls: dict[str, str],
                    codes: dict[str, str]) -> list[tuple[str, httpx.Response]]:
    """Each right code, once through each checker at the same moment: (checker, response)."""
    names = [name for _ in codes for name in CHECKERS]
    async with httpx.AsyncClient(timeout=5.0, headers=AUTH) as client:
        calls = [client.post(urls[name] + CHECK_PATH, json={"verification_id": vid, "code": code})
                 for vid, code in codes.items() for name in CHECKERS]
        return list(zip(names, await asyncio.gather(*calls), strict=True))
