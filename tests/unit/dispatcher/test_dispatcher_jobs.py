from __future__ import annotations

import re

import pytest

from services.dispatcher.channels.base import DeliveryError
from services.dispatcher.delivery import safe_error
from services.dispatcher.jobs import DeliveryJob, MalformedJob, dead_letter_fields
from services.dispatcher.message import expiry_minutes, message_text

FIELDS = {
    "verification_id": "VE0123456789abcdef0123456789abcdef", "channel": "sms",
    "to": "+14155550100", "locale": "", "code_sealed": "sealed", "send_attempt": "2",
    "enqueued_at": "1790000000000",
}


def test_message_text_is_the_briefs_and_the_code_is_extractable() -> None:
    text = message_text("042917", expiry_minutes(600))
    assert text == "Your verification code is 042917. It expires in 10 minutes."
    match = re.search(r"code is (\d{4,10})", text)
    assert match is not None and match.group(1) == "042917"


@pytest.mark.parametrize(("ttl", "minutes"), [(600, 10), (599, 9), (60, 1), (30, 1), (3600, 60)])
def test_expiry_minutes_never_overstate(ttl: int, minutes: int) -> None:
    assert expiry_minutes(ttl) == minutes


def test_job_from_contract_fields() -> None:
    job = DeliveryJob.from_fields(FIELDS, 2)
    assert (job.channel, job.to, job.code_sealed) == ("sms", "+14155550100", "sealed")
    assert job.record_key == "vfy:ver:VE0123456789abcdef0123456789abcdef"


def test_a_version_3_job_names_its_record_by_owner_and_id() -> None:
    job = DeliveryJob.from_fields({**FIELDS, "client": "acme"}, 3)
    # dest_key 0123456789abcdef: bucket 0x01 % 64 = 1
    assert job.record_key == "vfy3:{b1}:d:acme:0123456789abcdef"
    assert job.rand == "0123456789abcdef"


@pytest.mark.parametrize("broken", [{"code_sealed": ""}, {"channel": "fax"}, {"to": ""}])
def test_malformed_jobs_are_refused(broken: dict[str, str]) -> None:
    with pytest.raises(MalformedJob):
        DeliveryJob.from_fields({**FIELDS, **broken}, 2)


@pytest.mark.parametrize("broken", [
    {"client": ""}, {"client": "acme:other"}, {"verification_id": "VE" + "A" * 32},
    {"verification_id": "VE0123"},
])
def test_malformed_version_3_jobs_are_refused(broken: dict[str, str]) -> None:
    with pytest.raises(MalformedJob):
        DeliveryJob.from_fields({**FIELDS, "client": "acme", **broken}, 3)


def test_dead_letter_drops_the_sealed_code_and_adds_why() -> None:
    dead = dead_letter_fields(FIELDS, "SMTP server refused the mail (550)", 5)
    assert "code_sealed" not in dead
    assert dead["error"] == "SMTP server refused the mail (550)" and dead["attempts"] == "5"
    assert {k: v for k, v in dead.items() if k not in ("error", "attempts")} == {
        k: v for k, v in FIELDS.items() if k != "code_sealed"
    }


def test_safe_error_redacts_an_echoed_code() -> None:
    assert safe_error(DeliveryError("bounced: code 123456 rejected"), "123456") == (
        "bounced: code [redacted] rejected"
    )
    assert safe_error(ValueError("x" * 1000)).startswith("ValueError: xxx")
    assert len(safe_error(ValueError("x" * 1000))) == 300
