"""`python -m services.dispatcher` logs JSON lines (time, level, logger, message), no codes."""

from __future__ import annotations

import time

import redis

from tests.integration.dispatcher.support import dispatcher_env, start_dispatcher, write_job
from tests.support.devinbox import RunningInbox
from tests.support.json_logs import json_log_lines


def test_the_dispatcher_process_logs_json_lines(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox
) -> None:
    job = write_job(redis_client, "sms", "+14155550100")
    process = start_dispatcher(dispatcher_env(redis_url, clean_inbox))
    try:
        deadline = time.monotonic() + 20
        while not clean_inbox.messages(job.to):
            assert process.alive and time.monotonic() < deadline, "nothing delivered"
            time.sleep(0.05)
    finally:
        code = process.stop(timeout=15)
    assert code == 0
    output = process.tail(10_000)
    entries = json_log_lines(output)
    messages = [e["message"] for e in entries]
    assert messages[0].startswith("delivering SMS via the dev inbox")
    assert f"job {job.entry_id} for {job.verification_id} delivered by sms (attempt 1)" in messages
    assert messages[-1].endswith("stopped")
    assert {e["logger"] for e in entries} >= {"services.dispatcher.app",
                                              "services.dispatcher.delivery"}
    assert job.code not in output
