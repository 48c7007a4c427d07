"""The SNS adapter against moto. AWS is the one true external service, so it alone is faked here:
moto's mock_aws serves the SNS API in-process, and the adapter calls it through real boto3."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from services.dispatcher.channels.base import DeliveryError, OutgoingMessage
from services.dispatcher.channels.sns_sms import SnsSmsChannel, sns_client

REGION = "eu-west-1"


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def sent_sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


async def test_publishes_to_the_phone_number(fake_aws: None) -> None:
    channel = SnsSmsChannel(sns_client(REGION))
    body = "Your verification code is 123456. It expires in 10 minutes."

    await channel.send(OutgoingMessage("+14155550100", "ignored for SMS", body, "1-0", "VE1.1-0"))

    assert sent_sms() == [("+14155550100", body)]


async def test_refusal_becomes_a_delivery_error_without_the_text(fake_aws: None) -> None:
    channel = SnsSmsChannel(sns_client(REGION))
    with pytest.raises(DeliveryError) as caught:
        await channel.send(OutgoingMessage("not-a-number", "", "code is 999999", "1-0", "VE1.1-0"))
    assert "InvalidParameter" in str(caught.value)
    assert "999999" not in str(caught.value)
    assert sent_sms() == []


async def test_publishes_run_side_by_side(fake_aws: None) -> None:
    """Many SMS handed over at once all arrive, each once (the channel's own threads)."""
    channel = SnsSmsChannel(sns_client(REGION, concurrency=8), concurrency=8)
    numbers = [f"+1415555{n:04d}" for n in range(24)]
    try:
        await asyncio.gather(*(
            channel.send(OutgoingMessage(to, "", f"code is {n}", f"{n}-0", f"VE{n}.{n}-0"))
            for n, to in enumerate(numbers)))
    finally:
        await channel.close()
    assert sorted(to for to, _ in sent_sms()) == sorted(numbers)
