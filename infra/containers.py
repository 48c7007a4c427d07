"""The system as containers on one private network, from the declaration (infra/components.py):
what `./dev run --containers` starts and what the compose file says. Redis and every component
with an image, one process each, reached by component name; only the gateway (the API) and the
dev inbox's page are published, on loopback.
"""

from __future__ import annotations

from infra.components import (
    IMAGE_COMPONENTS,
    WEB_COMPONENTS,
    Component,
    by_name,
    development_environment,
)

KEYRING_DIR = "/run/kit"  # the keyring's directory, mounted read-only (a file within it)
KEYRING_FILE = f"{KEYRING_DIR}/keyring.json"
PUBLISHED = ("gateway", "devinbox")  # the API, and the inbox page a developer reads codes on


def containers() -> tuple[Component, ...]:
    """Redis and every component with an image, in start order (by phase)."""
    return tuple(sorted((by_name("redis"), *IMAGE_COMPONENTS), key=lambda c: c.phase))


def redis_url() -> str:
    redis = by_name("redis")
    return f"redis://{redis.name}:{redis.port}/0"


def environment(component: Component) -> dict[str, str]:
    """A component's environment in a container (Redis needs none): development mode, Redis and
    the dev inbox by name, the keyring at KEYRING_FILE; the gateway's target groups by name."""
    if component.name == "redis":
        return {}
    inbox = by_name("devinbox")
    assert inbox.port is not None
    env = {**development_environment(redis_url=redis_url(), inbox_host=inbox.name,
                                     inbox_http_port=inbox.port,
                                     inbox_smtp_port=inbox.extra_ports["smtp_port"]),
           "KEYRING_FILE": KEYRING_FILE}
    if component.name == "gateway":
        env |= {f"ROUTING_TARGET_{c.name.upper()}_URL": f"http://{c.name}:{c.port}"
                for c in WEB_COMPONENTS}
    return env


def depends_on(component: Component) -> tuple[Component, ...]:
    """Every container of an earlier phase: each must be healthy before this one starts."""
    return tuple(c for c in containers() if c.phase < component.phase)


def published_port(component: Component) -> int | None:
    return component.port if component.name in PUBLISHED else None
