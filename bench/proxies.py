"""Configuration for the two proxies put in front of the targets: the kit's gateway and nginx.

Both route the two benchmarked paths the way routing/routes.toml does for the services (sends to
the send service, checks to the verify service) or send everything to one backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEND_PATHS = "/api/verifications"
CHECK_PATHS = "/api/verification-checks"


@dataclass(frozen=True)
class Backends:
    """Where each path goes; for the monolith all three are the same URL."""

    send: str
    check: str
    default: str


def gateway_table(backends: Backends) -> str:
    """A route table in routing/routes.toml's format forwarding to the given backends."""
    groups = {"send": backends.send, "check": backends.check, "default": backends.default}
    lines = ['default_action = { type = "forward", weights = { default = 1 } }', ""]
    for name, url in groups.items():
        lines += [f"[target_groups.{name}]", f'url = "{url}"', 'health_check_path = "/healthz"', ""]
    for priority, (name, pattern) in enumerate(
            (("send", SEND_PATHS + "*"), ("check", CHECK_PATHS + "*")), start=1):
        lines += [
            "[[rules]]", f'name = "bench-{name}"', f"priority = {priority}",
            f'conditions = [{{ field = "path-pattern", values = ["{pattern}"] }}]',
            f'action = {{ type = "forward", weights = {{ {name} = 1 }} }}', "",
        ]
    return "\n".join(lines)


def _host_port(url: str) -> str:
    return url.removeprefix("http://").rstrip("/")


def nginx_conf(backends: Backends, *, port: int, workdir: Path) -> str:
    """One worker, keep-alive to the upstreams, no access log: nginx at its cheapest."""
    upstreams = "\n".join(
        f"    upstream {name} {{ server {_host_port(url)}; keepalive 64; }}"
        for name, url in (("send", backends.send), ("check", backends.check),
                          ("fallback", backends.default)))
    proxy = ("proxy_http_version 1.1; proxy_set_header Connection \"\"; "
             "proxy_set_header Host $host; "
             "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;")
    return f"""daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
{upstreams}
    server {{
        listen 127.0.0.1:{port};
        location {SEND_PATHS} {{ proxy_pass http://send; {proxy} }}
        location {CHECK_PATHS} {{ proxy_pass http://check; {proxy} }}
        location / {{ proxy_pass http://fallback; {proxy} }}
    }}
}}
"""
