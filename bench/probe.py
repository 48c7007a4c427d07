"""Redis round trips per request and bytes per pending verification, on a dedicated Redis.

A fresh embedded Redis per implementation, so MONITOR sees nobody else. The target is warmed up
(connections opened, scripts loaded) before counting starts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import redis

from bench import contract, http, loader, memory, monitor, phones
from bench.targets import PROFILE, Deployment


def _send(url: str, index: int) -> int:
    to = phones.us_mobile(phones.PROBE_AREA_CODE, index)
    status, _ = http.post_json(url + "/api/verifications", {"to": to, "channel": "sms"},
                               {"X-Forwarded-For": http.benchmark_ip(100_000 + index)})
    return status


def _check(url: str, verification_id: str) -> int:
    status, _ = http.post_json(url + "/api/verification-checks",
                               {"verification_id": verification_id, "code": loader.WRONG_CODE})
    return status


def probe(start: Callable[[str], Deployment], redis_url: str, requests: int,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Start the target on `redis_url` (a Redis nobody else uses) and measure it."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushall()
    ids = loader.load_pending(client, pepper=PROFILE["CODE_PEPPER"], start=0,
                              count=requests + 10,
                              ttl_s=int(PROFILE["VERIFY_CODE_TTL_SECONDS"]),
                              retention_s=int(PROFILE["VERIFY_RETENTION_SECONDS"]))
    deployment = start(redis_url)
    try:
        send_url, check_url = deployment.url_for("send"), deployment.url_for("check")
        warm = [_send(send_url, i) for i in range(5)]
        warm += [_check(check_url, ids[-1 - i]) for i in range(5)]
        recorder = monitor.Recorder(redis_url)
        recorder.start()
        monitor.mark(client, "send")
        sends = [_send(send_url, 10 + i) for i in range(requests)]
        monitor.mark(client, "check")
        checks = [_check(check_url, ids[i]) for i in range(requests)]
        phases = recorder.stop(client)
        loaded_prefix = f"+1{phones.LOADER_AREA_CODE}"
        bytes_per = memory.per_verification(client, exclude_prefix=loaded_prefix,
                                            sends=requests + 5)
        bytes_per["bench_loaded_record_bytes"] = memory.mean_usage(
            client, [contract.RECORD_PREFIX + i for i in ids[:20]])
    finally:
        for server in reversed(deployment.owned):
            server.stop()
        client.close()
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
        f"check {result['check']['commands']}, core bytes {bytes_per.get('core_bytes')}")
    return result
