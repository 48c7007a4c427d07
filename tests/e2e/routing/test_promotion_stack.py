"""`routing promote` on the real system: Redis, the monolith, the services and the gateway as
processes, the gateway reading a copy of the live table. The new side's errors come from a
test-only target (tests/support/faulty_proxy.py) in front of the real verify service, never
from a mock of the gateway. Traffic is real checks of unknown verifications (404 on both sides:
each one a full Redis round trip, and no limit counts them)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devtools import keys
from devtools.components import TEST_PROFILE, components, free_ports
from devtools.processes import HttpReady, ProcessSpec, Stack
from devtools.redis_server import free_port
from routing.cli.main import main
from routing.promotion import state
from routing.promotion.engine import EXIT_COMPLETED, EXIT_FAILED, EXIT_INCONCLUSIVE
from routing.table.loader import load_table
from routing.table.store import read_audit
from routing.table.weights import weights_of

LIVE_TABLE = Path(__file__).parents[3] / "routing" / "routes.toml"
RULE = "verification-checks"
BEFORE = {"monolith": 100, "verify": 0}

pytestmark = pytest.mark.slow


@dataclass
class System:
    gateway: str
    proxy: str
    table: Path
    api_key: str
    inbox: str

    def set_fault_ratio(self, ratio: float) -> None:
        httpx.post(f"{self.proxy}/__fault/ratio", content=str(ratio), timeout=5) \
            .raise_for_status()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    root = tmp_path_factory.mktemp("promotion")
    table = root / "routes.toml"
    shutil.copy(LIVE_TABLE, table)
    keyring_file = root / "keyring.json"
    key, api_key = keys.new_key("alpha")
    keys.write_keyring(keyring_file, keys.Keyring().with_key(key))
    ports = free_ports()
    specs = components(ports, external_redis=os.environ.get("REDIS_URL") or None,
                       keyring_file=keyring_file, workers=1, profile=TEST_PROFILE, table=table)
    proxy_port = free_port()
    proxy = ProcessSpec("faulty-verify", (sys.executable, "-m", "tests.support.faulty_proxy",
                                          "--upstream", f"http://127.0.0.1:{ports['verify']}",
                                          "--port", str(proxy_port)),
                        ready=HttpReady(f"http://127.0.0.1:{proxy_port}/readyz"),
                        port=proxy_port, phase=2)
    gateway = next(s for s in specs if s.name == "gateway")
    specs = [s for s in specs if s.name != "gateway"] + [proxy, ProcessSpec(
        gateway.name, gateway.argv, {**gateway.env, "ROUTING_TARGET_VERIFY_URL": proxy.url or ""},
        gateway.ready, gateway.port, max(gateway.phase, 3))]
    with Stack(specs, ready_timeout=60, log_dir=root / "logs") as stack:
        yield System(stack.url("gateway"), proxy.url or "", table, api_key,
                     stack.url("devinbox"))


@pytest.fixture
def fresh(system: System) -> Iterator[System]:
    """Each test starts from the table's weights, with no plan state and no fault."""
    system.set_fault_ratio(0.0)
    original = system.table.read_text()
    yield system
    main(["--table", str(system.table), "abort", RULE])  # harmless when nothing runs
    system.table.write_text(original)
    shutil.rmtree(state.state_dir(system.table), ignore_errors=True)
    table = load_table(system.table)
    if weights_of(table, RULE) != BEFORE:
        main(["--table", str(system.table), "shift", RULE, "--to", "verify", "0"])


@contextlib.contextmanager
def traffic(system: System, clients: int = 4) -> Iterator[Counter[tuple[str, int]]]:
    """Checks through the gateway until the block ends; counts (backend, status)."""
    seen: Counter[tuple[str, int]] = Counter()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=system.gateway, timeout=10, headers={
                "Authorization": f"Bearer {system.api_key}"}) as http:
            while not stop.is_set():
                answer = http.post("/api/verification-checks",
                                   json={"verification_id": "VE" + "0" * 32, "code": "123456"})
                seen[(answer.headers.get("X-Served-By", "?"), answer.status_code)] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)


def promote(system: System, *args: str) -> int:
    return main(["--table", str(system.table), "promote", RULE, "--gateway", system.gateway,
                 "--no-hooks", *args])


def test_with_no_traffic_the_plan_holds_at_its_first_step(
        fresh: System, capsys: pytest.CaptureFixture[str]) -> None:
    code = promote(fresh, "--to", "verify", "--steps", "10,50,100", "--pause", "2",
                   "--min-requests", "20")
    out = capsys.readouterr()
    assert code == EXIT_INCONCLUSIVE, out
    assert weights_of(load_table(fresh.table), RULE) == {"monolith": 90, "verify": 10}
    assert "[2/3]" not in out.out
    assert "HOLDING verification-checks at 10%" in out.err
    assert "verify has 0 of the 20 requests needed" in out.out + out.err
    run = state.load(fresh.table, RULE)
    assert run is not None and run.status == "inconclusive" and run.step == 0
    assert [v["outcome"] for v in run.verdicts] == ["inconclusive"]
    # Held, not lost: abort puts the rule back where the plan found it.
    assert main(["--table", str(fresh.table), "abort", RULE]) == 0
    assert weights_of(load_table(fresh.table), RULE) == BEFORE


