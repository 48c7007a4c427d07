"""The dev inbox, the only place the suite learns codes from (never the API, never Redis)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

CODE_IN_MESSAGE = re.compile(r"code is (\d{4,10})")


class Inbox:
    def __init__(self, base_url: str, http: httpx.Client, delivery_timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._delivery_timeout = delivery_timeout
        self._seen: dict[str, set[str]] = {}
        self.codes: set[str] = set()

    def messages(self, to: str) -> list[dict[str, Any]]:
        response = self._http.get(f"{self.base_url}/messages", params={"to": to})
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def count(self, to: str) -> int:
        return len(self.messages(to))

    def wait_new_code(self, to: str, timeout: float | None = None) -> str:
        """The code of the newest message to `to` not seen before; bounded poll."""
        deadline = time.monotonic() + (timeout or self._delivery_timeout)
        seen = self._seen.setdefault(to.lower(), set())
        while True:
            fresh = [m for m in self.messages(to) if str(m["id"]) not in seen]
            if fresh:
                seen.update(str(m["id"]) for m in fresh)
                match = CODE_IN_MESSAGE.search(str(fresh[0]["body"]))
                assert match, f"message to {to} has no code: {fresh[0]['body']!r}"
                self.codes.add(match.group(1))
                return match.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no new message for {to} in the inbox at {self.base_url} within "
                    f"{timeout or self._delivery_timeout:.0f}s (is the dispatcher running?)"
                )
            time.sleep(0.05)

    def assert_nothing_new(self, to: str, settle: float = 1.5) -> None:
        """Nothing was delivered to `to` since the last code was taken (waits `settle` s)."""
        time.sleep(settle)
        seen = self._seen.setdefault(to.lower(), set())
        fresh = [m for m in self.messages(to) if str(m["id"]) not in seen]
        assert not fresh, f"unexpected delivery to {to}: {fresh}"
