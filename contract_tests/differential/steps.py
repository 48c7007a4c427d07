"""The scripted scenario: the same requests, from templates, for every target.

Placeholders in paths and bodies: `{phone1}` `{email1}` … (fresh destinations per run),
`{id:NAME}` (an id saved by an earlier step), `{code:DEST}` / `{wrong:DEST}` (the code the inbox
received for a destination, or one certainly wrong), `{idem1}` (a fresh Idempotency-Key),
`{unknown_id}` (a well-formed id that does not exist).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Step:
    name: str
    role: str  # send | check | users
    method: str
    path: str
    body: Any = None  # a JSON template, or None for no body
    raw: str | None = None  # raw body text (then `headers` says its type)
    headers: dict[str, str] = field(default_factory=dict)
    save_id_as: str | None = None
    learn_code_for: str | None = None
    wait_cooldown_first: bool = False


def _send(to: str, channel: str, **extra: Any) -> dict[str, Any]:
    return {"to": to, "channel": channel, **extra}


SCENARIO: tuple[Step, ...] = (
    Step("create sms", "send", "POST", "/api/verifications", _send("{phone1}", "sms"),
         save_id_as="v1", learn_code_for="phone1"),
    Step("get created", "send", "GET", "/api/verifications/{id:v1}"),
    Step("resend too soon", "send", "POST", "/api/verifications", _send("{phone1}", "sms")),
    Step("wrong code by id", "check", "POST", "/api/verification-checks",
         {"verification_id": "{id:v1}", "code": "{wrong:phone1}"}),
    Step("malformed code", "check", "POST", "/api/verification-checks",
         {"verification_id": "{id:v1}", "code": "12"}),
    Step("right code by to", "check", "POST", "/api/verification-checks",
         {"to": "{phone1}", "code": "{code:phone1}"}),
    Step("right code again", "check", "POST", "/api/verification-checks",
         {"to": "{phone1}", "code": "{code:phone1}"}),
    Step("get approved", "send", "GET", "/api/verifications/{id:v1}"),
    Step("cancel approved", "send", "POST", "/api/verifications/{id:v1}/cancel"),
    Step("create email with key", "send", "POST", "/api/verifications",
         _send("{EMAIL1}", "email", locale="pt-BR"), headers={"Idempotency-Key": "{idem1}"},
         save_id_as="v2", learn_code_for="email1"),
    Step("replay the key", "send", "POST", "/api/verifications",
         _send("{EMAIL1}", "email", locale="pt-BR"), headers={"Idempotency-Key": "{idem1}"}),
    Step("reuse the key", "send", "POST", "/api/verifications", _send("{email2}", "email"),
         headers={"Idempotency-Key": "{idem1}"}),
    Step("cancel pending", "send", "POST", "/api/verifications/{id:v2}/cancel"),
    Step("get canceled", "send", "GET", "/api/verifications/{id:v2}"),
    Step("check canceled", "check", "POST", "/api/verification-checks",
         {"verification_id": "{id:v2}", "code": "{code:email1}"}),
    Step("create to exhaust", "send", "POST", "/api/verifications", _send("{phone2}", "sms"),
         save_id_as="v3", learn_code_for="phone2"),
    *(Step(f"wrong code {n}", "check", "POST", "/api/verification-checks",
           {"to": "{phone2}", "code": "{wrong:phone2}"}) for n in range(1, 6)),
    Step("right code when exhausted", "check", "POST", "/api/verification-checks",
         {"verification_id": "{id:v3}", "code": "{code:phone2}"}),
    Step("get exhausted", "send", "GET", "/api/verifications/{id:v3}"),
    Step("create to resend", "send", "POST", "/api/verifications", _send("{phone3}", "sms"),
         save_id_as="v4", learn_code_for="phone3"),
    Step("resend after cooldown", "send", "POST", "/api/verifications",
         _send("{phone3}", "sms"), wait_cooldown_first=True),
    Step("unknown member", "send", "POST", "/api/verifications",
         _send("{phone4}", "sms", zeta=1, alpha=2)),
    Step("bad channel", "send", "POST", "/api/verifications", _send("{phone4}", "fax")),
    Step("bad phone", "send", "POST", "/api/verifications", _send("0123", "sms")),
    Step("bad locale", "send", "POST", "/api/verifications", _send("{phone4}", "sms", locale="EN")),
    Step("array body", "send", "POST", "/api/verifications", ["{phone4}"]),
    Step("malformed json", "send", "POST", "/api/verifications", raw="{", headers=JSON),
    Step("text/plain", "send", "POST", "/api/verifications", raw="{}",
         headers={"Content-Type": "text/plain"}),
    Step("too large", "send", "POST", "/api/verifications", raw='{"p": "' + "x" * 20000 + '"}',
         headers=JSON),
    Step("check neither to nor id", "check", "POST", "/api/verification-checks",
         {"code": "123456"}),
    Step("check malformed json", "check", "POST", "/api/verification-checks", raw="[",
         headers=JSON),
    Step("get malformed id", "send", "GET", "/api/verifications/VE123"),
    Step("get unknown id", "send", "GET", "/api/verifications/{unknown_id}"),
    Step("cancel unknown id", "send", "POST", "/api/verifications/{unknown_id}/cancel"),
    Step("method not allowed", "send", "DELETE", "/api/verifications"),
    Step("create user", "users", "POST", "/api/users",
         {"name": "Ada", "phone": "{phone5}", "email": "{EMAIL3}"}, save_id_as="u1"),
    Step("get user", "users", "GET", "/api/users/{id:u1}"),
    Step("invalid user", "users", "POST", "/api/users", {"name": "", "phone": "{phone5}"}),
    Step("unknown user", "users", "GET", "/api/users/US" + "0" * 32),
    Step("healthz send", "send", "GET", "/healthz"),
    Step("readyz check", "check", "GET", "/readyz"),
)
