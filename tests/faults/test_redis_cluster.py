"""The services on a Redis Cluster (REDIS_CLUSTER=1, docs/storage-contract.md "Cluster mode")
while the cluster changes under load: (a) a primary is SIGKILLed and its replica takes over,
(b) a slot moves to another primary (MOVED, ASK, TRYAGAIN while it is half moved).

Both ask what a user would see: only 201/200, the contract's 4xx, or 503 with Retry-After
(never a 500, never a hang); no verification lost (every id created before or during the fault
reads back afterwards); every code sent checks (approved, exactly once: a second right check of
an approved verification is refused); and the stack recovers by itself (no process restarted).

The stack: send, verify, the dispatcher and the dev inbox (the services side), on a local cluster
of 3 primaries with a replica each and a 1 s node timeout (devtools/redis_cluster.py), which the
module starts and stops. These need the services' version-3 scripts (cluster-safe keys): on a
checkout without them every send is refused by the cluster (keys in several slots) and they fail.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from devtools import keys
from devtools.components import LIVE_TABLE, components, free_ports
from devtools.redis_cluster import (
    ClusterNode,
    LocalCluster,
    MigrationStep,
    local_cluster,
    slot_of,
)
from tests.faults.api import (
    API_KEY,
    CHECK_PATH,
    SEND_PATH,
    Findings,
    ReportFn,
    as_client,
    created_id,
    new_client_ip,
    new_phone,
    problem_violation,
    send,
    wait_code,
)
from tests.faults.load import Call, Outcome, Probe, run_load, summary
from tests.faults.stack_control import FAULT_PROFILE, FaultStack, pids_of

SERVICES = ("devinbox", "dispatcher", "send", "verify")
BUCKETS = 64  # docs/storage-contract.md "Destination key, bucket, id"
PRE_CREATED = 12  # verifications whose codes are learned before the fault, checked during it
RECOVERY_BOUND_S = 10.0  # from the fault's end until sends and checks answer normally again
# What the contract allows under a cluster fault besides a normal answer (docs/api.md "Errors").
ALLOWED_ERRORS = frozenset({503})


def bucket_of(verification_id: str) -> int:
    """The id's bucket: `VE` + dest_key (16 hex) + rand; the first two hex of dest_key, mod 64."""
    return int(verification_id[2:4], 16) % BUCKETS


def with_replica(cluster: LocalCluster) -> list[ClusterNode]:
    """The primaries a live replica can take over from (an earlier test may have used one)."""
    found = [p for p in cluster.primaries if any(r.alive for r in cluster.replicas_of(p))]
    assert found, "no primary of the cluster has a live replica left"
    return found


def bucket_slot(bucket: int) -> int:
    return slot_of(f"{{b{bucket}}}")


@dataclass
class Known:
    """Verifications the test created, with their codes once learned."""

    codes: dict[str, str] = field(default_factory=dict)  # id -> code
    destinations: dict[str, str] = field(default_factory=dict)  # id -> to
    approved: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster(primaries=3, replicas=1, node_timeout_ms=1000) as running:
        yield running


