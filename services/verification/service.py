"""Use cases: start (or resend), read, cancel and check a verification. No web framework here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from services.verification import crypto
from services.verification.codes import generate_code
from services.verification.errors import (
    SEND_REFUSALS,
    MaxCheckAttemptsReached,
    NotFound,
    NotPending,
    RateLimited,
)
from services.verification.rendering import render_check_result, render_verification
from services.verification.settings import Settings
from services.verification.store import NewSend, VerificationStore
from services.verification.validation import (
    check_idempotency_key,
    check_sms_destination,
    is_verification_id,
    parse_check_body,
    parse_send_body,
)

SEND_METHOD, SEND_PATH = "POST", "/api/verifications"

# Ids, outcomes and statuses only: never a code, a destination or a sealed code.
log = logging.getLogger("services.verification")


@dataclass(frozen=True)
class Started:
    http_status: int
    body: dict[str, Any]
    replayed: bool


class VerificationService:
    def __init__(self, store: VerificationStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def start(
        self, body: Any, idempotency_key: str | None, client_ip: str, client: str
    ) -> Started:
        """Start or resend as `client` (the API key's); the IP limit counts the body's
        `end_user_ip` when given, else `client_ip`."""
        request = parse_send_body(body)
        idempotency_key = check_idempotency_key(idempotency_key)
        check_sms_destination(request, self.settings.sms_countries)
        pepper = self.settings.code_pepper
        dest_hash = crypto.dest_hash(pepper, request.channel, request.to)
        dest_key = crypto.dest_key(pepper, client, dest_hash)
        verification_id = self.store.new_id(dest_key)
        code = generate_code(self.settings.code_length)
        if self.store.write_version == 3:
            code_mac = crypto.code_mac16(pepper, code)
            code_sealed = crypto.seal_code_v3(pepper, verification_id, code)
        else:
            code_mac = crypto.code_mac(pepper, code)
            code_sealed = crypto.seal_code(pepper, verification_id, code)
        result = await self.store.send(
            NewSend(
                verification_id=verification_id,
                code_mac=code_mac,
                code_sealed=code_sealed,
                to=request.to,
                channel=request.channel,
                locale=request.locale or "",
                reference=request.reference or "",
                client=client,
                dest_hash=dest_hash,
                dest_key=dest_key,
                ip_hash=crypto.ip_hash(pepper, request.end_user_ip or client_ip),
                # Only SMS pass the SMS-pumping guards.
                prefix_hash=(
                    crypto.prefix_hash(pepper, request.to) if request.channel == "sms" else ""
                ),
                idem_hash=(
                    crypto.idem_hash(pepper, client, idempotency_key) if idempotency_key else None
                ),
                # Only an idempotency record stores it: no key, no hash to compute.
                request_hash=(
                    crypto.request_hash(pepper, SEND_METHOD, SEND_PATH, body)
                    if idempotency_key else ""
                ),
            )
        )
        log.info("send outcome=%s channel=%s", result.outcome, request.channel)
        refusal = SEND_REFUSALS.get(result.outcome)
        if refusal is not None:
            raise refusal(retry_after_ms=result.retry_after_ms)
        assert result.snapshot is not None
        return Started(
            result.http_status, render_verification(result.snapshot), result.outcome == "replay"
        )

    async def read(self, verification_id: str, client: str) -> dict[str, Any]:
        if not is_verification_id(verification_id):
            raise NotFound()
        found = await self.store.read(verification_id, client)
        if found is None:
            raise NotFound()
        snapshot, status = found
        return render_verification(snapshot, status)

    async def cancel(self, verification_id: str, client: str) -> dict[str, Any]:
        if not is_verification_id(verification_id):
            raise NotFound()
        outcome, snapshot = await self.store.cancel(verification_id, client)
        log.info("cancel id=%s outcome=%s", verification_id, outcome)
        if outcome == "not_found":
            raise NotFound()
        if outcome == "not_pending":
            raise NotPending()
        assert snapshot is not None
        return render_verification(snapshot)

    async def check(self, body: Any, client: str) -> dict[str, Any]:
        request = parse_check_body(body)
        if request.verification_id is not None and not is_verification_id(request.verification_id):
            raise NotFound()
        if request.verification_id is not None:
            result = await self.store.check(
                request.code, client, verification_id=request.verification_id
            )
        else:
            assert request.to is not None and request.channel is not None
            dest = crypto.dest_hash(self.settings.code_pepper, request.channel, request.to)
            result = await self.store.check(request.code, client, dest_hash=dest)
        log.info("check id=%s outcome=%s", result.verification_id or "-", result.outcome)
        if result.outcome == "not_found":
            raise NotFound()
        if result.outcome == "rate_limited":
            raise RateLimited(retry_after_ms=result.retry_after_ms)
        if result.outcome == "max_check_attempts_reached":
            raise MaxCheckAttemptsReached(retry_after_ms=result.retry_after_ms)
        return render_check_result(
            result.verification_id, result.to, result.channel, result.status,
            result.check_attempts, self.settings.max_checks,
        )
