"""The processes that run in containers: one process per container, no cluster inside one.

Each component is written here once; templates, Dockerfile targets and deploy.sh follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

HEALTH_CHECK_PATH = "/readyz"


@dataclass(frozen=True)
class Component:
    name: str
    title: str  # CloudFormation logical-id prefix
    command: tuple[str, ...]
    port: int | None = None  # None: a worker that serves no HTTP
    delivers_messages: bool = False  # SMS through SNS (only it may sns:Publish), email by SMTP
    cpu: int = 256
    memory: int = 512

    @property
    def is_web(self) -> bool:
        return self.port is not None


def _uvicorn(app: str, port: int) -> tuple[str, ...]:
    # --no-proxy-headers: the app decides whom to believe (TRUSTED_PROXIES), not uvicorn.
    # --no-access-log: the ALB keeps access logs; the app counts requests in /metrics.
    return ("python", "-m", "uvicorn", "--factory", app, "--host", "0.0.0.0", "--port", str(port),
            "--no-proxy-headers", "--no-access-log")


COMPONENTS: tuple[Component, ...] = (
    Component(
        name="monolith",
        title="Monolith",
        # One worker per container: ECS scales containers, gunicorn does not cluster inside one.
        command=("gunicorn", "--config", "python:monolith.gunicorn_conf", "--bind", "0.0.0.0:8001",
                 "--workers", "1", "monolith:create_app()"),
        port=8001,
    ),
    Component(name="send", title="Send",
              command=_uvicorn("services.send.app:create_app", 8002), port=8002),
    Component(name="verify", title="Verify",
              command=_uvicorn("services.verify.app:create_app", 8003), port=8003),
    Component(name="dispatcher", title="Dispatcher",
              command=("python", "-m", "services.dispatcher"), delivers_messages=True),
    Component(name="events", title="Events", command=("python", "-m", "monolith.events")),
)

WEB_COMPONENTS: tuple[Component, ...] = tuple(c for c in COMPONENTS if c.is_web)


def by_name(name: str) -> Component:
    for component in COMPONENTS:
        if component.name == name:
            return component
    raise KeyError(f"no component named {name!r}; known: {[c.name for c in COMPONENTS]}")
