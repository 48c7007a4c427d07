"""Redis fills up (maxmemory lowered, then filled with data, `noeviction` as in the ElastiCache
parameter group): while it is full, sends and checks on the monolith, both services and the
gateway (pinned to each side) answer only 503 + Retry-After (problem+json, service_unavailable),
reads still answer, nothing of the refused writes is left behind, and a job the dispatcher
delivers while Redis is full is settled (delivered once). Once memory is freed everything works
again with the same processes."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis

from services.verification import keys as storage
from tests.faults.api import (
    CHECK_PATH,
    SEND_PATH,
    Findings,
    ReportFn,
    created_id,
    describe,
    messages,
    new_phone,
    problem_violation,
    send,
    wait_code,
)
from tests.faults.stack_control import FaultStack, pids_of
from tests.support.redis_memory import keyspace

FILL_PREFIX = "faults:fill:"
FILL_VALUE = b"x" * (16 * 1024)
HEADROOM_BYTES = 4 * 1024 * 1024  # maxmemory = what Redis uses now + this, then filled up
# Once a filler write is refused, maxmemory is set this far below what Redis then uses: client
# buffers come and go (the refused write's own did), and must not make room again.
MARGIN_BYTES = 512 * 1024
ROUNDS = 3  # every request of the plan, this many times while Redis is full
RECOVERY_BOUND_S = 2.0
PINS = {"monolith": {"X-Backend": "monolith"}, "services": {"X-Backend": "services"}}


@contextmanager
def redis_filled(admin: redis.Redis, report: ReportFn) -> Iterator[None]:
    """maxmemory just above what Redis uses, then filled until it refuses a write (and maxmemory
    lowered to just below the use then); afterwards the filler deleted and maxmemory put back
    (memory freed, as an operator would)."""
    saved = {name: str(admin.config_get(name)[name])
             for name in ("maxmemory", "maxmemory-policy")}
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", used + HEADROOM_BYTES)
    written = 0
    try:
        while True:
            try:
                admin.set(f"{FILL_PREFIX}{written}", FILL_VALUE, ex=600)
            except redis.exceptions.OutOfMemoryError:
                break
            written += 1
            assert written < 5000, "Redis never refused a write"
        used = int(admin.info("memory")["used_memory"])
        admin.config_set("maxmemory", used - MARGIN_BYTES)
        report("redis_full_after_filler_keys", {"keys": written, "bytes": written * len(FILL_VALUE),
                                                 "maxmemory": used - MARGIN_BYTES})
        yield
    finally:
        filler = list(admin.scan_iter(match=FILL_PREFIX + "*", count=1000))
        if filler:
            admin.unlink(*filler)  # refused by no full Redis: it frees memory
        for name, value in saved.items():
            admin.config_set(name, value)


def outbox_of(verification_id: str) -> str:
    """The outbox stream of a version-3 verification's jobs: its bucket's (the id names it)."""
    return storage.v3_outbox_stream(storage.bucket_of(storage.dest_key_of_id(verification_id)))


def contract_state(stack: FaultStack, admin: redis.Redis) -> dict[str, object]:
    """Every contract key's value (streams: their length and last entry, since a consumer's
    reads change its group's state but add nothing)."""
    values = {key.decode(): value for key, value in
              keyspace(stack.redis_url, match="vfy*").items()}  # vfy: and vfy3: (both versions)
    streams = {key: (admin.xlen(key), admin.xinfo_stream(key)["last-generated-id"])
               for key in values if admin.type(key) == "stream"}
    return {**values, **streams}


