"""The declared Redis users (infra/redis_acl.py) against the code: every command a Lua script runs
is granted to the component that runs it, every deployed component has a user, and the access
strings keep to what ElastiCache accepts. (The proof that they suffice is the integration test,
tests/integration/infra/test_redis_acl.py; this only fails fast when a script gains a command.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.components import COMPONENTS
from infra.redis_acl import DEFAULT_ACCESS_STRING, USERS_BY_COMPONENT

ROOT = Path(__file__).resolve().parents[3]
# Which component runs which script (each side's own scripts; see the store modules).
SCRIPT_RUNNERS: dict[str, tuple[str, ...]] = {
    **{f"services/verification/lua/{name}.lua": ("send",) for name in (
        "send", "cancel", "read", "idem_claim", "reserve", "refund", "reserve_tally",
        "refund_tally")},
    "services/verification/lua/check.lua": ("verify",),
    "services/verification/lua/tally_approval.lua": ("verify",),
    # Prepended to send, check and cancel (services/verification/scripts.py): run by both.
    "services/verification/lua/record3.lua": ("send", "verify"),
    "services/verification/lua/tally.lua": ("send",),  # prepended to send and reserve_tally
    **{f"monolith/lua/{name}.lua": ("monolith",) for name in (
        "send", "check", "cancel", "read", "common", "tally", "tally_approval", "reserve",
        "reserve_tally", "refund", "idempotency_claim")},
    "monolith/lua/mark_verified.lua": ("events",),
    "services/dispatcher/lua/settle.lua": ("dispatcher",),
    "services/dispatcher/lua/hold.lua": ("dispatcher",),
}
REDIS_CALL = re.compile(r"redis\.p?call\(\s*'([A-Za-z]+)'")


def test_every_script_is_assigned_to_the_component_that_runs_it() -> None:
    scripts = {str(path.relative_to(ROOT)) for pattern in ("monolith/lua/*.lua",
                                                          "services/**/lua/*.lua")
               for path in ROOT.glob(pattern)}
    assert scripts == set(SCRIPT_RUNNERS)


@pytest.mark.parametrize("script", sorted(SCRIPT_RUNNERS))
def test_every_command_a_script_runs_is_granted_to_its_runner(script: str) -> None:
    used = {name.lower() for name in REDIS_CALL.findall((ROOT / script).read_text("utf-8"))}
    assert used, f"no redis.call found in {script}"
    for runner in SCRIPT_RUNNERS[script]:
        granted = set(USERS_BY_COMPONENT[runner].commands)
        assert used - granted == set(), f"{script} runs commands the {runner} user lacks"
        assert {"evalsha", "script|load"} <= granted


def test_every_deployed_component_has_a_user() -> None:
    assert set(USERS_BY_COMPONENT) == {c.name for c in COMPONENTS}


@pytest.mark.parametrize("component", sorted(USERS_BY_COMPONENT))
def test_access_strings_keep_to_what_elasticache_accepts(component: str) -> None:
    rules = USERS_BY_COMPONENT[component].access_string.split(" ")
    assert rules[0] == "on" and "-@all" in rules
    # No reset, no passwords (>, #, nopass): ElastiCache sets those; no key or command for all.
    assert not {"reset", "nopass", "allkeys", "allcommands", "+@all", "~*"} & set(rules)
    assert not any(rule.startswith((">", "<", "#", "!")) for rule in rules)
    assert all(re.fullmatch(r"on|-@all|\+[a-z]+(\|[a-z]+)?|(%R)?~[a-z0-9:*?{}]*", r) for r in rules)
    assert DEFAULT_ACCESS_STRING.startswith("off ")
