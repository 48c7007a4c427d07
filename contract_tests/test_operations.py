"""/healthz, /readyz and /metrics on every process the suite talks to."""

from __future__ import annotations

from contract_tests.client import Api
from contract_tests.problems import assert_json


def test_health_and_readiness_on_every_base(api: Api) -> None:
    for base in api.urls.bases():
        assert assert_json(api.request("GET", f"{base}/healthz"), 200) == {"status": "ok"}
        assert assert_json(api.request("GET", f"{base}/readyz"), 200) == {"status": "ready"}


def test_metrics_are_prometheus_text(api: Api) -> None:
    for base in api.urls.bases():
        response = api.request("GET", f"{base}/metrics")
        assert response.status_code == 200, base
        assert response.headers["content-type"].startswith("text/plain"), base
        assert "# TYPE" in response.text, base
