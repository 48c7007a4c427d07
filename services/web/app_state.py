"""What the lifespan built, looked up from the request (plain functions: no dependency injection
per request, see raw_route.py)."""

from __future__ import annotations

from starlette.requests import Request

from services.verification.service import VerificationService
from services.verification.settings import Settings


def service_of(request: Request) -> VerificationService:
    service: VerificationService = request.app.state.service
    return service


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_of(request: Request) -> str:
    """The client of the request's API key (auth.py accepted it before the endpoint runs)."""
    client: str = request.state.client
    return client
