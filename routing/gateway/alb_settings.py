"""The gateway's ALB attributes, from the environment (the settings layer of kit/settings.py):
what an ALB sets per load balancer (X-Forwarded-For processing, idle timeout) or does itself
(its connect timeout, the shape of its own error pages)."""

from __future__ import annotations

from typing import Annotated, Literal

from kit.settings import EnvSettings, Seconds, env_var

XffMode = Literal["append", "preserve", "remove"]
ErrorBody = Literal["html", "problem"]


class AlbSettings(EnvSettings):
    # ALB's routing.http.xff_header_processing.mode: append the peer, pass as is, or strip.
    xff_mode: Annotated[XffMode, env_var("ROUTING_XFF_MODE")] = "append"
    # ALB's idle_timeout.timeout_seconds: a target silent this long -> 504; an idle client
    # connection is closed after it.
    idle_timeout_s: Annotated[Seconds, env_var("ROUTING_IDLE_TIMEOUT_S")] = 60.0
    # No connection to the target by then -> 504 (ALB: 10 s, fixed).
    connect_timeout_s: Annotated[Seconds, env_var("ROUTING_CONNECT_TIMEOUT_S")] = 10.0
    # The gateway's own errors: ALB's small HTML pages, or problem+json (urn:problem:gateway:*).
    error_body: Annotated[ErrorBody, env_var("ROUTING_ERROR_BODY")] = "html"
