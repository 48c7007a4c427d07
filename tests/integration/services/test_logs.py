"""Codes never appear in logs or responses (10-digit codes: no accidental matches)."""

from __future__ import annotations

import logging

import pytest
import redis

from tests.integration.services.support import PHONE, make_settings, running_api, wrong_code


async def test_codes_not_in_logs_or_responses(
    redis_url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str], json_logs: None,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(redis_url, code_length=10, resend_cooldown_seconds=0)
    texts: list[str] = []
    async with running_api(redis_client, settings) as api:
        created = await api.start()
        vid = created.json()["id"]
        code = api.code_for(vid)
        assert len(code) == 10
        texts += [created.text, (await api.start()).text]
        texts.append((await api.check(wrong_code(code), verification_id=vid)).text)
        texts.append((await api.send.get(f"/api/verifications/{vid}")).text)
        texts.append((await api.check(code, to=PHONE)).text)
        texts.append((await api.send.get("/metrics")).text)
    assert any("outcome=approved" in r.getMessage() for r in caplog.records)  # logging happened
    written = capfd.readouterr().err  # the JSON lines, as written
    assert "outcome=approved" in written
    for text in [*texts, caplog.text, written]:
        assert code not in text
