"""Turn the bytes of an SMTP DATA section into stored messages (stdlib `email`, policy default).

The policy decodes encoded-word headers (RFC 2047) and transfer encodings (base64,
quoted-printable); for multipart mail the text/plain part is preferred, then text/html.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from devinbox.store import Message, new_message


def readable_body(parsed: EmailMessage) -> str:
    part = parsed.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        # Unknown charset or broken encoding: show what can be shown rather than drop the mail.
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content.replace("\r\n", "\n") if isinstance(content, str) else ""


def parse_email(raw: bytes, envelope_from: str | None, recipients: list[str]) -> list[Message]:
    """One stored message per envelope recipient, so `GET /messages?to=` finds each of them."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)  # guaranteed by policy.default
    subject = str(parsed["Subject"] or "")
    sender = str(parsed["From"] or envelope_from or "")
    body = readable_body(parsed)
    message_id = str(parsed["Message-ID"] or "").strip() or None
    return [
        new_message("email", to=recipient, body=body, sender=sender, subject=subject,
                    delivery_key=message_id)
        for recipient in recipients
    ]
