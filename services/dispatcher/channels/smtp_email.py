"""Email over SMTP (Amazon SES speaks SMTP in production; the dev inbox locally).

smtplib is blocking, so sends run on this channel's own threads, at most SMTP_MAX_CONNECTIONS
at once, each on a connection kept open (and logged in) for the next mail: a new TCP + TLS +
AUTH handshake per message would cost more than the message.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

from services.dispatcher.channels.base import DeliveryError, OutgoingMessage
from services.dispatcher.settings import SmtpSettings

# Servers drop idle sessions (SES after about 10 s, Postfix after 300 s): one idle longer than
# this is closed rather than tried.
MAX_IDLE_SECONDS = 5.0
CLOSING = 421  # the reply code of a server about to close the session


class SmtpConnections:
    """Open, logged-in SMTP sessions waiting for their next mail, newest last. A session is used
    by one thread at a time: taken, then given back (or dropped when it failed)."""

    def __init__(self, settings: SmtpSettings, max_idle_seconds: float = MAX_IDLE_SECONDS) -> None:
        self.settings = settings
        self.max_idle_seconds = max_idle_seconds
        self._idle: deque[tuple[smtplib.SMTP, float]] = deque()
        self._lock = threading.Lock()

    def take(self) -> tuple[smtplib.SMTP, bool]:
        """A session, and whether it was used before (then it may have been dropped by the
        server meanwhile)."""
        now = time.monotonic()
        stale: list[smtplib.SMTP] = []
        with self._lock:
            while self._idle:
                session, since = self._idle.pop()
                if now - since < self.max_idle_seconds:
                    break
                stale.append(session)
            else:
                session = None
        for old in stale:
            _quit(old)
        if session is not None:
            return session, True
        return self.open(), False

    def give_back(self, session: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < self.settings.max_connections:
                self._idle.append((session, time.monotonic()))
                return
        _quit(session)

    def close(self) -> None:
        with self._lock:
            sessions = [session for session, _ in self._idle]
            self._idle.clear()
        for session in sessions:
            _quit(session)

    def open(self) -> smtplib.SMTP:
        """A new session, connected, upgraded to TLS and logged in as the settings say."""
        settings = self.settings
        session = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        try:
            if settings.starttls:
                session.starttls(context=ssl.create_default_context())
            if settings.username and settings.password:
                session.login(settings.username, settings.password)
        except BaseException:
            session.close()
            raise
        return session


def _quit(session: smtplib.SMTP) -> None:
    try:
        session.quit()
    except (smtplib.SMTPException, OSError):
        session.close()


class SmtpEmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.connections = SmtpConnections(settings)
        self._threads = ThreadPoolExecutor(settings.max_connections, thread_name_prefix="smtp")

    async def send(self, message: OutgoingMessage) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, self._send_blocking, message)

    async def close(self) -> None:
        def close_blocking() -> None:  # QUIT waits for the server: not on the event loop
            self._threads.shutdown()
            self.connections.close()

        await asyncio.to_thread(close_blocking)

    def _mail(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        # The same Message-ID on every attempt at one job, so a receiver that drops repeated
        # Message-IDs (as mail stores do) keeps one copy when a crash made us send twice.
        mail["Message-ID"] = f"<{message.delivery_key.replace('-', '.')}@verify-dispatcher>"
        mail.set_content(message.body)
        return mail

    def _send_blocking(self, message: OutgoingMessage) -> None:
        settings = self.settings
        try:
            self._deliver(self._mail(message))
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP server refused the mail ({exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("SMTP server refused the recipient") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"SMTP server {settings.host}:{settings.port} unreachable ({type(exc).__name__})"
            ) from None

    def _deliver(self, mail: EmailMessage) -> None:
        session, reused = self.connections.take()
        try:
            self._send_on(session, mail)
        except (smtplib.SMTPServerDisconnected, OSError):
            if not reused:
                raise
            # The server dropped the kept session: once more, on a new one. (Had it taken the
            # mail before dropping, the repeat carries the same Message-ID.)
            self._send_on(self.connections.open(), mail)

    def _send_on(self, session: smtplib.SMTP, mail: EmailMessage) -> None:
        try:
            session.send_message(mail)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
            # smtplib resets the session after a refusal, so it stays usable; 421: the server
            # is closing it.
            if getattr(exc, "smtp_code", None) == CLOSING:
                session.close()
            else:
                self.connections.give_back(session)
            raise
        except BaseException:
            session.close()
            raise
        self.connections.give_back(session)
