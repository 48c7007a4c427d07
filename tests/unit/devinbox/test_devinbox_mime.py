from __future__ import annotations

from email import encoders
from email.charset import Charset
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from devinbox.mime import parse_email


def test_multipart_prefers_plain_text_and_decodes_headers() -> None:
    mail = EmailMessage()
    mail["From"] = "Verify <no-reply@example.com>"
    mail["To"] = "ada@example.com"
    mail["Subject"] = "Votre code ✓"
    mail.set_content("Your verification code is 123456. Ünïcode")
    mail.add_alternative("<p>HTML version</p>", subtype="html")

    [message] = parse_email(mail.as_bytes(), "no-reply@example.com", ["ada@example.com"])

    assert message.subject == "Votre code ✓"
    assert message.sender == "Verify <no-reply@example.com>"
    assert message.body.strip() == "Your verification code is 123456. Ünïcode"


def test_base64_and_quoted_printable_bodies_are_decoded() -> None:
    text = "héllo wörld = a long line that quoted-printable must wrap " * 3
    for encoding in ("base64", "quoted-printable"):
        outer = MIMEMultipart("alternative")
        outer["Subject"] = "=?utf-8?q?caf=C3=A9?="
        part = MIMEText("", "plain", "utf-8")
        part.set_payload(text, charset=Charset("utf-8"))
        del part["Content-Transfer-Encoding"]
        part.set_payload(text.encode("utf-8"))
        (encoders.encode_base64 if encoding == "base64" else encoders.encode_quopri)(part)
        outer.attach(part)
        raw = outer.as_bytes()
        assert text.encode("utf-8") not in raw  # really transfer-encoded on the wire

        [message] = parse_email(raw, None, ["bob@example.com"])
        assert message.body == text, encoding
        assert message.subject == "café"


def test_html_only_mail_keeps_its_html_and_one_message_per_recipient() -> None:
    mail = EmailMessage()
    mail["Subject"] = "html"
    mail.set_content("<b>bold</b>", subtype="html")

    messages = parse_email(mail.as_bytes(), "env@example.com", ["a@example.com", "b@example.com"])

    assert [m.to for m in messages] == ["a@example.com", "b@example.com"]
    assert all(m.body.strip() == "<b>bold</b>" for m in messages)
    assert messages[0].sender == "env@example.com"  # no From header: the envelope sender


def test_the_message_id_is_the_delivery_key() -> None:
    raw = (b"From: a@example.test\r\nTo: b@example.test\r\nSubject: s\r\n"
           b"Message-ID: <VE1.1.0@verify-dispatcher>\r\n\r\ncode is 123456\r\n")
    [message] = parse_email(raw, "a@example.test", ["b@example.test"])
    assert message.delivery_key == "<VE1.1.0@verify-dispatcher>"
