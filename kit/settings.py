"""The settings layer of the new side (services, dispatcher, gateway), on pydantic-settings.

Each setting is one typed field: its default, its bounds and (`env_var(...)`, its validation_alias)
the one environment variable it is read from. `from_env()` reads them, strictly: a malformed or
out-of-range value raises SettingsError naming the variable, never a silent fallback. Keyword
construction (`Settings(dest_limit=2)`) never reads the environment: tests say what they mean.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Count = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(gt=0, lt=86400)]  # a timeout, interval or backoff: under a day


def env_var(name: str, **constraints: Any) -> Any:
    """The environment variable a field is read from, for its Annotated[...]: `env_var("X")`."""
    return Field(validation_alias=name, **constraints)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and what to set."""


class EnvironmentSource(PydanticBaseSettingsSource):
    """The variables of `environ` that fields name (their validation_alias); blank means unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = field.validation_alias
        if not isinstance(name, str):  # not read from the environment (e.g. a section)
            return None, field_name, False
        raw = self.environ.get(name, "")
        return (raw if raw.strip() else None), name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, name, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[name] = value
        return found


class EnvSettings(BaseSettings):
    """Base of every settings class of the new side: frozen, strict, built by `from_env()`.

    A field whose type is itself an EnvSettings (a section, like the dispatcher's `smtp`) is
    read from the same environment.
    """

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only keywords: the environment is read by from_env(), never by a bare constructor.
        return (init_settings,)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(describe(error)) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> Self:
        """Read the environment (or `environ`); `given` supplies what it does not hold."""
        env = os.environ if environ is None else environ
        sections = {
            name: field.annotation.from_env(env)
            for name, field in cls.model_fields.items()
            if isinstance(field.annotation, type) and issubclass(field.annotation, EnvSettings)
        }
        return cls(**sections, **EnvironmentSource(cls, env)(), **given)


def describe(error: ValidationError) -> str:
    """One line per problem, each naming the variable, the value given and what it must be."""
    problems = []
    for detail in error.errors(include_url=False):
        if detail["type"] == "default_factory_not_called":  # follows from another problem
            continue
        context = detail.get("ctx", {})
        message = str(context["error"]) if "error" in context else detail["msg"]
        if detail["loc"]:  # a model-level rule (no location) carries its own names
            name = ".".join(str(part) for part in detail["loc"])
            message = f"{name}={detail['input']!r}: {message}"
        problems.append(message)
    return "; ".join(problems)


def parse_networks(raw: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (a bare address means a /32 or /128)."""
    networks: list[IPNetwork] = []
    for part in raw.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not a CIDR (e.g. 10.0.0.0/8,::1/128)") from None
    return tuple(networks)


def _networks_from_text(raw: object) -> object:
    return parse_networks(raw) if isinstance(raw, str) else raw


# TRUSTED_PROXIES: comma-separated text from the environment, or a tuple given by keyword.
Networks = Annotated[tuple[IPNetwork, ...], BeforeValidator(_networks_from_text)]
