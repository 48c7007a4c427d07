"""SMS through Amazon SNS (`publish` straight to a phone number, transactional type).

boto3 is blocking: publishes run on this channel's own threads, as many at once as the
dispatcher has deliveries in flight, over as many kept-alive HTTPS connections."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.dispatcher.channels.base import DeliveryError, OutgoingMessage

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# OTPs are transactional: SNS then routes for reliability instead of cost.
SMS_ATTRIBUTES = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}


DEFAULT_CONCURRENCY = 10  # botocore's own connection pool size


def sns_client(region: str, timeout_seconds: float = 10.0,
               concurrency: int = DEFAULT_CONCURRENCY) -> SNSClient:
    # botocore logs every request's parameters (the SMS text, so the code) at DEBUG: never let it.
    for name in ("botocore", "boto3"):
        logging.getLogger(name).setLevel(logging.INFO)
    config = Config(connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                    retries={"max_attempts": 2, "mode": "standard"},
                    max_pool_connections=concurrency)
    return boto3.client("sns", region_name=region, config=config)


class SnsSmsChannel:
    name = "sms"

    def __init__(self, client: SNSClient, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self.client = client  # thread-safe: shared by the threads
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="sns")

    async def send(self, message: OutgoingMessage) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, self._publish, message)

    async def close(self) -> None:
        await asyncio.to_thread(self._threads.shutdown)

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
