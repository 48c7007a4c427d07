"""The SMTP side: a real aiosmtpd server on the shared event loop; every accepted mail is stored.

Any AUTH credentials are accepted (as Mailpit does), so a sender configured with a username and
password for SES can point at the dev inbox unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from devinbox.mime import parse_email
from devinbox.store import MessageStore

log = logging.getLogger(__name__)

MAX_MAIL_BYTES = 10 * 1024 * 1024


class StoringHandler:
    def __init__(self, store: MessageStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8")
        try:
            messages = parse_email(raw, envelope.mail_from, list(envelope.rcpt_tos))
        except Exception:  # a mail we cannot parse must not take the server down
            log.exception("could not parse a mail from %s", session.peer)
            return "554 Transaction failed: message could not be parsed"
        for message in messages:
            self.store.add(message)
        return "250 Message accepted for delivery"


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True)


async def start_smtp(store: MessageStore, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = StoringHandler(store)

    def protocol() -> SMTP:
        return SMTP(
            handler,
            hostname="devinbox",
            data_size_limit=MAX_MAIL_BYTES,
            enable_SMTPUTF8=True,
            authenticator=accept_any_login,
            auth_require_tls=False,
        )

    return await loop.create_server(protocol, host=host, port=port)