@pytest.mark.timeout(150)
def test_full_redis_answers_503_reads_still_answer_and_recovery_needs_no_restart(
        stack: FaultStack, http: httpx.Client, report: ReportFn) -> None:
    urls = {name: stack.url(name) for name in ("monolith", "send", "verify", "gateway")}
    inbox = stack.url("devinbox")
    known = {}  # verification id -> (to, code), one made by each side
    for side in ("monolith", "send"):
        to = new_phone()
        vid = created_id(send(http, urls[side], to))
        known[vid] = (to, wait_code(http, inbox, to))
    admin = stack.redis()
    deadline = time.monotonic() + 10
    while stack.outbox_length(admin) and time.monotonic() < deadline:
        time.sleep(0.05)  # every job settled: the dispatcher is idle when Redis fills up
    watched = [name for name in stack.processes if name != "redis"]
    pids_before = pids_of(stack, watched)
    found = Findings()

    # A send whose delivery job waits in the outbox while the dispatcher is stopped: it is
    # delivered and settled while Redis is full.
    queued_to = new_phone()
    stack.processes["dispatcher"].signal(signal.SIGSTOP)
    try:
        queued = created_id(send(http, urls["gateway"], queued_to))
        with redis_filled(admin, report):
            full_at = time.monotonic()
            stack.processes["dispatcher"].signal(signal.SIGCONT)
            before = contract_state(stack, admin)
            answers = refused_and_read(http, urls, known)
            wait_code(http, inbox, queued_to)
            settled = wait_until(lambda: stack.outbox_length(admin) == 0, 10)
            after = contract_state(stack, admin)
            queued_stream = outbox_of(queued)
            del after[queued_stream], before[queued_stream]  # the settled job left it
            health = {name: http.get(url + "/readyz").status_code for name, url in urls.items()
                      if name != "gateway"}
    finally:
        stack.processes["dispatcher"].signal(signal.SIGCONT)
    freed = time.monotonic()

    writes = [(name, r) for name, r in answers if name.split(" ")[1] in ("send", "check")]
    reads = [(name, r) for name, r in answers if name.split(" ")[1] == "read"]
    report("answers_while_full", summarize(answers))
    bad = [f"{name}: {problem_violation(503, r.headers, r.json()) or 'not 503'}{describe(r)}"
           for name, r in writes
           if r.status_code != 503 or problem_violation(503, r.headers, r.json())
           or r.json().get("code") != "service_unavailable"]
    found.expect(not bad, f"{len(bad)} of {len(writes)} writes while full were not a 503 "
                 "service_unavailable problem with Retry-After", bad)
    found.expect({name.split(" ")[0] for name, _ in writes} == {
        "monolith", "send", "verify", "gateway/monolith", "gateway/services"},
        "a target got no writes while full")
    unread = [f"{name}{describe(r)}" for name, r in reads
              if r.status_code != 200 or r.json()["status"] != "pending"]
    found.expect(not unread, "reads while full did not answer 200 pending", unread)
    found.expect(set(health.values()) == {200}, f"/readyz while full: {health}")
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    found.expect(not changed, "refused writes left something behind", changed)
    found.expect(settled, "the job delivered while Redis was full was not settled")
    report("seconds_full", round(freed - full_at, 2))

    # Memory freed: every target sends again, within the bound, with the same processes.
    recovered = {}
    for name in ("monolith", "send", "gateway"):
        started = time.monotonic()
        while True:
            response = send(http, urls[name], new_phone())
            if response.status_code == 201 or time.monotonic() - started > RECOVERY_BOUND_S + 3:
                break
            time.sleep(0.05)
        recovered[name] = (response.status_code, round(time.monotonic() - freed, 3))
    report("first_201_after_memory_freed", recovered)
    found.expect(all(status == 201 and seconds <= RECOVERY_BOUND_S
                     for status, seconds in recovered.values()),
                 f"sends not answered 201 within {RECOVERY_BOUND_S} s of memory freed: {recovered}")
    checks = {}
    for (vid, (_to, code)), checker in zip(known.items(), ("verify", "monolith"), strict=True):
        response = http.post(urls[checker] + CHECK_PATH, json={"verification_id": vid,
                                                               "code": code})
        checks[checker] = (response.status_code, response.json().get("status"),
                           response.json().get("check_attempts"))
    report("right_codes_after_memory_freed", checks)
    found.expect(checks == {"verify": (200, "approved", 1), "monolith": (200, "approved", 1)},
                 f"right codes after memory was freed: {checks} (want approved at attempt 1)")
    to = new_phone()
    created_id(send(http, urls["gateway"], to))
    wait_code(http, inbox, to)
    time.sleep(0.5)  # a second delivery of the job settled while full would show by now
    found.expect(len(messages(http, inbox, queued_to)) == 1,
                 f"the job delivered while full reached {queued_to} "
                 f"{len(messages(http, inbox, queued_to))} times")
    found.expect(pids_of(stack, watched) == pids_before, "a process restarted")
    warned = {name: full_warnings(stack, name) for name in ("monolith", "send", "verify")}
    report("out_of_memory_warnings_logged", warned)
    found.expect(all(warned.values()), f"a side logged no out-of-memory warning: {warned}")
    admin.close()
    found.assert_none()


def refused_and_read(http: httpx.Client, urls: dict[str, str],
                     known: dict[str, tuple[str, str]]) -> list[tuple[str, httpx.Response]]:
    """(target op, answer) of sends, checks with the right and a wrong code, and reads."""
    targets = [("monolith", urls["monolith"], urls["monolith"], {}),
               ("send", urls["send"], urls["verify"], {}),
               ("verify", urls["send"], urls["verify"], {}),
               *((f"gateway/{side}", urls["gateway"], urls["gateway"], pin)
                 for side, pin in PINS.items())]
    answers = []
    for _ in range(ROUNDS):
        for name, sender, checker, pin in targets:
            for vid, (to, code) in known.items():
                wrong = "".join(str((int(digit) + 1) % 10) for digit in code)
                if name != "verify":
                    answers.append((f"{name} send", http.post(
                        sender + SEND_PATH, json={"to": new_phone(), "channel": "sms"},
                        headers=pin)))
                    answers.append((f"{name} read", http.get(f"{sender}{SEND_PATH}/{vid}",
                                                             headers=pin)))
                if name != "send":
                    for body in ({"verification_id": vid, "code": wrong}, {"to": to, "code": code}):
                        answers.append((f"{name} check", http.post(checker + CHECK_PATH,
                                                                   json=body, headers=pin)))
        time.sleep(0.3)
    return answers


def summarize(answers: list[tuple[str, httpx.Response]]) -> dict[str, dict[int, int]]:
    counts: dict[str, dict[int, int]] = {}
    for name, response in answers:
        per = counts.setdefault(name, {})
        per[response.status_code] = per.get(response.status_code, 0) + 1
    return counts


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def full_warnings(stack: FaultStack, name: str) -> int:
    """The component's WARNING lines about Redis being out of memory."""
    lines = stack.log_path(name).read_text(errors="replace").splitlines()
    return sum('"WARNING"' in line and "out of memory" in line for line in lines)
