"""The SMTP channel keeps sessions open for the next mail, at most SMTP_MAX_CONNECTIONS at once,
and recovers by itself when the server drops one. A real aiosmtpd server counts the sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.dispatcher.channels.base import DeliveryError, OutgoingMessage
from services.dispatcher.channels.smtp_email import SmtpEmailChannel
from services.dispatcher.settings import SmtpSettings
from tests.integration.dispatcher.support import closed_port


@dataclass
class CountingServer:
    """Accepts every mail but to refused@…; counts sessions; can drop the open ones."""

    sessions: int = 0
    at_once: int = 0
    most_at_once: int = 0
    accepted: list[str] = field(default_factory=list)
    transports: list[asyncio.BaseTransport] = field(default_factory=list)

    def protocol(self) -> SMTP:
        owner = self

        class Counted(SMTP):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                owner.sessions += 1
                owner.transports.append(transport)
                super().connection_made(transport)

        return Counted(self, hostname="counting")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("refused@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        await asyncio.sleep(0.02)
        self.at_once -= 1
        self.accepted.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def drop_sessions(self) -> None:
        for transport in self.transports:
            transport.close()
        self.transports.clear()


@pytest.fixture
async def mail_server() -> AsyncIterator[tuple[CountingServer, int]]:
    counting = CountingServer()
    server = await asyncio.get_running_loop().create_server(counting.protocol, "127.0.0.1", 0)
    yield counting, server.sockets[0].getsockname()[1]
    server.close()
    counting.drop_sessions()


@asynccontextmanager
async def sending(port: int, max_connections: int) -> AsyncIterator[SmtpEmailChannel]:
    """The channel to the server at `port`, closed (its sessions quit) afterwards."""
    channel = SmtpEmailChannel(SmtpSettings.from_env({
        "SMTP_PORT": str(port), "SMTP_MAX_CONNECTIONS": str(max_connections)}))
    try:
        yield channel
    finally:
        await channel.close()


def mail(to: str, n: int = 0) -> OutgoingMessage:
    return OutgoingMessage(to, "Your code", f"code is {100000 + n}", f"{n}-0", f"VE{n}.{n}-0")


async def test_mails_share_a_few_kept_sessions(mail_server: tuple[CountingServer, int]) -> None:
    server, port = mail_server
    async with sending(port, max_connections=2) as channel:
        recipients = [f"user{n}@example.com" for n in range(20)]
        await asyncio.gather(*(channel.send(mail(to, n)) for n, to in enumerate(recipients)))
    assert sorted(server.accepted) == sorted(recipients)  # each exactly once
    assert server.most_at_once == 2  # two at a time, never more
    assert server.sessions == 2  # not one per mail


async def test_a_dropped_session_is_replaced_without_losing_the_mail(
    mail_server: tuple[CountingServer, int],
) -> None:
    server, port = mail_server
    async with sending(port, max_connections=1) as channel:
        await channel.send(mail("first@example.com"))
        server.drop_sessions()  # as a server does with a session idle too long
        await asyncio.sleep(0.05)
        await channel.send(mail("second@example.com", 1))
    assert server.accepted == ["first@example.com", "second@example.com"]
    assert server.sessions == 2


async def test_a_refusal_keeps_the_session_for_the_next_mail(
    mail_server: tuple[CountingServer, int],
) -> None:
    server, port = mail_server
    async with sending(port, max_connections=1) as channel:
        with pytest.raises(DeliveryError, match="refused the recipient"):
            await channel.send(mail("refused@example.com"))
        await channel.send(mail("next@example.com", 1))
    assert server.accepted == ["next@example.com"]
    assert server.sessions == 1


async def test_a_session_idle_too_long_is_not_tried(
    mail_server: tuple[CountingServer, int],
) -> None:
    server, port = mail_server
    async with sending(port, max_connections=1) as channel:
        channel.connections.max_idle_seconds = 0.1
        await channel.send(mail("first@example.com"))
        await asyncio.sleep(0.2)
        await channel.send(mail("second@example.com", 1))
    assert server.accepted == ["first@example.com", "second@example.com"]
    assert server.sessions == 2


async def test_an_unreachable_server_is_a_delivery_error() -> None:
    async with sending(closed_port(), max_connections=1) as channel:
        with pytest.raises(DeliveryError, match="unreachable"):
            await channel.send(mail("x@example.com"))
