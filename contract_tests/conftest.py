"""Where the suite points: --base-url for everything, with optional per-role overrides.

`--send-url` serves POST/GET/cancel of verifications, `--check-url` the checks, `--users-url`
the users, `--inbox-url` the dev inbox where codes arrive. Each option also reads an env var
(CONTRACT_BASE_URL, CONTRACT_SEND_URL, CONTRACT_CHECK_URL, CONTRACT_USERS_URL, CONTRACT_INBOX_URL).
`--api-key` (CONTRACT_API_KEY) is sent on every request; the auth tests also use `--api-key-b`,
`--api-key-send-only` and `--api-key-revoked` (contract_tests/options.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import httpx
import pytest

from contract_tests.client import Api, Journal, Urls, http_client
from contract_tests.fresh import fresh_ip
from contract_tests.inbox import Inbox
from contract_tests.options import KEYS, ROLES, api_key, extra_headers, option
from contract_tests.policy import Policy

MEASUREMENTS = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "API contract suite (docs/api.md)")
    for role, env in ROLES.items():
        group.addoption(
            f"--{role}-url" if not role.startswith("diff") else f"--{role}",
            default=None,
            help=f"URL for {role} (env {env})",
        )
    group.addoption(
        "--header", action="append", default=[],
        help="'Name: value' sent with every API request, e.g. 'X-Backend: services' to pin a "
             "gateway route (env CONTRACT_HEADERS, ';'-separated)",
    )
    for name, env in KEYS.items():
        group.addoption(f"--{name}", default=None, help=f"an API key <id>.<secret> (env {env})")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[MEASUREMENTS] = []
    config.addinivalue_line(
        "markers",
        "shared_limits: reaches a limit that every send of a client, or every SMS, counts toward "
        "on the whole deployment; run alone, with that limit low and its window short")


def pytest_sessionstart(session: pytest.Session) -> None:
    # Every API route needs a key: without one every test would fail the same way, so stop now.
    # (--help and --collect-only need none.)
    config = session.config
    if config.option.help or config.option.collectonly or api_key(config, "api-key"):
        return
    raise pytest.UsageError(
        "the contract suite needs an API key: pass --api-key <id>.<secret> (or set "
        "CONTRACT_API_KEY); make one with ./dev keys create contract (the servers read the "
        "keyring from KEYRING_FILE, default .dev/keyring.json)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(MEASUREMENTS, [])
    if lines:
        terminalreporter.section("contract measurements")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def urls(pytestconfig: pytest.Config) -> Urls:
    base = option(pytestconfig, "base")
    roles = {role: option(pytestconfig, role) or base for role in ("send", "check", "users")}
    inbox = option(pytestconfig, "inbox")
    missing = [role for role, url in roles.items() if not url]
    if missing or not inbox:
        pytest.fail(
            "the contract suite needs --base-url (or CONTRACT_BASE_URL, or each of --send-url "
            "--check-url --users-url) and --inbox-url (or CONTRACT_INBOX_URL); missing: "
            + ", ".join([*missing, *([] if inbox else ["inbox"])]),
            pytrace=False,
        )
    return Urls(
        send=str(roles["send"]), check=str(roles["check"]), users=str(roles["users"]),
        inbox=str(inbox),
    )


@pytest.fixture(scope="session")
def policy() -> Policy:
    return Policy.from_env()


@pytest.fixture
def report(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Record a measured number so it shows in the terminal summary (and with -s, at once)."""

    def record(line: str) -> None:
        print(line)
        pytestconfig.stash[MEASUREMENTS].append(line)

    return record


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with http_client() as client:
        yield client


@pytest.fixture
def api(urls: Urls, http: httpx.Client, pytestconfig: pytest.Config) -> Iterator[Api]:
    """The client every test uses: a fresh fake client IP; codes only from the inbox."""
    delivery_timeout = float(os.environ.get("CONTRACT_DELIVERY_TIMEOUT", "10"))
    inbox = Inbox(urls.inbox, http, delivery_timeout)
    client = Api(urls=urls, http=http, inbox=inbox, client_ip=fresh_ip(), journal=Journal(),
                 api_key=api_key(pytestconfig, "api-key"),
                 extra_headers=extra_headers(pytestconfig))
    yield client
    leaks = client.journal.leaks(inbox.codes)
    assert not leaks, "a code appeared in an API response:\n" + "\n".join(leaks)
