"""Request-scoped access to what the lifespan built.

`async def` on purpose: FastAPI runs a plain `def` dependency in a worker thread, and that hop
(queue, lock, thread wake-up, GIL hand-over) cost more than the rest of the request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.verification.service import VerificationService
from services.verification.settings import Settings


async def get_service(request: Request) -> VerificationService:
    service: VerificationService = request.app.state.service
    return service


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Service = Annotated[VerificationService, Depends(get_service)]
AppSettings = Annotated[Settings, Depends(get_settings)]
