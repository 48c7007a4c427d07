"""Redis round trips per request and bytes per pending verification, on a dedicated Redis.

A fresh embedded Redis per implementation, so MONITOR sees nobody else. The target is warmed up
(connections opened, scripts loaded) before counting starts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import redis

from bench import http, loader, memory, monitor, phones
from bench.targets import Deployment


def _send(url: str, index: int) -> tuple[int, str | None]:
    to = phones.us_mobile(phones.PROBE_AREA_CODE, index)
    status, body = http.post_json(url + "/api/verifications", {"to": to, "channel": "sms"},
                                  {"X-Forwarded-For": http.benchmark_ip(100_000 + index)})
    return status, str(body["id"]) if "id" in body else None


def _check(url: str, verification_id: str | None) -> int:
    if verification_id is None:  # its send failed; the status counts already say so
        return 0
    status, _ = http.post_json(url + "/api/verification-checks",
                               {"verification_id": verification_id, "code": loader.WRONG_CODE})
    return status


def probe(start: Callable[[str], Deployment], redis_url: str, requests: int,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Start the target on `redis_url` (a Redis nobody else uses) and measure it: its sends
    create the verifications its checks then check (a wrong code), whatever storage version
    it writes."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushall()
    deployment = start(redis_url)
    try:
        send_url, check_url = deployment.url_for("send"), deployment.url_for("check")
        warm_sends = [_send(send_url, i) for i in range(5)]
        warm = [status for status, _ in warm_sends]
        warm += [_check(check_url, verification_id) for _, verification_id in warm_sends]
        recorder = monitor.Recorder(redis_url)
        recorder.start()
        monitor.mark(client, "send")
        sent = [_send(send_url, 10 + i) for i in range(requests)]
        monitor.mark(client, "check")
        checks = [_check(check_url, verification_id) for _, verification_id in sent]
        phases = recorder.stop(client)
        bytes_per = memory.per_verification(client, sends=requests + 5)
    finally:
        for server in reversed(deployment.owned):
            server.stop()
        client.close()
    sends = [status for status, _ in sent]
    result: dict[str, Any] = {"requests": requests, "memory": bytes_per}
    for phase, statuses in (("send", sends), ("check", checks)):
        counts = phases.get(phase, Counter())
        result[phase] = {
            "commands_per_request": round(sum(counts.values()) / requests, 3),
            "commands": dict(sorted(counts.items())),
            "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        }
    result["warmup_statuses"] = sorted(set(warm))
    log(f"  {deployment.name}: send {result['send']['commands']}, "
        f"check {result['check']['commands']}, core bytes {bytes_per.get('core_bytes')} "
        f"(storage version {bytes_per.get('storage_version')})")
    return result