@pytest.fixture(scope="module")
def cluster_stack(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[FaultStack]:
    workdir = tmp_path_factory.mktemp("cluster-faults")
    table = workdir / "routes.toml"
    shutil.copyfile(LIVE_TABLE, table)
    keyring_file = workdir / "keyring.json"
    keys.write_keyring(keyring_file, keys.Keyring((keys.entry_for(API_KEY, "faults"),)))
    # REDIS_URL names one primary: each cluster client learns the other nodes from it.
    parts = components(free_ports(), external_redis=cluster.url, keyring_file=keyring_file,
                       workers=2, gateway=False, table=table,
                       profile={**FAULT_PROFILE, "REDIS_CLUSTER": "1"})
    services = [p for p in parts if p.name in SERVICES]
    print(f"\n[faults] starting the services on a cluster ({', '.join(cluster.urls)}); logs in "
          f"{workdir / 'logs'}", flush=True)
    stack = FaultStack(services, table, workdir)
    with stack:
        yield stack


@pytest.fixture
def services(cluster_stack: FaultStack, http: httpx.Client) -> FaultStack:
    http.delete(cluster_stack.url("devinbox") + "/messages").raise_for_status()
    return cluster_stack


def pre_create(http: httpx.Client, stack: FaultStack, count: int) -> Known:
    known = Known()
    for _ in range(count):
        to = new_phone()
        known.destinations[created_id(send(http, stack.url("send"), to))] = to
    inbox = stack.url("devinbox")
    known.codes = {vid: wait_code(http, inbox, to) for vid, to in known.destinations.items()}
    return known


def traffic(stack: FaultStack, known: Known) -> list[Probe]:
    """Sends of fresh destinations, checks of the learned codes (each once), reads of them."""
    send_url, verify_url = stack.url("send"), stack.url("verify")
    unchecked = list(known.codes)
    ids = list(known.codes)
    turn = iter(range(1_000_000))

    def sending() -> Call:
        return Call("POST", send_url + SEND_PATH, {"to": new_phone(), "channel": "sms"},
                    as_client(new_client_ip()))

    def checking() -> Call:
        with known.lock:
            vid = unchecked.pop(0) if unchecked else ids[next(turn) % len(ids)]
        return Call("POST", verify_url + CHECK_PATH, {"verification_id": vid,
                                                      "code": known.codes[vid]})

    def reading() -> Call:
        return Call("GET", f"{send_url}{SEND_PATH}/{ids[next(turn) % len(ids)]}")

    # A second right check of an approved verification is a 404 (no longer pending).
    return [Probe("send", "send", sending, frozenset({201}), 0.05),
            Probe("send", "send2", sending, frozenset({201}), 0.05),
            Probe("verify", "check", checking, frozenset({200, 404}), 0.1),
            Probe("send", "read", reading, frozenset({200}), 0.05)]


def judge(findings: Findings, outcomes: list[Outcome]) -> None:
    """Only normal answers or a documented 503 with Retry-After: no 500, no hang, no reset."""
    unanswered = [o.describe() for o in outcomes if o.status is None]
    findings.expect(not unanswered, f"{len(unanswered)} request(s) got no HTTP answer",
                    unanswered)
    wrong = [o.describe() for o in outcomes if o.status is not None and not o.normal
             and (o.status not in ALLOWED_ERRORS
                  or problem_violation(o.status, o.headers, o.body) is not None)]
    findings.expect(not wrong, f"{len(wrong)} answer(s) neither normal nor a documented 503 "
                    "with Retry-After", wrong)


def created_during(outcomes: list[Outcome], known: Known) -> None:
    for outcome in outcomes:
        if outcome.op.startswith("send") and outcome.status == 201:
            body = outcome.body
            assert isinstance(body, dict)
            known.destinations[str(body["id"])] = str(outcome.call.json["to"])


def approvals_from(outcomes: list[Outcome], known: Known) -> list[str]:
    """The ids approved during the load; the ids approved twice (a broken exactly-once)."""
    twice = []
    for outcome in outcomes:
        if outcome.op == "check" and outcome.status == 200 and isinstance(outcome.body, dict):
            if outcome.body.get("status") != "approved":
                continue
            vid = str(outcome.call.json["verification_id"])
            if vid in known.approved:
                twice.append(outcome.describe())
            known.approved.add(vid)
    return twice


def recovered_within(http: httpx.Client, stack: FaultStack, seconds: float) -> float | None:
    """Seconds until a fresh send answers 201 again (None: not within `seconds`)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        response = send(http, stack.url("send"), new_phone())
        if response.status_code == 201:
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def after_the_fault(findings: Findings, http: httpx.Client, stack: FaultStack,
                    known: Known) -> None:
    """No verification lost: every id reads back; every code sent checks: each pre-created one
    not approved during the load is approved now, and one created during it gets its code."""
    send_url, verify_url = stack.url("send"), stack.url("verify")
    lost = []
    for vid in known.destinations:
        response = http.get(f"{send_url}{SEND_PATH}/{vid}")
        if response.status_code != 200:
            lost.append(f"{vid}: {response.status_code} {response.text[:200]}")
    findings.expect(not lost, f"{len(lost)} of {len(known.destinations)} verification(s) do "
                    "not read back after the fault", lost)
    unchecked = []
    for vid, code in known.codes.items():
        status = http.get(f"{send_url}{SEND_PATH}/{vid}").json().get("status")
        if vid in known.approved:
            if status != "approved":
                unchecked.append(f"{vid}: approved during the load, now {status}")
            continue
        # A check answered 503 may have run (its reply lost): approved then, or approvable now.
        if status != "approved":
            response = http.post(verify_url + CHECK_PATH,
                                 json={"verification_id": vid, "code": code})
            if response.status_code != 200 or response.json().get("status") != "approved":
                unchecked.append(f"{vid}: {response.status_code} {response.text[:200]}")
    findings.expect(not unchecked, f"{len(unchecked)} right code(s) did not approve", unchecked)
    during = [vid for vid in known.destinations if vid not in known.codes]
    if during:  # the newest created during the fault: its job delivered, its code approves
        vid = during[-1]
        code = wait_code(http, stack.url("devinbox"), known.destinations[vid], timeout=20.0)
        response = http.post(verify_url + CHECK_PATH, json={"verification_id": vid, "code": code})
        findings.expect(response.status_code == 200
                        and response.json().get("status") == "approved",
                        f"a code sent during the fault did not approve: {response.status_code} "
                        f"{response.text[:200]}")


@pytest.mark.timeout(240)
async def test_a_primary_killed_under_load_fails_over_without_a_500_or_a_lost_verification(
        services: FaultStack, cluster: LocalCluster, http: httpx.Client,
        report: ReportFn) -> None:
    known = pre_create(http, services, PRE_CREATED)
    pids_before = pids_of(services, list(SERVICES))
    # The primary holding the most of the known verifications' buckets: the fault meets them.
    owners = Counter(cluster.owner(bucket_slot(bucket_of(vid))).port for vid in known.codes)
    victim = max(with_replica(cluster), key=lambda node: owners[node.port])
    stop = asyncio.Event()
    load = asyncio.create_task(run_load(traffic(services, known), stop, max_seconds=60))
    await asyncio.sleep(1.0)
    failover = await asyncio.to_thread(cluster.kill_primary, victim)
    await asyncio.sleep(3.0)  # traffic on the promoted replica
    stop.set()
    outcomes = await load
    report("cluster_failover_seconds", round(failover.seconds, 2))
    report("cluster_failover_answers", summary(outcomes))

    findings = Findings()
    recovery = await judge_the_fault(findings, outcomes, http, services, known, pids_before,
                                     "the failover")
    report("cluster_failover_recovery_seconds", recovery)
    findings.assert_none()


async def judge_the_fault(findings: Findings, outcomes: list[Outcome], http: httpx.Client,
                          services: FaultStack, known: Known,
                          pids_before: dict[str, set[int]], fault: str) -> float | None:
    """What both faults must leave: only documented answers, no code approved twice, every
    verification made during it real, sends answering 201 again within the bound, everything
    known still there, and no process restarted. Returns the seconds sends took to recover."""
    judge(findings, outcomes)
    findings.expect(not approvals_from(outcomes, known), "a code approved twice")
    created_during(outcomes, known)
    recovery = await asyncio.to_thread(recovered_within, http, services, RECOVERY_BOUND_S)
    findings.expect(recovery is not None,
                    f"sends did not answer 201 within {RECOVERY_BOUND_S:.0f}s of {fault}")
    await asyncio.to_thread(after_the_fault, findings, http, services, known)
    findings.expect(pids_of(services, list(SERVICES)) == pids_before,
                    "a process was restarted (the stack must recover by itself)")
    return recovery


@pytest.mark.timeout(240)
async def test_a_slot_moved_under_load_is_followed_without_a_500_or_a_lost_verification(
        services: FaultStack, cluster: LocalCluster, http: httpx.Client,
        report: ReportFn) -> None:
    known = pre_create(http, services, PRE_CREATED)
    pids_before = pids_of(services, list(SERVICES))
    # The bucket of most known verifications (its records, failed-checks keys and both streams
    # share the slot), moved to another primary in batches of one key: a long ASK window.
    buckets = [bucket_of(vid) for vid in known.codes]
    slot = bucket_slot(max(set(buckets), key=buckets.count))
    source = cluster.owner(slot)
    target = next(node for node in cluster.primaries if node is not source)
    steps: list[str] = []

    def on_step(step: MigrationStep) -> None:
        steps.append(step.name)
        time.sleep(0.4)  # traffic meets the half-moved slot (ASK for moved keys, TRYAGAIN)

    stop = asyncio.Event()
    load = asyncio.create_task(run_load(traffic(services, known), stop, max_seconds=60))
    await asyncio.sleep(1.0)
    migration = await asyncio.to_thread(cluster.migrate_slot, slot, target, batch_size=1,
                                        on_step=on_step)
    await asyncio.sleep(2.0)  # traffic on the slot's new owner (MOVED for stale maps)
    stop.set()
    outcomes = await load
    report("cluster_migration_keys_moved", migration.keys_moved)
    report("cluster_migration_seconds", round(migration.seconds, 2))
    report("cluster_migration_answers", summary(outcomes))

    findings = Findings()
    findings.expect(migration.keys_moved > 0 and "batch" in steps,
                    f"the slot held no key to move ({steps}): the test proved nothing")
    findings.expect(cluster.owner(slot) is target, "the slot did not end on its new owner")
    await judge_the_fault(findings, outcomes, http, services, known, pids_before, "the migration")
    findings.assert_none()




@pytest.mark.timeout(120)
async def test_readiness_rides_a_failover_and_the_services_recover_by_themselves(
        services: FaultStack, cluster: LocalCluster, report: ReportFn) -> None:
    # What needs no script (so it runs on any version of them; the two above need version 3's):
    # each service's cluster client, the 503 mapping of its errors, its own recovery.
    plan = [Probe(name, "ready", functools.partial(Call, "GET", services.url(name) + "/readyz"),
                  frozenset({200}), 0.02) for name in ("send", "verify")]
    pids_before = pids_of(services, list(SERVICES))
    stop = asyncio.Event()
    load = asyncio.create_task(run_load(plan, stop, max_seconds=60))
    await asyncio.sleep(1.0)
    failover = await asyncio.to_thread(cluster.kill_primary, with_replica(cluster)[-1])
    settled_at = time.monotonic()
    await asyncio.sleep(4.0)
    stop.set()
    outcomes = await load
    report("cluster_failover_seconds", round(failover.seconds, 2))
    report("cluster_failover_ready_answers", summary(outcomes))
    findings = Findings()
    judge(findings, outcomes)
    late = [o.describe() for o in outcomes if o.started > settled_at + 2.0 and not o.normal]
    findings.expect(not late, f"{len(late)} abnormal answer(s) more than 2 s after the failover "
                    "settled: no recovery by itself", late)
    findings.expect(sum(o.normal for o in outcomes if o.started > settled_at) > 10,
                    "too few normal answers after the failover to judge")
    findings.expect(pids_of(services, list(SERVICES)) == pids_before, "a process was restarted")
    findings.assert_none()
