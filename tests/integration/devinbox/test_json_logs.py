"""`python -m devinbox` logs JSON lines (time, level, logger, message), no aiosmtpd chatter."""

from __future__ import annotations

import signal
import smtplib
from email.message import EmailMessage

from tests.support.devinbox import running_devinbox
from tests.support.json_logs import json_log_lines


def test_the_dev_inbox_process_logs_json_lines() -> None:
    with running_devinbox() as inbox:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "a@example.com", "b@example.com", "Hi"
        mail.set_content("Your code is 123456.")
        with smtplib.SMTP(inbox.smtp_host, inbox.smtp_port, timeout=5) as smtp:
            smtp.send_message(mail)
        assert inbox.wait_for_messages("b@example.com")
        inbox.process.signal(signal.SIGTERM)
        assert inbox.process.wait(timeout=10) == 0
        output = inbox.process.tail(100)  # stdout and stderr
    entries = json_log_lines(output)
    assert [(e["level"], e["logger"]) for e in entries] == [("INFO", "devinbox")] * 2
    assert entries[0]["message"].startswith(f"SMTP on 127.0.0.1:{inbox.smtp_port}, HTTP on ")
    assert entries[1]["message"] == "stopped"
