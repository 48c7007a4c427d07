"""One run of the scenario (differential/steps.py) against one target."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from contract_tests.client import Urls
from contract_tests.differential.steps import Step
from contract_tests.fresh import fresh_email, fresh_id, fresh_ip, fresh_phone, wrong_code
from contract_tests.inbox import Inbox

PLACEHOLDER = re.compile(r"\{([a-zA-Z0-9_:]+)\}")


@dataclass
class Exchange:
    step: str
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Run:
    """One run of the scenario: its own destinations, ids, codes and client IP."""

    urls: Urls
    http: httpx.Client
    inbox: Inbox
    cooldown_seconds: float
    extra_headers: dict[str, str] = field(default_factory=dict)
    client_ip: str = field(default_factory=fresh_ip)
    values: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for n in range(1, 6):
            self.values[f"phone{n}"] = fresh_phone()
            self.values[f"email{n}"] = fresh_email()
            self.values[f"EMAIL{n}"] = self.values[f"email{n}"].upper()
        self.values["idem1"] = "diff-" + secrets.token_hex(12)
        self.values["unknown_id"] = fresh_id()

    def destinations(self) -> dict[str, str]:
        return {v.lower(): k.lower() for k, v in self.values.items()
                if k.startswith(("phone", "email"))}

    def fill(self, template: Any) -> Any:
        if isinstance(template, dict):
            return {k: self.fill(v) for k, v in template.items()}
        if isinstance(template, list):
            return [self.fill(v) for v in template]
        if isinstance(template, str):
            return PLACEHOLDER.sub(lambda m: self.values.get(m.group(1), f"<{m.group(1)}?>"),
                                   template)
        return template

    def play(self, step: Step) -> Exchange:
        if step.wait_cooldown_first:
            time.sleep(self.cooldown_seconds + 0.3)
        base = {"send": self.urls.send, "check": self.urls.check, "users": self.urls.users}
        headers = {"X-Forwarded-For": self.client_ip, **self.extra_headers,
                   **{k: self.fill(v) for k, v in step.headers.items()}}
        content: str | None = step.raw
        if step.body is not None:
            content = json.dumps(self.fill(step.body))
            headers.setdefault("Content-Type", "application/json")
        response = self.http.request(step.method, base[step.role] + self.fill(step.path),
                                     content=content, headers=headers)
        body: Any = response.text
        if "json" in response.headers.get("content-type", ""):
            body = response.json()
        if step.save_id_as and isinstance(body, dict) and "id" in body:
            self.values[f"id:{step.save_id_as}"] = str(body["id"])
        if step.learn_code_for:
            code = self.inbox.wait_new_code(self.values[step.learn_code_for])
            self.values[f"code:{step.learn_code_for}"] = code
            self.values[f"wrong:{step.learn_code_for}"] = wrong_code(code)
        return Exchange(step.name, response.status_code,
                        {k.lower(): v for k, v in response.headers.items()}, body)
