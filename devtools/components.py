"""The system's processes, declared once: `./dev run`, `./dev test` and tests all start these.

One place for the ports (run: fixed, well-known; tests: free ones), the shared environment and the
short-settings profile the tests use.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devtools import redis_server

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_PEPPER = "dev-pepper-not-a-secret"  # APP_ENV=development only; production refuses to start
# Short policy for tests: expiry and resend become testable in seconds. Others stay default.
TEST_PROFILE: Mapping[str, str] = {
    "VERIFY_CODE_TTL_SECONDS": "8",
    "VERIFY_RESEND_COOLDOWN_SECONDS": "1",
    "ROUTING_HEALTH_INTERVAL_S": "1",  # the gateway sees its targets healthy within seconds
}


# gunicorn 27 listens on a control socket at one fixed path per user (~/.gunicorn/gunicorn.ctl):
# two stacks (or a stack and a test's gunicorn) would share it, so each monolith goes without.
GUNICORN_EXTRA_ARGS = "--no-control-socket"


@dataclass(frozen=True)
class Ports:
    inbox_http: int
    inbox_smtp: int
    monolith: int
    send: int
    verify: int
    gateway: int
    redis: int  # used only when the stack starts its own Redis


RUN_PORTS = Ports(inbox_http=8025, inbox_smtp=1025, monolith=8001, send=8002, verify=8003,
                  gateway=8080, redis=6380)


def free_ports() -> Ports:
    return Ports(*(redis_server.free_port() for _ in range(7)))


@dataclass(frozen=True)
class Component:
    """One process: how to start it, where it listens, and when it counts as ready.

    `ready` is an http:// URL that must answer 200, a redis:// URL that must answer PING, or None
    for workers without a port (ready once they have stayed up for a moment).
    """

    name: str
    argv: tuple[str, ...]
    port: int | None = None
    ready: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    phase: int = 1  # phase 0 starts (and must be ready) before phase 1, then phase 2

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port and self.name != "redis" else None


def gateway_available(root: Path = REPO_ROOT) -> bool:
    return (root / "routing" / "gateway" / "__main__.py").exists()


def shared_env(ports: Ports, redis_url: str, profile: Mapping[str, str] = {}) -> dict[str, str]:
    return {
        "APP_ENV": "development",
        "REDIS_URL": redis_url,
        "CODE_PEPPER": DEV_PEPPER,
        "TRUSTED_PROXIES": "127.0.0.1/32,::1/128",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(ports.inbox_smtp),
        "DEVINBOX_URL": f"http://127.0.0.1:{ports.inbox_http}",
        "SMS_BACKEND": "devinbox",
        "PYTHONUNBUFFERED": "1",
        **profile,
    }


def components(
    ports: Ports,
    *,
    external_redis: str | None,
    workers: int | None = None,
    gateway: bool | None = None,
    profile: Mapping[str, str] = {},
) -> list[Component]:
    """Every component, in start order. `external_redis` (a URL) replaces the embedded server."""
    python = sys.executable
    bin_dir = Path(python).parent
    redis_url = external_redis or f"redis://127.0.0.1:{ports.redis}/0"
    env = shared_env(ports, redis_url, profile)
    workers = workers or os.cpu_count() or 1
    found: list[Component] = []
    if not external_redis:
        argv = redis_server.server_argv(ports.redis, tempfile.gettempdir())
        found.append(Component("redis", tuple(argv), ports.redis, redis_url, phase=0))
    found += [
        Component("devinbox", (python, "-m", "devinbox", "--host", "127.0.0.1",
                               "--http-port", str(ports.inbox_http),
                               "--smtp-port", str(ports.inbox_smtp)),
                  ports.inbox_http, f"http://127.0.0.1:{ports.inbox_http}/healthz", env, phase=0),
        Component("monolith", (str(bin_dir / "gunicorn"), "--config",
                               "python:monolith.gunicorn_conf", "--bind",
                               f"127.0.0.1:{ports.monolith}", "--workers", str(workers),
                               "monolith:create_app()"),
                  ports.monolith, f"http://127.0.0.1:{ports.monolith}/readyz",
                  {**env, "GUNICORN_CMD_ARGS": GUNICORN_EXTRA_ARGS}),
        Component("monolith-events", (python, "-m", "monolith.events"), env=env),
        Component("dispatcher", (python, "-m", "services.dispatcher"), env=env),
        uvicorn_component("send", "services.send.app:create_app", ports.send, env),
        uvicorn_component("verify", "services.verify.app:create_app", ports.verify, env),
    ]
    if gateway is None:
        gateway = gateway_available()
    if gateway:
        gateway_env = {
            **env,
            "ROUTING_TARGET_MONOLITH_URL": f"http://127.0.0.1:{ports.monolith}",
            "ROUTING_TARGET_SEND_URL": f"http://127.0.0.1:{ports.send}",
            "ROUTING_TARGET_VERIFY_URL": f"http://127.0.0.1:{ports.verify}",
        }
        found.append(Component(
            "gateway", (python, "-m", "routing.gateway", "--table", "routing/routes.toml",
                        "--host", "127.0.0.1", "--port", str(ports.gateway)),
            ports.gateway, f"http://127.0.0.1:{ports.gateway}/readyz", gateway_env, phase=2))
    return found


def uvicorn_component(name: str, factory: str, port: int, env: Mapping[str, str]) -> Component:
    # --no-proxy-headers: uvicorn would otherwise replace a loopback peer with the client's own
    # X-Forwarded-For before the app sees it; whom to believe is TRUSTED_PROXIES' decision.
    # --no-access-log: as the monolith's gunicorn (access log off); requests are counted in
    # /metrics, and the ALB keeps access logs in production.
    argv = (sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
            "--port", str(port), "--no-proxy-headers", "--no-access-log")
    return Component(name, argv, port, f"http://127.0.0.1:{port}/readyz", env)
