"""The gateway's ALB behaviour settings, from the environment (ROUTING_XFF_MODE, ...).

Apart from settings.py for now; they join that settings layer later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

XffMode = Literal["append", "preserve", "remove"]
ErrorBody = Literal["html", "problem"]
XFF_MODES: tuple[XffMode, ...] = ("append", "preserve", "remove")
ERROR_BODIES: tuple[ErrorBody, ...] = ("html", "problem")


@dataclass(frozen=True)
class AlbSettings:
    # ALB's routing.http.xff_header_processing.mode: append the peer, pass as is, or strip.
    xff_mode: XffMode = "append"
    # ALB's idle_timeout.timeout_seconds: a target silent this long -> 504; an idle client
    # connection is closed after it.
    idle_timeout_s: float = 60.0
    connect_timeout_s: float = 10.0  # no connection to the target by then -> 504
    # The gateway's own errors: ALB's small HTML pages, or problem+json (urn:problem:gateway:*).
    error_body: ErrorBody = "html"


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name) or default
    if value not in choices:
        raise SystemExit(f"{name}={value!r}: must be one of {', '.join(choices)}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    try:
        value = float(raw) if raw else default
    except ValueError as error:
        raise SystemExit(f"{name}={raw!r} is not a number of seconds") from error
    if value <= 0:
        raise SystemExit(f"{name}={raw!r} must be above 0 seconds")
    return value


def alb_settings_from_env(env: Mapping[str, str] | None = None) -> AlbSettings:
    env = os.environ if env is None else env
    return AlbSettings(
        xff_mode=cast(XffMode, _choice(env, "ROUTING_XFF_MODE", XFF_MODES, "append")),
        idle_timeout_s=_seconds(env, "ROUTING_IDLE_TIMEOUT_S", 60.0),
        connect_timeout_s=_seconds(env, "ROUTING_CONNECT_TIMEOUT_S", 10.0),
        error_body=cast(ErrorBody, _choice(env, "ROUTING_ERROR_BODY", ERROR_BODIES, "html")))
