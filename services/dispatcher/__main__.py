"""`python -m services.dispatcher`: deliver the outbox until SIGTERM/SIGINT."""

from __future__ import annotations

import os
import sys

from kit import event_loop, logs
from kit.settings import SettingsError
from services.dispatcher.app import serve
from services.dispatcher.settings import DispatcherSettings


def main() -> int:
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        settings = DispatcherSettings.from_env()
    except SettingsError as exc:
        print(f"dispatcher: {exc}. Fix the environment and start again.", file=sys.stderr)
        return 2
    event_loop.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
