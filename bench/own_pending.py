"""Pending verifications the measured target creates itself, through its own send API, for the
check workload to check.

The checked verifications are then the target's own records, in whatever storage version it
writes (`VERIFY_STORAGE_WRITE_VERSION`), and the same 1,000 in the 1,000-pending and in the
many-pending runs: what differs between those runs is only how many other keys the Redis holds
(the loader's bulk). Each call takes new destinations (CHECK_AREA_CODE, never reused in a run),
so a send is never a resend refused by the cooldown.
"""

from __future__ import annotations

import itertools
import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import http, phones

CONCURRENCY = 8  # the servers are pinned to one core: a few requests in flight keep it busy
_next_destination = itertools.count()
IP_OFFSET = 50_000  # X-Forwarded-For numbers apart from the probe's (bench/probe.py: 100,000+)


class CreateFailed(RuntimeError):
    """The target did not create every verification asked for."""


def _send(url: str, index: int) -> tuple[int, dict[str, Any]]:
    to = phones.us_mobile(phones.CHECK_AREA_CODE, index)
    try:
        return http.post_json(url + "/api/verifications", {"to": to, "channel": "sms"},
                              {"X-Forwarded-For": http.benchmark_ip(IP_OFFSET + index)})
    except OSError as exc:  # refused, reset, timed out: counted as status 0, reported below
        return 0, {"error": f"{type(exc).__name__}: {exc}"}


def create(send_url: str, count: int) -> list[str]:
    """POST `count` sends to new destinations; the ids of the verifications created (201)."""
    indexes = [next(_next_destination) for _ in range(count)]
    with ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="bench-own") as pool:
        answers = list(pool.map(lambda index: _send(send_url, index), indexes))
    ids = [str(body["id"]) for status, body in answers if status == 201 and "id" in body]
    if len(ids) != count:
        statuses = Counter(str(status) for status, _ in answers)
        sample = next((body for status, body in answers if status != 201), {})
        raise CreateFailed(f"asked {count} sends for the check workload, {len(ids)} created "
                           f"({dict(statuses)}; e.g. {str(sample)[:200]})")
    return ids


def placeholder_ids(count: int) -> list[str]:
    """Well-formed ids for targets that keep no records (the reference apps ignore them)."""
    return ["VE" + secrets.token_hex(16) for _ in range(count)]
