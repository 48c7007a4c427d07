"""Target specs and the field-by-field comparison of two runs."""

from __future__ import annotations

from typing import Any

from contract_tests.client import Urls
from contract_tests.differential.noise import COMPARED_HEADERS, Normaliser, same
from contract_tests.differential.scenario import Exchange


def parse_target(spec: str, default_inbox: str | None,
                 api_key: str | None) -> tuple[Urls, dict[str, str]]:
    """`URL` (everything there) or `send=URL,check=URL[,users=URL][,inbox=URL][,header=N:V]`.
    The headers carry `api_key` as a Bearer key (a `header=Authorization:…` of the spec wins)."""
    headers: dict[str, str] = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    if "=" not in spec:
        parts: dict[str, str] = {"base": spec}
    else:
        parts = {}
        for item in spec.split(","):
            key, _, value = item.partition("=")
            if key.strip() == "header":
                name, _, header_value = value.partition(":")
                headers[name.strip()] = header_value.strip()
            else:
                parts[key.strip()] = value.strip()
    base = parts.get("base")
    roles = {role: (parts.get(role) or base or "").rstrip("/")
             for role in ("send", "check", "users")}
    inbox = parts.get("inbox") or default_inbox
    missing = [role for role, url in roles.items() if not url] + ([] if inbox else ["inbox"])
    if missing:
        raise ValueError(f"target {spec!r} lacks {', '.join(missing)} (give base=URL or each)")
    return Urls(send=roles["send"], check=roles["check"], users=roles["users"],
                inbox=str(inbox).rstrip("/")), headers


def normalise(exchange: Exchange, normaliser: Normaliser) -> dict[str, Any]:
    view: dict[str, Any] = {"status": exchange.status}
    for name in COMPARED_HEADERS:
        value = exchange.headers.get(name)
        if name == "content-type" and value:
            value = value.replace(" ", "").lower()
        view[f"header {name}"] = normaliser.header(name, value)
    if isinstance(exchange.body, dict):
        body = normaliser.body(exchange.body)
        view["member order"] = list(body)
        for key, value in body.items():
            view[f"body.{key}"] = value
    else:
        view["body"] = exchange.body
    return view


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    lines = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key, "<absent>"), b.get(key, "<absent>")
        header = key.removeprefix("header ")
        if not same(header, left, right):
            lines.append(f"  {key}:\n    A: {left!r}\n    B: {right!r}")
    return lines
