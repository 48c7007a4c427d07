"""A small typed client for the API under test: one per test, with its own fake client IP."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from json import dumps
from typing import Any

import httpx

from contract_tests.fresh import fresh_phone
from contract_tests.inbox import Inbox
from contract_tests.problems import assert_verification

_ABSENT: Any = object()


@dataclass(frozen=True)
class Urls:
    send: str
    check: str
    users: str
    inbox: str

    def bases(self) -> list[str]:
        return sorted({self.send, self.check, self.users})


@dataclass
class Journal:
    """Every response a test saw, to prove no code ever appears in one."""

    responses: list[httpx.Response] = field(default_factory=list)

    def leaks(self, codes: set[str]) -> list[str]:
        found = []
        for response in self.responses:
            text = response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())
            for code in codes:
                if re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", text):
                    found.append(f"code {code} in {response.request.url}: {text[:300]}")
        return found


@dataclass
class Api:
    urls: Urls
    http: httpx.Client
    inbox: Inbox
    client_ip: str
    journal: Journal
    api_key: str | None = None  # sent as `Authorization: Bearer <key>` on every request
    extra_headers: Mapping[str, str] = field(default_factory=dict)

    def with_ip(self, client_ip: str) -> Api:
        return replace(self, client_ip=client_ip)

    def with_key(self, api_key: str | None) -> Api:
        """The same client presenting another key (None: no Authorization header at all)."""
        return replace(self, api_key=api_key)

    def with_headers(self, headers: Mapping[str, str]) -> Api:
        """The same client sending `headers` too (they win over the key's Authorization)."""
        return replace(self, extra_headers={**self.extra_headers, **headers})

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = _ABSENT,
        content: bytes | str | Iterable[bytes] | None = None,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> httpx.Response:
        """One request; `content` may be an iterable of chunks (sent chunked), and a header value
        may be raw bytes (to send what a str cannot: non-ASCII)."""
        auth = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        all_headers: dict[str, str | bytes] = {
            "X-Forwarded-For": self.client_ip, **auth, **self.extra_headers, **(headers or {})
        }
        if json is not _ABSENT:  # serialised here so that a JSON `null` body is sent too
            content = dumps(json, ensure_ascii=False).encode("utf-8")
            all_headers.setdefault("Content-Type", "application/json")
        raw_headers = [(name.encode("ascii"), value if isinstance(value, bytes)
                        else value.encode("ascii")) for name, value in all_headers.items()]
        response = self.http.request(method, url, content=content, headers=raw_headers)
        self.journal.responses.append(response)
        return response

    # --- verifications -------------------------------------------------------------------
    def send(
        self,
        to: str | None = None,
        channel: str | None = None,
        *,
        locale: Any = _ABSENT,
        idempotency_key: str | bytes | None = None,
        body: Any = _ABSENT,
        content: bytes | str | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        if body is _ABSENT and content is None:
            body = {"to": to, "channel": channel or ("email" if to and "@" in to else "sms")}
            if locale is not _ABSENT:
                body["locale"] = locale
        extra: dict[str, str | bytes] = dict(headers or {})
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        return self.request(
            "POST", f"{self.urls.send}/api/verifications", json=body, content=content,
            headers=extra,
        )

    def get(self, verification_id: str) -> httpx.Response:
        return self.request("GET", f"{self.urls.send}/api/verifications/{verification_id}")

    def cancel(
        self, verification_id: str, *, content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return self.request(
            "POST", f"{self.urls.send}/api/verifications/{verification_id}/cancel",
            content=content, headers=headers,
        )

    def check(
        self,
        code: Any = _ABSENT,
        *,
        to: Any = _ABSENT,
        verification_id: Any = _ABSENT,
        body: Any = _ABSENT,
        content: bytes | str | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        if body is _ABSENT and content is None:
            body = {}
            if to is not _ABSENT:
                body["to"] = to
            if verification_id is not _ABSENT:
                body["verification_id"] = verification_id
            if code is not _ABSENT:
                body["code"] = code
        return self.request(
            "POST", f"{self.urls.check}/api/verification-checks", json=body, content=content,
            headers=headers,
        )

    def start(
        self, to: str | None = None, channel: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """Create a verification (201) and learn its code from the inbox."""
        destination = to or fresh_phone()
        verification = assert_verification(self.send(destination, channel), 201)
        return verification, self.inbox.wait_new_code(destination)

    # --- users (legacy, in the monolith) -------------------------------------------------
    def create_user(self, body: Any) -> httpx.Response:
        return self.request("POST", f"{self.urls.users}/api/users", json=body)

    def get_user(self, user_id: str) -> httpx.Response:
        return self.request("GET", f"{self.urls.users}/api/users/{user_id}")

    def start_for_user(self, user_id: str, body: Any) -> httpx.Response:
        """POST /api/users/{id}/verifications: a verification of the user's own destination."""
        return self.request("POST", f"{self.urls.users}/api/users/{user_id}/verifications",
                            json=body)


@contextmanager
def http_client(timeout: float = 15.0) -> Iterator[httpx.Client]:
    # Keep-alive as many as may be open: httpcore's sync pool can close a surplus idle connection it
    # has just handed to a waiting thread (encode/httpcore#1110), which the races in
    # test_concurrency.py hit as "Bad file descriptor" now and then.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    with httpx.Client(timeout=timeout, limits=limits) as client:
        yield client
