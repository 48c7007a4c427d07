"""The system's processes, declared once: one process per container, no cluster inside one.

Everything that starts, packages or deploys a process reads this list: `./dev run` and the
contract stage of `./dev test` (devtools/components.py places the processes on loopback ports),
the bench, the fault suite and test fixtures, the compose file (`python -m infra compose`), the
Dockerfile's targets (checked against this list by tests/unit/infra/test_docker.py), the ECS task
definitions (infra/services.py) and deploy.sh (`python -m infra components --images`).

A command is a template: `{python}`, `{host}`, `{port}`, `{workers}` and the component's own
placeholders (`{smtp_port}`, `{table}`, `{data_dir}`, `{redis_server}`) are filled in where it runs
(see `argv`): in a container `python`, 0.0.0.0, the declared port, one worker and the component's
`in_image` values (where its image keeps the route table, the Redis binary).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

HEALTH_CHECK_PATH = "/readyz"


class Where(Enum):
    """Where a process runs: on a developer's machine only, in an image, or as an ECS service."""

    LOCAL = "local"  # ./dev run and tests only (embedded Redis; ElastiCache in AWS)
    # built as an image (./dev run --containers, compose), not deployed to AWS: the dev inbox, and
    # the gateway standing in for the ALB
    IMAGE = "image"
    ECS = "ecs"  # an image and an ECS service behind (or beside) the ALB


@dataclass(frozen=True)
class Component:
    name: str
    title: str  # CloudFormation logical-id prefix
    command: tuple[str, ...]  # a template: see the module docstring
    port: int | None = None  # its HTTP (or Redis) port; None: a worker that serves nothing
    extra_ports: Mapping[str, int] = field(default_factory=dict)  # e.g. the dev inbox's SMTP
    # How to know it is up: an HTTP path that must answer 200, "ping" (Redis PING) on its port,
    # or None for a worker (up once it has stayed running; in a container: it reaches Redis).
    readiness: str | None = HEALTH_CHECK_PATH
    phase: int = 1  # phase 0 is up before phase 1 starts, phase 1 before phase 2
    where: Where = Where.ECS
    delivers_messages: bool = False  # SMS through SNS (only it may sns:Publish), email by SMTP
    desired_count: int = 2  # ECS tasks by default (the stack's <Title>DesiredCount parameter)
    cpu: int = 256
    memory: int = 512
    # The component's own placeholders as its image has them (paths inside the container).
    in_image: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_web(self) -> bool:
        return self.port is not None and self.readiness != "ping"

    def argv(self, *, python: str = "python", host: str = "0.0.0.0", port: int | None = None,
             workers: int = 1, fill: Mapping[str, str | int] | None = None) -> tuple[str, ...]:
        """The command with its placeholders filled in (container values by default); `fill`
        gives the component's own placeholders and overrides its extra ports."""
        values: dict[str, str | int] = {"python": python, "host": host,
                                        "port": port or self.port or 0, "workers": workers,
                                        **self.extra_ports, **self.in_image, **(fill or {})}
        return tuple(part.format(**values) for part in self.command)


def _uvicorn(app: str) -> tuple[str, ...]:
    # --no-proxy-headers: the app decides whom to believe (TRUSTED_PROXIES), not uvicorn.
    # --no-access-log: the ALB keeps access logs; the app counts requests in /metrics.
    return ("{python}", "-m", "uvicorn", "--factory", app, "--host", "{host}", "--port",
            "{port}", "--no-proxy-headers", "--no-access-log")


ALL_COMPONENTS: tuple[Component, ...] = (
    Component(
        name="redis", title="Redis", where=Where.LOCAL, phase=0, port=6380, readiness="ping",
        # Nothing saved: an embedded server for local runs and tests (ElastiCache in AWS). No
        # protected mode: in a container it binds 0.0.0.0, on a network of the run's own.
        command=("{redis_server}", "--bind", "{host}", "--port", "{port}", "--save", "",
                 "--appendonly", "no", "--dir", "{data_dir}", "--loglevel", "warning",
                 "--protected-mode", "no"),
        # Its image is made from the base with Debian's redis-server (devtools/images.py).
        in_image={"redis_server": "/usr/bin/redis-server", "data_dir": "/var/lib/redis"},
    ),
    Component(
        name="devinbox", title="Devinbox", where=Where.IMAGE, phase=0, port=8025,
        extra_ports={"smtp_port": 1025}, readiness="/healthz",
        command=("{python}", "-m", "devinbox", "--host", "{host}", "--http-port", "{port}",
                 "--smtp-port", "{smtp_port}"),
    ),
    Component(
        name="monolith", title="Monolith", port=8001,
        # One worker per container: ECS scales containers, gunicorn does not cluster inside one.
        # Its threads (gthread, MONOLITH_THREADS: monolith/gunicorn_conf.py) serve slow clients.
        command=("{python}", "-m", "gunicorn", "--config", "python:monolith.gunicorn_conf",
                 "--bind", "{host}:{port}", "--workers", "{workers}", "monolith:create_app()"),
    ),
    # One consumer each is enough; more share the stream through their consumer groups.
    Component(name="events", title="Events", command=("{python}", "-m", "monolith.events"),
              readiness=None, desired_count=1),
    Component(name="dispatcher", title="Dispatcher", readiness=None, delivers_messages=True,
              desired_count=1, command=("{python}", "-m", "services.dispatcher")),
    Component(name="send", title="Send", port=8002,
              command=_uvicorn("services.send.app:create_app")),
    Component(name="verify", title="Verify", port=8003,
              command=_uvicorn("services.verify.app:create_app")),
    Component(
        name="gateway", title="Gateway", where=Where.IMAGE, phase=2, port=8080,
        command=("{python}", "-m", "routing.gateway", "--table", "{table}", "--host", "{host}",
                 "--port", "{port}"),
        in_image={"table": "/app/routing/routes.toml"},
    ),
)

# What runs in AWS, one ECS service each; the web ones are the ALB's target groups.
COMPONENTS: tuple[Component, ...] = tuple(c for c in ALL_COMPONENTS if c.where is Where.ECS)
WEB_COMPONENTS: tuple[Component, ...] = tuple(c for c in COMPONENTS if c.is_web)
IMAGE_COMPONENTS: tuple[Component, ...] = tuple(
    c for c in ALL_COMPONENTS if c.where in (Where.IMAGE, Where.ECS))


IMAGE_PREFIX = "strangler-kit"  # images built here: strangler-kit/<component>:<git SHA>


def local_image(name: str, tag: str = "latest") -> str:
    """The local name of a component's image (./dev images builds them, compose runs them)."""
    return f"{IMAGE_PREFIX}/{name}:{tag}"


def by_name(name: str) -> Component:
    for component in ALL_COMPONENTS:
        if component.name == name:
            return component
    raise KeyError(f"no component named {name!r}; known: {[c.name for c in ALL_COMPONENTS]}")


def development_environment(*, redis_url: str, inbox_host: str, inbox_http_port: int,
                            inbox_smtp_port: int) -> dict[str, str]:
    """What every process gets outside AWS (./dev run, tests, compose): development mode, the
    dev inbox as SMTP relay and SMS sink. The development pepper is the services' own default."""
    return {
        "APP_ENV": "development",
        "REDIS_URL": redis_url,
        "SMTP_HOST": inbox_host,
        "SMTP_PORT": str(inbox_smtp_port),
        "DEVINBOX_URL": f"http://{inbox_host}:{inbox_http_port}",
        "SMS_BACKEND": "devinbox",
        "PYTHONUNBUFFERED": "1",
    }
