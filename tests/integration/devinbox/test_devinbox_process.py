"""The dev inbox as users run it: `python -m devinbox` on free ports, real SMTP and HTTP."""

from __future__ import annotations

import signal
import smtplib
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from tests.support.devinbox import RunningInbox, running_devinbox


@pytest.fixture(scope="module")
def inbox() -> Iterator[RunningInbox]:
    with running_devinbox() as running:
        yield running


@pytest.fixture(autouse=True)
def empty_inbox(inbox: RunningInbox) -> None:
    inbox.clear()


def send_mail(inbox: RunningInbox, to: str, subject: str, body: str, login: bool = False) -> None:
    mail = EmailMessage()
    mail["From"] = "Verify <no-reply@example.com>"
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(body)
    mail.add_alternative(f"<p>{body}</p>", subtype="html")
    with smtplib.SMTP(inbox.smtp_host, inbox.smtp_port, timeout=5) as smtp:
        if login:
            smtp.login("ses-user", "ses-password")
        smtp.send_message(mail)


def test_smtp_mail_shows_up_filtered_case_insensitively(inbox: RunningInbox) -> None:
    send_mail(inbox, "Ada@Example.com", "Your verification code", "Your code is 654321.")
    send_mail(inbox, "bob@example.com", "Other", "Not for Ada.", login=True)

    [message] = inbox.messages("ada@example.com")
    assert message["channel"] == "email"
    assert message["subject"] == "Your verification code"
    assert message["from"] == "Verify <no-reply@example.com>"
    assert message["body"].strip() == "Your code is 654321."
    assert [m["to"] for m in inbox.messages("bob@example.com")] == ["bob@example.com"]


def test_sms_newest_first_and_delete(inbox: RunningInbox) -> None:
    for body in ("one", "two", "three"):
        status, _ = inbox.request("POST", "/sms", {"to": "+14155550100", "body": body})
        assert status == 201
    inbox.request("POST", "/sms", {"to": "+14155550199", "body": "elsewhere"})

    assert [m["body"] for m in inbox.messages("+14155550100")] == ["three", "two", "one"]
    assert len(inbox.messages()) == 4

    inbox.clear()
    assert inbox.messages() == []


def test_bad_sms_is_rejected_with_problem_json(inbox: RunningInbox) -> None:
    status, problem = inbox.request("POST", "/sms", {"to": "+14155550100"})
    assert status == 400
    assert problem["code"] == "invalid_parameter" and problem["field"] == "body"
    assert inbox.messages() == []


def test_page_escapes_script(inbox: RunningInbox) -> None:
    send_mail(inbox, "eve@example.com", "<script>alert('s')</script>", "<script>x()</script>")
    with urllib.request.urlopen(inbox.url + "/", timeout=5) as response:  # noqa: S310
        html = response.read().decode()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;s&#x27;)&lt;/script&gt;" in html


def test_capacity_bound_and_clean_sigterm() -> None:
    with running_devinbox(max_messages=3) as small:
        for index in range(5):
            small.request("POST", "/sms", {"to": "+14155550100", "body": f"m{index}"})
        assert [m["body"] for m in small.messages()] == ["m4", "m3", "m2"]
        process = small.process
        process.signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        output = process.tail(50)
    assert f"SMTP on 127.0.0.1:{small.smtp_port}" in output
    assert f"http://127.0.0.1:{small.http_port}/" in output
    assert '"logger": "devinbox", "message": "stopped"' in output
