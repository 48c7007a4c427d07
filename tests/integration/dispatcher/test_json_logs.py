"""`python -m services.dispatcher` logs JSON lines (time, level, logger, message), no codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import redis

from devinbox.testing import RunningInbox
from tests.integration.dispatcher.support import dispatcher_env, write_job
from tests.support.json_logs import json_log_lines


def test_the_dispatcher_process_logs_json_lines(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox
) -> None:
    job = write_job(redis_client, "sms", "+14155550100")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.dispatcher"],
        env={**os.environ, **dispatcher_env(redis_url, clean_inbox), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not clean_inbox.messages(job.to):
            assert process.poll() is None and time.monotonic() < deadline, "nothing delivered"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    entries = json_log_lines(stdout + stderr)
    messages = [e["message"] for e in entries]
    assert messages[0].startswith("delivering SMS via the dev inbox")
    assert f"job {job.entry_id} for {job.verification_id} delivered by sms (attempt 1)" in messages
    assert messages[-1].endswith("stopped")
    assert {e["logger"] for e in entries} >= {"services.dispatcher.app",
                                              "services.dispatcher.delivery"}
    assert job.code not in stdout + stderr
