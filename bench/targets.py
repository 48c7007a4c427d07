"""How each measured target is started: the kit's documented process commands, on free ports."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs, proxies
from bench.procs import Server
from devtools.redis_server import free_port

PYTHON = sys.executable
BIN = Path(sys.executable).parent
BENCH_PEPPER = "bench-pepper-not-a-secret"
# Generous limits so the workloads measure the work, not the refusals: every wrk send comes from
# its own X-Forwarded-For (127.0.0.1 is the trusted proxy) to its own destination, and checks may
# be repeated on one verification. Codes live an hour so loaded records outlast the whole run.
PROFILE = {
    "APP_ENV": "development",
    "CODE_PEPPER": BENCH_PEPPER,
    "TRUSTED_PROXIES": "127.0.0.1/32",
    "VERIFY_IP_LIMIT": "1000000",
    "VERIFY_DEST_LIMIT": "1000",
    "VERIFY_MAX_CHECKS": "1000000",
    "VERIFY_CODE_TTL_SECONDS": "3600",
    "VERIFY_RETENTION_SECONDS": "3600",
}


@dataclass
class Deployment:
    """What to drive for each workload, the processes whose CPU time counts, the ones to stop."""

    name: str
    url: str
    measured: list[Server]
    owned: list[Server]
    note: str = ""
    urls: dict[str, str] = field(default_factory=dict)  # per-workload URL, when not `url`

    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.measured]

    def url_for(self, workload: str) -> str:
        return self.urls.get(workload, self.url)


@dataclass(frozen=True)
class Launcher:
    redis_url: str
    log_dir: Path
    cpus: str | None  # the server core ("0"), or None to leave processes unpinned

    def env(self) -> dict[str, str]:
        return {**PROFILE, "REDIS_URL": self.redis_url}

    def _uvicorn(self, name: str, factory: str, cpus: str | None) -> Server:
        port = free_port()
        argv = [PYTHON, "-m", "uvicorn", "--factory", factory,
                "--host", "127.0.0.1", "--port", str(port)]
        return procs.start(name, argv, port=port, env=self.env(), log_dir=self.log_dir,
                           cpus=cpus)

    def monolith(self, workers: int, pinned: bool = True) -> Server:
        port = free_port()
        argv = [str(BIN / "gunicorn"), "--config", "python:monolith.gunicorn_conf",
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "monolith:create_app()"]
        return procs.start(f"monolith-{workers}w", argv, port=port, env=self.env(),
                           log_dir=self.log_dir, cpus=self.cpus if pinned else None)

    def send_service(self) -> Server:
        return self._uvicorn("send", "services.send.app:create_app", self.cpus)

    def verify_service(self) -> Server:
        return self._uvicorn("verify", "services.verify.app:create_app", self.cpus)

    def reference(self, name: str, factory: str) -> Server:
        return self._uvicorn(name, f"bench.reference_apps:{factory}", self.cpus)

    def gateway(self, backends: proxies.Backends) -> Server:
        port = free_port()
        table = Path(tempfile.mkdtemp(prefix="bench-gw-", dir=self.log_dir)) / "routes.toml"
        table.write_text(proxies.gateway_table(backends))
        argv = [PYTHON, "-m", "routing.gateway", "--table", str(table),
                "--host", "127.0.0.1", "--port", str(port)]
        return procs.start("gateway", argv, port=port, env=self.env(), log_dir=self.log_dir,
                           cpus=self.cpus)

    def nginx(self, nginx_bin: Path, backends: proxies.Backends) -> Server:
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix="bench-nginx-", dir=self.log_dir))
        conf = workdir / "nginx.conf"
        conf.write_text(proxies.nginx_conf(backends, port=port, workdir=workdir))
        argv = [str(nginx_bin), "-p", str(workdir), "-e", str(workdir / "error.log"),
                "-c", str(conf)]
        return procs.start("nginx", argv, port=port, env={}, log_dir=self.log_dir,
                           cpus=self.cpus)
