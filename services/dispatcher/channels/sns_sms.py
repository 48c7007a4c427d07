"""SMS through Amazon SNS (`publish` straight to a phone number, transactional type)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.dispatcher.channels.base import DeliveryError, OutgoingMessage

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# OTPs are transactional: SNS then routes for reliability instead of cost.
SMS_ATTRIBUTES = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}


def sns_client(region: str, timeout_seconds: float = 10.0) -> SNSClient:
    # botocore logs every request's parameters (the SMS text, so the code) at DEBUG: never let it.
    for name in ("botocore", "boto3"):
        logging.getLogger(name).setLevel(logging.INFO)
    config = Config(connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                    retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("sns", region_name=region, config=config)


class SnsSmsChannel:
    name = "sms"

    def __init__(self, client: SNSClient) -> None:
        self.client = client

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.to_thread(self._publish, message)

    async def close(self) -> None:
        return None

    def _publish(self, message: OutgoingMessage) -> None:
        try:
            self.client.publish(
                PhoneNumber=message.to,
                Message=message.body,
                MessageAttributes=SMS_ATTRIBUTES,  # type: ignore[arg-type]
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise DeliveryError(f"SNS refused the SMS ({code})") from None
        except BotoCoreError as exc:
            raise DeliveryError(f"SNS unreachable ({type(exc).__name__})") from None
