"""gunicorn settings for the monolith: `--config python:monolith.gunicorn_conf`.

Metrics are aggregated across workers through prometheus_client's multiprocess mode, which must be
configured before prometheus_client is first imported: hence the environment is set right here,
and prometheus_client is imported only inside the hooks.

Threads: each worker serves MONOLITH_THREADS requests at once (gthread), so a client that sends its
body slowly holds one thread, not the whole worker (a sync worker would wait for it up to the 30 s
timeout while every other request queued). Everything a request touches is thread-safe: redis-py's
client draws a connection per command from its pool, the keyring is replaced whole and reloaded by
one thread at a time, request state lives in Flask's context and context variables, and
prometheus_client's multiprocess values are locked.

Logs: gunicorn's error log and the app's loggers, as the JSON lines of monolith.logs on stderr.
Through a logger class rather than `logconfig_dict`: any log config switches gunicorn's access-log
path on (about 14 µs of formatting work per request even with no handler to write it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from gunicorn.glogging import Logger

from monolith import logs

OWN_METRICS_DIR: str | None = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    OWN_METRICS_DIR = tempfile.mkdtemp(prefix="monolith-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = OWN_METRICS_DIR

DEFAULT_THREADS = 8


def threads_from_env(environ: Mapping[str, str]) -> int:
    """MONOLITH_THREADS: requests served at once by each worker (1 to 256, default 8)."""
    raw = environ.get("MONOLITH_THREADS") or str(DEFAULT_THREADS)
    if not raw.isdigit() or not 1 <= int(raw) <= 256:
        raise ValueError(f"MONOLITH_THREADS={raw!r}: must be a whole number from 1 to 256")
    return int(raw)


workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
worker_class = "gthread"
threads = threads_from_env(os.environ)
timeout = 30  # a request never needs more: Redis calls time out after 2 s
graceful_timeout = 10
# Longer than any client's idle timeout (the ALB's 60 s, the local gateway's pool): the client
# closes an idle kept-alive connection first, so it never sends on one gunicorn just closed.
keepalive = 75
accesslog = None  # off: bodies are never logged, and per-request lines are in /metrics
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


class JsonLogger(Logger):  # type: ignore[misc]  # gunicorn has no type hints
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)  # also on a reload (SIGHUP): it re-adds its own handler, dropped below
        logs.configure(cfg.loglevel)
        self.error_log.handlers = []
        self.error_log.propagate = True  # to the root's JSON handler, at gunicorn's own level


logger_class = JsonLogger
# one fixed control socket path per user would clash between several gunicorns on one host
control_socket_disable = True


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    if OWN_METRICS_DIR is not None:
        shutil.rmtree(OWN_METRICS_DIR, ignore_errors=True)
