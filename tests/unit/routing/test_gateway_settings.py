"""The gateway's settings from the environment: defaults, overrides, strict refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.settings import SettingsError
from routing.gateway.alb_settings import AlbSettings
from routing.gateway.settings import GatewaySettings

TABLE = Path("routing/routes.toml")


def test_defaults_and_the_table_from_the_command_line() -> None:
    settings = GatewaySettings.from_env({}, table_path=TABLE)
    assert settings == GatewaySettings(table_path=TABLE)
    assert (settings.health_interval_s, settings.pool_size, settings.served_by_header,
            settings.target_urls) == (5.0, 100, True, {})
    assert (settings.history_interval_s, settings.history_span_s) == (5.0, 600.0)


def test_values_and_target_urls_from_the_environment() -> None:
    settings = GatewaySettings.from_env({
        "ROUTING_HEALTH_INTERVAL_S": "0.2", "ROUTING_UNHEALTHY_THRESHOLD": "3",
        "ROUTING_SERVED_BY_HEADER": "0", "ROUTING_TARGET_SEND_URL": "http://127.0.0.1:9002",
        "ROUTING_HISTORY_INTERVAL_S": "1", "ROUTING_HISTORY_SPAN_S": "120",
    }, table_path=TABLE)
    assert (settings.history_interval_s, settings.history_span_s) == (1.0, 120.0)
    assert (settings.health_interval_s, settings.unhealthy_threshold) == (0.2, 3)
    assert settings.served_by_header is False
    assert settings.target_urls == {"SEND": "http://127.0.0.1:9002"}


@pytest.mark.parametrize(
    ("name", "value"),
    [("ROUTING_RELOAD_INTERVAL_S", "soon"), ("ROUTING_HEALTH_TIMEOUT_S", "0"),
     ("ROUTING_POOL_SIZE", "2.5"), ("ROUTING_HEALTHY_THRESHOLD", "0"),
     ("ROUTING_SERVED_BY_HEADER", "maybe"), ("ROUTING_HISTORY_INTERVAL_S", "0")],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{name}='{value}'"):
        GatewaySettings.from_env({name: value}, table_path=TABLE)


def test_alb_attributes_default_to_an_albs() -> None:
    assert AlbSettings.from_env({}) == AlbSettings(xff_mode="append", idle_timeout_s=60.0,
                                                   connect_timeout_s=10.0, error_body="html")


@pytest.mark.parametrize(
    ("name", "value"),
    [("ROUTING_XFF_MODE", "prepend"), ("ROUTING_IDLE_TIMEOUT_S", "-1"),
     ("ROUTING_CONNECT_TIMEOUT_S", "0"), ("ROUTING_ERROR_BODY", "json")],
)
def test_bad_alb_attributes_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{name}='{value}'"):
        AlbSettings.from_env({name: value})
