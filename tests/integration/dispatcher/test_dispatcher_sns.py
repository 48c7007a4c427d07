"""SMS_BACKEND=sns end to end through the dispatcher. AWS is the one true external service, so it
alone is faked: moto's mock_aws answers the SNS API in-process; Redis and the loop are real."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import redis
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from tests.integration.dispatcher.conftest import RunDispatcher
from tests.integration.dispatcher.support import (
    dispatcher_settings,
    eventually,
    outbox_is_empty,
    write_job,
)
from tests.support.devinbox import RunningInbox

REGION = "eu-central-1"


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


async def test_sms_goes_through_sns_and_email_still_through_smtp(
    fake_aws: None, redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore would log the SMS text at DEBUG if allowed
    sms = write_job(redis_client, "sms", "+4915123456789")
    email = write_job(redis_client, "email", "grace@example.com")
    settings = dispatcher_settings(redis_url, clean_inbox, SMS_BACKEND="sns", AWS_REGION=REGION)

    async with run_dispatcher(settings):
        await eventually(lambda: outbox_is_empty(redis_client))

    published = list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())
    assert published == [
        ("+4915123456789", f"Your verification code is {sms.code}. It expires in 10 minutes.")
    ]
    assert clean_inbox.messages(sms.to) == []  # not the dev inbox
    [mail] = clean_inbox.messages(email.to)
    assert email.code in mail["body"]
    assert sms.code not in caplog.text and email.code not in caplog.text
