"""Redis stops (SHUTDOWN SAVE) and comes back on the same port while a load runs against the
monolith, both services and the gateway: 503 + Retry-After while it is down, normal answers within
2 s of its return, no process restarted, and every approval counted exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from tests.faults.api import (
    SEND_PATH,
    Findings,
    ReportFn,
    created_id,
    new_phone,
    problem_violation,
    send,
    wait_code,
)
from tests.faults.load import burst, run_load, summary
from tests.faults.outage_plan import check_all, probes, recovery_seconds
from tests.faults.stack_control import FaultStack, pids_of

APPROVALS = 6  # verifications whose codes are learned before the outage and checked around it
OUTAGE_S = 3.0
AFTER_S = 4.0
RECOVERY_BOUND_S = 2.0
BURST = 16  # concurrent copies of each read/check probe, before and 2 s after the outage


@pytest.mark.timeout(150)  # includes starting the session's stack when this test runs first
async def test_redis_outage_503_then_recovery_and_approvals_exactly_once(
        stack: FaultStack, http: httpx.Client, report: ReportFn) -> None:
    urls = {name: stack.url(name) for name in ("monolith", "send", "verify", "gateway")}
    inbox = stack.url("devinbox")
    destinations = {}
    for i in range(APPROVALS):
        to = new_phone()
        destinations[created_id(send(http, urls["monolith" if i % 2 else "send"], to))] = to
    codes = {vid: wait_code(http, inbox, to) for vid, to in destinations.items()}
    watched = [name for name in stack.processes if name != "redis"]
    pids_before = pids_of(stack, watched)

    stop = asyncio.Event()
    plan = probes(urls, next(iter(codes)))
    # A busy process holds many pooled Redis connections; all of them go stale in the outage.
    warm = await burst([p for p in plan if p.op != "send"], BURST)
    load = asyncio.create_task(run_load(plan, stop, max_seconds=40))
    await asyncio.sleep(1.5)
    await asyncio.to_thread(stack.stop_redis)
    down = time.monotonic()
    await asyncio.sleep(1.0)
    during = await check_all(urls, codes)
    await asyncio.sleep(max(0.0, down + OUTAGE_S - time.monotonic()))
    restarted = time.monotonic()
    await asyncio.to_thread(stack.restart, "redis")
    up = time.monotonic()
    await asyncio.sleep(RECOVERY_BOUND_S)
    crowd = await burst([p for p in plan if p.op != "send"], BURST)
    await asyncio.sleep(max(0.0, up + AFTER_S - time.monotonic()))
    stop.set()
    outcomes = await load

    report("redis_outage_load_answers", summary(outcomes))
    report("redis_down_seconds", round(up - down, 2))
    report("redis_restart_seconds", round(up - restarted, 2))
    recovery = {t: recovery_seconds(outcomes, t, restarted, up) for t in urls}
    report("recovery_seconds_after_redis_ready", {t: round(s, 3) for t, s in recovery.items()})

    found = Findings()
    hanging = [o.describe() for o in outcomes if o.status is None]
    found.expect(not hanging, f"{len(hanging)} requests got no answer within 3 s", hanging)
    server_errors = [o.describe() for o in outcomes
                     if o.status and o.status >= 500 and o.status != 503]
    found.expect(not server_errors, "5xx other than 503", server_errors)
    bad_503 = [f"{problem_violation(503, o.headers, o.body)} <- {o.describe()}" for o in outcomes
               if o.status == 503 and problem_violation(503, o.headers, o.body)]
    found.expect(not bad_503, f"{len(bad_503)} 503s are not a documented problem", bad_503)
    while_down = [o for o in outcomes if o.started >= down and o.finished <= restarted]
    not_503 = [o.describe() for o in while_down if o.status != 503]
    found.expect(not not_503, "answers other than 503 while Redis was down", not_503)
    found.expect({o.target for o in while_down} == set(urls), "a target got no load while down")
    slow = {t: s for t, s in recovery.items() if s > RECOVERY_BOUND_S}
    late = [f"+{o.started - up:.3f}s {o.describe()}" for o in outcomes
            if o.started >= up + RECOVERY_BOUND_S and not o.normal]
    found.expect(not slow, f"not answering normally {RECOVERY_BOUND_S} s after Redis: {slow}",
                 late)
    report("burst_before_outage", summary(warm))
    report("burst_2s_after_redis_ready", summary(crowd))
    crowd_bad = [o.describe() for o in crowd if not o.normal]
    found.expect(not crowd_bad, f"{len(crowd_bad)} of {len(crowd)} requests arriving together "
                 f"{RECOVERY_BOUND_S} s after Redis returned were not answered normally", crowd_bad)
    found.expect(pids_of(stack, watched) == pids_before, "a process restarted during the outage")

    found.expect(all(r.status_code == 503 for _, r in during), "right codes checked while Redis "
                 f"was down answered {Counter(r.status_code for _, r in during)}, not only 503")
    after = await check_all(urls, codes)
    approved = Counter(r.json()["verification_id"] for _, r in after
                       if r.status_code == 200 and r.json().get("valid") is True)
    others = Counter(f"{name}: {r.status_code} {r.json().get('code')}" for name, r in after
                     if not (r.status_code == 200 and r.json().get("valid") is True))
    events = Counter(e["verification_id"] for e in stack.events()
                     if e.get("type") == "verification.approved")
    report("approvals_by_api", dict(approved))
    report("approved_events", {vid: events[vid] for vid in codes})
    report("other_answers_to_repeated_right_codes", dict(others))
    found.expect(approved == Counter(dict.fromkeys(codes, 1)), "approvals by API != 1 each")
    found.expect({vid: events[vid] for vid in codes} == dict.fromkeys(codes, 1),
                 "verification.approved events != 1 each")
    found.expect(all(k.endswith(": 404 not_found") for k in others),
                 f"the right codes, {AFTER_S:.0f} s after Redis returned, answered {others}")
    statuses = [http.get(f"{urls['monolith']}{SEND_PATH}/{vid}").json()["status"] for vid in codes]
    found.expect(statuses == ["approved"] * len(codes), f"statuses after: {statuses}")
    # The dispatcher came back by itself too: a new send is delivered.
    to = new_phone()
    created_id(send(http, urls["gateway"], to))
    wait_code(http, inbox, to)
    found.assert_none()
