"""Build the channel adapters the settings ask for."""

from __future__ import annotations

from services.dispatcher.channels.base import Channel
from services.dispatcher.channels.devinbox_sms import DevInboxSmsChannel
from services.dispatcher.channels.smtp_email import SmtpEmailChannel
from services.dispatcher.settings import DispatcherSettings


def build_channels(settings: DispatcherSettings) -> dict[str, Channel]:
    sms: Channel
    if settings.sms_backend == "sns":
        # boto3 takes about a second to import: only pay for it when SNS is used.
        from services.dispatcher.channels.sns_sms import SnsSmsChannel, sns_client

        concurrency = settings.max_in_flight
        sms = SnsSmsChannel(sns_client(settings.aws_region, concurrency=concurrency), concurrency)
    else:
        sms = DevInboxSmsChannel(settings.devinbox_url)
    return {"email": SmtpEmailChannel(settings.smtp), "sms": sms}
