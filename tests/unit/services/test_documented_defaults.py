"""Both sides' settings defaults are the ones docs/api.md "Settings" publishes (and the contract
suite reads): the services' from their settings class, the monolith's from its own."""

from __future__ import annotations

import pytest

from contract_tests.policy import documented_defaults
from monolith import settings as monolith_settings
from services.verification.settings import Settings

DOCUMENTED = documented_defaults()
# Both sides name their fields alike; the services' class says which variable each one reads.
FIELD_OF = {str(field.validation_alias): name for name, field in Settings.model_fields.items()}


def as_documented(value: object) -> str:
    """A default written the way the table writes it (a tuple of networks comma-separated)."""
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value)
    if isinstance(value, bool):  # a flag: 1 set, 0 unset
        return str(int(value))
    return str(value)


def test_the_services_read_exactly_the_documented_variables() -> None:
    assert sorted(FIELD_OF) == sorted(DOCUMENTED)


@pytest.mark.parametrize("variable", sorted(DOCUMENTED))
def test_services_default_is_documented(variable: str) -> None:
    default = getattr(Settings(), FIELD_OF[variable])
    assert as_documented(default) == DOCUMENTED[variable]


@pytest.mark.parametrize("variable", sorted(DOCUMENTED))
def test_monolith_default_is_documented(variable: str) -> None:
    default = getattr(monolith_settings.Settings.from_env({}), FIELD_OF[variable])
    assert as_documented(default) == DOCUMENTED[variable]
