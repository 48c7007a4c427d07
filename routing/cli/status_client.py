"""Read the gateway's /__gateway/status.json (the CLI's view of live traffic)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def fetch_status(gateway: str, timeout: float = 5.0) -> dict[str, Any]:
    url = gateway.rstrip("/") + "/__gateway/status.json"
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"--live/--gateway wants an http(s) URL, not {gateway!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 -- checked
            data: dict[str, Any] = json.load(response)
    except OSError as error:
        raise OSError(f"cannot read {url}: {error}; is the gateway running?") from error
    return data


def rule_counts(status: dict[str, Any], rule: str) -> dict[str, tuple[int, int]]:
    """{target group: (requests_total, errors_total)} for one rule."""
    return {t["target_group"]: (int(t["requests_total"]), int(t["errors_total"]))
            for t in status["traffic"] if t["rule"] == rule}
