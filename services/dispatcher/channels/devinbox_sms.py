"""Development SMS: POST the text to the dev inbox (`POST {DEVINBOX_URL}/sms`)."""

from __future__ import annotations

import aiohttp

from services.dispatcher.channels.base import DeliveryError, OutgoingMessage


class DevInboxSmsChannel:
    name = "sms"

    def __init__(self, base_url: str, timeout_seconds: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/sms"
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: OutgoingMessage) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(
                self.url, json={"to": message.to, "body": message.body},
                headers={"Idempotency-Key": message.delivery_key},
            ) as response:
                if response.status not in (200, 201):  # 200: a repeat the inbox already has
                    raise DeliveryError(f"dev inbox answered {response.status} at {self.url}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(
                f"dev inbox unreachable at {self.url} ({type(exc).__name__})"
            ) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
