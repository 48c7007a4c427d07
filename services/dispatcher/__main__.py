"""`python -m services.dispatcher`: deliver the outbox until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import sys

from services.dispatcher.app import serve
from services.dispatcher.settings import DispatcherSettings
from services.settings_base import SettingsError


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = DispatcherSettings.from_env()
    except SettingsError as exc:
        print(f"dispatcher: {exc}. Fix the environment and start again.", file=sys.stderr)
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
