"""One side of a fuzz run: a target with its own destinations, client IPs and idempotency keys.

The sides share one Redis (and one dispatcher, one inbox) and the two clients: disjoint pools keep
their counters apart. A side turns an abstract operation (operations.py) into HTTP requests with
the key of the operation's client, remembers what the responses taught it (ids in order of
appearance and who created them, each client's codes from the inbox, when it sent), and collects
the step's side effects: messages delivered to the destination it touched.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from contract_tests.client import Urls
from contract_tests.differential.noise import ID_PATTERN, Normaliser
from contract_tests.differential.operations import (
    CLIENT_IPS,
    CLIENTS,
    PHONES,
    Cancel,
    Check,
    Churn,
    Method,
    Operation,
    Raw,
    Read,
    Send,
    Wait,
)
from contract_tests.differential.scenario import Exchange
from contract_tests.fresh import (
    fresh_email,
    fresh_id,
    fresh_ip,
    fresh_ipv6_network,
    fresh_phone,
    wrong_code,
)
from contract_tests.inbox import CODE_IN_MESSAGE
from contract_tests.policy import Policy

JSON_TYPE = "application/json"
TRUSTED_PROXY = "127.0.0.1"  # the loopback peer the test profile trusts (TRUSTED_PROXIES)
Moment = tuple[float, float]  # monotonic time before the request and after its response


@dataclass(frozen=True)
class Request:
    role: str  # send | check
    method: str
    path: str
    headers: dict[str, str]
    content: bytes | None
    dest: str | None = None  # the destination name the request is about, when it has one
    client: int = 0  # whose key it carries (operations.CLIENTS)

    def describe(self) -> str:
        shown = {k: v for k, v in self.headers.items()
                 if k not in ("X-Forwarded-For", "Authorization")}  # never print the key
        text = (self.content or b"").decode("utf-8", "replace")
        text = text if len(text) <= 160 else f"{text[:80]}…({len(text)} bytes)"
        return (f"{self.method} {self.path} {shown or ''} {text}".rstrip()
                + f" [as client {CLIENTS[self.client]}]")


@dataclass
class Outcome:
    """One request on one side: what was sent, what came back, and what it caused."""

    request: Request
    exchange: Exchange
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class EndUserAddresses:
    """A side's `end_user_ip` values, kept for the whole run (not one example) so that the sends
    naming them add up to VERIFY_IP_LIMIT on every side alike: an IPv4 address and an IPv6 /64."""

    ipv4: str = field(default_factory=fresh_ip)
    ipv6: ipaddress.IPv6Network = field(default_factory=fresh_ipv6_network)

    def render(self, name: str | None) -> Any:
        """The value of the operations.END_USER_IPS named `name` (None: JSON null)."""
        if name is None:
            return None
        v4, host = self.ipv4, self.ipv6.network_address + 1
        a, b, c, d = v4.split(".")
        padded = f"{a}.0{b}.{c}.{d}"  # 198.018.x.y: three digits, one a leading zero
        return {
            "ipv4": v4, "ipv4-mapped ipv6": f"::ffff:{v4}",
            "ipv6": str(host), "ipv6 upper-case": str(host).upper(),
            "ipv6 exploded": host.exploded,
            "ipv6 same /64": str(self.ipv6.network_address + 0xBEEF_0000_0001),
            "ipv4 leading zeros": padded, "ipv4-mapped leading zeros": f"::ffff:{padded}",
            "ipv4 with port": f"{v4}:80", "ipv4 cidr": f"{v4}/32",
            "ipv6 in brackets": f"[{host}]", "ipv6 with zone": f"{host}%eth0",
            "unknown": "unknown", "empty": "", "trailing newline": f"{v4}\n",
            "as number": int(ipaddress.IPv4Address(v4)),
        }[name]


def fresh_pool() -> dict[str, str]:
    token = secrets.token_hex(5)
    pool = {name: fresh_phone() for name in PHONES}
    pool.update({"email0": fresh_email(), "email1": fresh_email(),
                 "plus0": f"+p{token}@example.com", "tag0": f"t{token}+tag@example.com"})
    return pool


@dataclass
class Side:
    label: str
    urls: Urls
    http: httpx.Client
    policy: Policy
    delivery_timeout: float
    # The headers of each client (operations.CLIENTS), by index: its key and any of the target's.
    client_headers: tuple[dict[str, str], ...] = ({}, {})
    end_user: EndUserAddresses = field(default_factory=EndUserAddresses)
    pool: dict[str, str] = field(default_factory=fresh_pool)
    ips: list[str] = field(default_factory=lambda: [fresh_ip() for _ in range(CLIENT_IPS)])
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    ids: list[str] = field(default_factory=list)  # verification ids, in order of appearance
    dest_of: dict[str, str] = field(default_factory=dict)  # id -> destination name
    owner_of: dict[str, int] = field(default_factory=dict)  # id -> the client that created it
    # (client, destination name) -> the latest code delivered after that client's send
    codes: dict[tuple[int, str], str] = field(default_factory=dict)
    created: dict[str, Moment] = field(default_factory=dict)  # id -> when it was created
    # (client, destination name) -> its last send: each client has its own cooldown
    last_sent: dict[tuple[int, str], Moment] = field(default_factory=dict)
    seen_messages: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.normaliser = Normaliser({v.lower(): k for k, v in self.pool.items()})
        self.unknown_id = fresh_id()

    # --- rendering -----------------------------------------------------------------------
    def render(self, op: Operation) -> list[Request]:
        if isinstance(op, Send):
            return [self._send(op)]
        if isinstance(op, Check):
            return [self._check(op)]
        if isinstance(op, Cancel):
            body = b"}{ not json" if op.with_body else None
            return [self._request("send", "POST", f"{self._path(op.ref)}/cancel", content=body,
                                  headers={"Content-Type": "text/plain"} if body else {},
                                  client=op.client)]
        if isinstance(op, Read):
            return [self._request("send", "GET", self._path(op.ref)
                                  + ("/" if op.trailing_slash else ""), client=op.client)]
        if isinstance(op, Raw):
            return [self._raw(op)]
        if isinstance(op, Method):
            role = "check" if op.endpoint == "check" else "send"
            path = {"send": "/api/verifications", "check": "/api/verification-checks",
                    "read": self._path(0), "cancel": self._path(0) + "/cancel"}[op.endpoint]
            return [self._request(role, op.method, path)]
        if isinstance(op, Churn):  # the cancels are rendered once the sends have answered
            return []
        assert isinstance(op, Wait)
        return []

    def destination(self, name: str, upper: bool = False) -> str:
        value = self.pool[name]
        return value.upper() if upper else value

    def _send(self, op: Send) -> Request:
        to = self.destination(op.dest, op.upper)
        natural = "sms" if op.dest in PHONES else "email"
        channel = {"natural": natural, "other": "email" if natural == "sms" else "sms"}.get(
            op.channel, op.channel)
        body: dict[str, Any] = {"to": to}
        if channel != "<absent>":
            body["channel"] = channel
        if op.locale != "<absent>":
            body["locale"] = op.locale
        if op.end_user_ip != "<absent>":
            body["end_user_ip"] = self.end_user.render(op.end_user_ip)
        if op.reference != "<absent>":
            body["reference"] = op.reference
        headers = {"Content-Type": JSON_TYPE, "X-Forwarded-For": self._forwarded(op)}
        key = self._idempotency_key(op.idempotency_key)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self._request("send", "POST", "/api/verifications", content=_json(body),
                             headers=headers, dest=op.dest, client=op.client)

    def _forwarded(self, op: Send) -> str:
        # Every form leaves this side's own address as the rightmost untrusted entry, so the
        # client IP (and its rate-limit counter) stays this side's whatever the walk does.
        ip = self.ips[op.ip]
        return {"plain": ip, "via trusted proxy": f"{ip}, {TRUSTED_PROXY}",
                "junk on the left": f"unknown, {ip}",
                "padded": f"{ip} ,  {TRUSTED_PROXY}"}[op.forwarded_for]

    def _idempotency_key(self, key: str | None) -> str | None:
        return {None: None, "<empty>": "", "<256 chars>": "k" * 256,
                "<with space>": "a key"}.get(key, f"fz-{self.token}-{key}")

    def _check(self, op: Check) -> Request:
        body: dict[str, Any] = {}
        # Whose code is right: by `to` the caller's own; by id the creator's, so that a check by
        # another client fails on ownership alone.
        if op.by == "to":
            dest: str | None = str(op.ref)
            body["to"] = self.destination(str(op.ref), op.upper)
            owner = op.client
        else:
            vid = self._id(op.ref)
            dest = self.dest_of.get(vid)
            body["verification_id"] = vid
            owner = self.owner_of.get(vid, op.client)
        right, other = (self._code(client, dest) for client in (owner, 1 - owner))
        code: Any = {"right": right, "wrong": wrong_code(right), "short": "12",
                     "letters": "12ab56", "as number": int(right), "too long": "1" * 11,
                     "other client's": other}.get(op.code, "<absent>")
        if code != "<absent>":
            body["code"] = code
        return self._request("check", "POST", "/api/verification-checks", content=_json(body),
                             headers={"Content-Type": JSON_TYPE,
                                      "X-Forwarded-For": self.ips[op.ip]}, dest=dest,
                             client=op.client)

    def _code(self, client: int, dest: str | None) -> str:
        """The latest code `client` was sent for `dest` (one that is surely wrong when none)."""
        return self.codes.get((client, dest or ""), "0" * self.policy.code_length)

    def _raw(self, op: Raw) -> Request:
        to = self.pool[op.dest]
        channel = "sms" if op.dest in PHONES else "email"
        valid = ({"to": to, "channel": channel} if op.endpoint == "send"
                 else {"to": to, "code": self._code(0, op.dest)})
        text = _json(valid).decode()
        content_type, content = JSON_TYPE, text.encode()
        if op.body == "malformed json":
            content = b"{"
        elif op.body == "array":
            content = _json([valid])
        elif op.body == "text/plain":
            content_type = "text/plain"
        elif op.body == "no content-type":
            content_type = ""
        elif op.body == "charset parameter":
            content_type = "application/json; charset=utf-8"
        elif op.body == "uppercase media type":
            content_type = "Application/JSON"
        elif op.body == "oversized":
            content = _json({**valid, "pad": "x" * (self.policy.max_body_bytes + 100)})
        elif op.body == "duplicate member":
            content = ('{"to": ' + json.dumps(to) + ", " + text[1:]).encode()
        elif op.body == "unknown member":
            content = _json({**valid, "zeta": 1, "alpha": 2})
        elif op.body == "null member":
            content = _json({**valid, "to": None})
        elif op.body == "trailing newline":
            content = _json({**valid, "to": to + "\n"})
        elif op.body == "not utf-8":
            content = b'{"to": "\xff"}'
        elif op.body == "nested object":
            content = _json({**valid, "to": {"value": to}})
        elif op.body == "empty body":
            content = b""
        path = "/api/verifications" if op.endpoint == "send" else "/api/verification-checks"
        headers = {"X-Forwarded-For": self.ips[0]}
        if content_type:
            headers["Content-Type"] = content_type
        return self._request(op.endpoint, "POST", path, content=content, headers=headers,
                             dest=op.dest)

    def _id(self, ref: str | int) -> str:
        if isinstance(ref, int):
            return self.ids[ref % len(self.ids)] if self.ids else self.unknown_id
        return {"unknown": self.unknown_id, "malformed": "VE123",
                "uppercase hex": "VE" + self.unknown_id[2:].upper()}[ref]

    def _path(self, ref: str | int) -> str:
        return f"/api/verifications/{self._id(ref)}"

    def _request(self, role: str, method: str, path: str, *, content: bytes | None = None,
                 headers: dict[str, str] | None = None, dest: str | None = None,
                 client: int = 0) -> Request:
        all_headers = {"X-Forwarded-For": self.ips[0], **self.client_headers[client],
                       **(headers or {})}
        return Request(role, method, path, all_headers, content, dest, client)

    # --- performing ----------------------------------------------------------------------
    def perform(self, op: Operation) -> list[Outcome]:
        if isinstance(op, Churn):
            return self._churn(op)
        return [self.send_request(request) for request in self.render(op)]

    def _churn(self, op: Churn) -> list[Outcome]:
        outcomes = []
        for _ in range(op.times):
            sent = self.send_request(self._send(Send(op.dest, client=op.client,
                                                     end_user_ip=op.end_user_ip)))
            outcomes.append(sent)
            body = sent.exchange.body
            if isinstance(body, dict) and isinstance(body.get("id"), str):
                outcomes.append(self.send_request(self._request(
                    "send", "POST", f"/api/verifications/{body['id']}/cancel",
                    client=op.client)))
        return outcomes

    def send_request(self, request: Request) -> Outcome:
        base = self.urls.send if request.role == "send" else self.urls.check
        before = time.monotonic()
        response = self.http.request(request.method, base + request.path,
                                     content=request.content, headers=request.headers)
        moment = (before, time.monotonic())
        body: Any = response.text
        if "json" in response.headers.get("content-type", ""):
            try:
                body = response.json()
            except ValueError:
                body = f"<not JSON> {response.text[:200]}"
        headers = {k.lower(): v for k, v in response.headers.items()}
        outcome = Outcome(request, Exchange(request.describe(), response.status_code, headers,
                                            body))
        self._learn(outcome, moment)
        return outcome

    def _learn(self, outcome: Outcome, moment: Moment) -> None:
        body, request = outcome.exchange.body, outcome.request
        if isinstance(body, dict):
            for member in ("id", "verification_id"):
                vid = body.get(member)
                if isinstance(vid, str) and ID_PATTERN.fullmatch(vid) and vid.startswith("VE"):
                    if vid not in self.ids:
                        self.ids.append(vid)
                        # First seen in its creation's answer: only the owner sees it at all.
                        self.owner_of[vid] = request.client
                    to = body.get("to")
                    name = self.normaliser.destinations.get(str(to).lower())
                    if name:
                        self.dest_of[vid] = name
        is_send = request.role == "send" and request.path == "/api/verifications"
        if not (is_send and request.method == "POST" and request.dest):
            return
        sent = (outcome.exchange.status in (200, 201)
                and outcome.exchange.headers.get("idempotent-replayed") is None)
        if sent:
            self.last_sent[(request.client, request.dest)] = moment
            if outcome.exchange.status == 201 and isinstance(body, dict):
                self.created[str(body.get("id"))] = moment
        outcome.messages = self._new_messages(request.dest, request.client, wait=sent)

    def _new_messages(self, dest: str, client: int, *, wait: bool) -> list[dict[str, Any]]:
        """Messages to `dest` not seen before, taken as answers to `client`'s send (every send
        that happened waited for its message, so none arrives later); with `wait`, polls until
        one arrives."""
        deadline = time.monotonic() + self.delivery_timeout
        while True:
            response = self.http.get(f"{self.urls.inbox}/messages", params={"to": self.pool[dest]})
            response.raise_for_status()
            fresh = [m for m in response.json()["messages"]
                     if str(m["id"]) not in self.seen_messages]
            if fresh or not wait or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.seen_messages.update(str(m["id"]) for m in fresh)
        for message in reversed(fresh):  # oldest first: the newest code wins
            match = CODE_IN_MESSAGE.search(str(message.get("body")))
            if match:
                self.codes[(client, dest)] = match.group(1)
        return [message_view(m) for m in reversed(fresh)]

    def owns(self, verification_id: str) -> bool:
        return verification_id in self.ids


def message_view(message: dict[str, Any]) -> dict[str, Any]:
    """What a user receives: channel, destination, sender, subject, text (the message id and
    arrival time are the inbox's own, never compared)."""
    return {k: message.get(k) for k in ("channel", "to", "from", "subject", "body")}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