def test_with_equal_healthy_traffic_the_plan_completes(
        fresh: System, capsys: pytest.CaptureFixture[str]) -> None:
    with traffic(fresh) as seen:
        code = promote(fresh, "--to", "verify", "--steps", "50,100", "--pause", "4",
                       "--min-requests", "30", "--json")
    out = capsys.readouterr()
    events = [json.loads(line) for line in out.out.splitlines()]
    assert code == EXIT_COMPLETED, out
    assert weights_of(load_table(fresh.table), RULE) == {"monolith": 0, "verify": 100}
    [verdict] = [e for e in events if e["event"] == "verdict"]
    assert verdict["outcome"] == "pass" and verdict["weight"] == 50
    assert events[-1] == {**events[-1], "event": "end", "status": "completed", "exit_code": 0}
    assert {status for (_, status) in seen} == {404}  # real answers from both sides, no 5xx
    # Rollback undoes the plan as a whole and says so.
    assert main(["--table", str(fresh.table), "rollback", RULE]) == 0
    assert weights_of(load_table(fresh.table), RULE) == BEFORE
    assert "undid the plan" in capsys.readouterr().out


def test_a_new_side_answering_five_percent_5xx_is_rolled_back_within_one_bake(
        fresh: System, capsys: pytest.CaptureFixture[str]) -> None:
    fresh.set_fault_ratio(0.05)
    bake = 20.0
    with traffic(fresh) as seen:
        code = promote(fresh, "--to", "verify", "--steps", "50,100", "--pause", f"{bake:g}",
                       "--min-requests", "30")
    out = capsys.readouterr()
    assert code == EXIT_FAILED, out
    assert weights_of(load_table(fresh.table), RULE) == BEFORE
    assert "ROLLED BACK" in out.err and "[2/2]" not in out.out
    run = state.load(fresh.table, RULE)
    assert run is not None and run.status == "failed"
    [verdict] = run.verdicts
    assert verdict["outcome"] == "fail" and verdict["baked_s"] < bake
    assert sum(n for (_, status), n in seen.items() if status == 500) > 0
    commands = [e["command"] for e in read_audit(fresh.table.with_name("audit.log"))
                if e["rule"] == RULE]
    assert commands[-4:] == ["plan-start", "plan-step", "plan-verdict", "plan-rollback"]


def with_hook(system: System, run: str) -> None:
    """The table's own plan for the rule, its hook replaced (the shipped one runs the whole
    contract suite, minutes; one test of it proves the path)."""
    text = system.table.read_text()
    assert 'hooks = [{ name = "contract", run = "contract" }]' in text
    system.table.write_text(text.replace('run = "contract" }', f'run = "{run}" }}', 2))


def test_the_contract_hook_proves_the_new_side_through_the_pin_before_each_step(
        fresh: System, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in {**TEST_PROFILE, "CONTRACT_API_KEY": fresh.api_key,
                        "CONTRACT_INBOX_URL": fresh.inbox}.items():
        monkeypatch.setenv(name, value)
    with_hook(fresh, "contract -k test_right_code_by_id_approves_exactly_once")
    with traffic(fresh):
        code = main(["--table", str(fresh.table), "promote", RULE, "--gateway", fresh.gateway,
                     "--to", "verify", "--steps", "50,100", "--pause", "3",
                     "--min-requests", "30"])
    out = capsys.readouterr()
    assert code == EXIT_COMPLETED, out
    run = state.load(fresh.table, RULE)
    assert run is not None
    assert [(h["step"], h["name"], h["exit_code"]) for h in run.hooks] == [
        (1, "contract", 0), (2, "contract", 0)]
    assert "1 passed" in run.hooks[0]["output_tail"]
    # through the gateway, pinned to the new side by the table's own pin rule
    assert f"--base-url {fresh.gateway}" in run.hooks[0]["run"]
    assert "'X-Backend: services'" in run.hooks[0]["run"]


def test_a_failing_hook_rolls_back_before_more_traffic_moves(
        fresh: System, capsys: pytest.CaptureFixture[str]) -> None:
    with_hook(fresh, "echo the new side is broken; exit 3")
    code = main(["--table", str(fresh.table), "promote", RULE, "--gateway", fresh.gateway,
                 "--to", "verify", "--steps", "50,100", "--pause", "3"])
    out = capsys.readouterr()
    assert code == EXIT_FAILED, out
    assert weights_of(load_table(fresh.table), RULE) == BEFORE
    assert "hook contract: FAILED (exit 3)" in out.err
    assert "the new side is broken" in out.err
    audit = [e for e in read_audit(fresh.table.with_name("audit.log")) if e["rule"] == RULE]
    assert [e["command"] for e in audit[-3:]] == ["plan-start", "plan-hook", "plan-rollback"]
    assert audit[-2]["exit_code"] == 3 and audit[-2]["who"]
