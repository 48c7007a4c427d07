"""Email over SMTP (Amazon SES speaks SMTP in production; the dev inbox locally).

smtplib is blocking, so each send runs in a worker thread; one connection per message keeps
failure handling simple (a verification email is rare next to SMTP's own cost).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from services.dispatcher.channels.base import DeliveryError, OutgoingMessage
from services.dispatcher.settings import SmtpSettings


class SmtpEmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.to_thread(self._send_blocking, message)

    async def close(self) -> None:
        return None

    def _send_blocking(self, message: OutgoingMessage) -> None:
        settings = self.settings
        mail = EmailMessage()
        mail["From"] = settings.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        # The same Message-ID on every attempt at one job, so a receiver that drops repeated
        # Message-IDs (as mail stores do) keeps one copy when a crash made us send twice.
        mail["Message-ID"] = f"<{message.delivery_key.replace('-', '.')}@verify-dispatcher>"
        mail.set_content(message.body)
        try:
            timeout = settings.timeout_seconds
            with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username and settings.password:
                    smtp.login(settings.username, settings.password)
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP server refused the mail ({exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("SMTP server refused the recipient") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"SMTP server {settings.host}:{settings.port} unreachable ({type(exc).__name__})"
            ) from None
