"""How each measured target is started: the kit's documented process commands, on free ports."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs, proxies
from bench.procs import Server
from devtools.components import Component, components, free_ports
from devtools.redis_server import free_port

PYTHON = sys.executable
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
    """Starts components with the argv and environment devtools/components.py declares for them
    (one place for the process commands), on fresh free ports, plus the bench profile."""

    redis_url: str
    log_dir: Path
    cpus: str | None  # the server core ("0"), or None to leave processes unpinned

    def env(self) -> dict[str, str]:
        return {**PROFILE, "REDIS_URL": self.redis_url}

    def component(self, name: str, workers: int = 1) -> Component:
        declared = components(free_ports(), external_redis=self.redis_url, workers=workers,
                              gateway=True, profile=self.env())
        return next(c for c in declared if c.name == name)

    def _start(self, label: str, component: Component, *, cpus: str | None,
               argv: tuple[str, ...] | None = None, env: dict[str, str] | None = None,
               health_path: str = "/readyz", port: int | None = None) -> Server:
        return procs.start(label, list(argv or component.argv), port=port or component.port or 0,
                           env={**component.env, **(env or {})}, log_dir=self.log_dir,
                           cpus=cpus, health_path=health_path)

    def monolith(self, workers: int, pinned: bool = True) -> Server:
        return self._start(f"monolith-{workers}w", self.component("monolith", workers),
                           cpus=self.cpus if pinned else None)

    def send_service(self) -> Server:
        return self._start("send", self.component("send"), cpus=self.cpus)

    def verify_service(self) -> Server:
        return self._start("verify", self.component("verify"), cpus=self.cpus)

    def devinbox(self) -> Server:
        component = self.component("devinbox")
        argv = (*component.argv, "--max-messages", "100000")
        return self._start("devinbox", component, cpus=self.cpus, argv=argv,
                           health_path="/healthz")

    def dispatcher(self, inbox: Server, smtp_port: int) -> Server:
        metrics_port = free_port()  # the dispatcher has no HTTP API; its metrics say it is up
        return self._start("dispatcher", self.component("dispatcher"), cpus=self.cpus,
                           env={"DEVINBOX_URL": inbox.base_url, "SMTP_PORT": str(smtp_port),
                                "DISPATCH_METRICS_PORT": str(metrics_port)},
                           health_path="/metrics", port=metrics_port)

    def reference(self, name: str, factory: str) -> Server:
        port = free_port()
        argv = [PYTHON, "-m", "uvicorn", "--factory", f"bench.reference_apps:{factory}",
                "--host", "127.0.0.1", "--port", str(port),
                "--no-proxy-headers", "--no-access-log"]  # as the services are started
        return procs.start(name, argv, port=port, env=self.env(), log_dir=self.log_dir,
                           cpus=self.cpus, health_path="/healthz")

    def gateway(self, backends: proxies.Backends) -> Server:
        declared = self.component("gateway")
        # ROUTING_TARGET_*_URL would move the table's groups to the stack's ports: not wanted here.
        component = dataclasses.replace(declared, env={
            k: v for k, v in declared.env.items() if not k.startswith("ROUTING_TARGET_")})
        table = Path(tempfile.mkdtemp(prefix="bench-gw-", dir=self.log_dir)) / "routes.toml"
        table.write_text(proxies.gateway_table(backends))
        argv = list(component.argv)
        argv[argv.index("--table") + 1] = str(table)
        return self._start("gateway", component, cpus=self.cpus, argv=tuple(argv),
                           health_path="/healthz")

    def nginx(self, nginx_bin: Path, backends: proxies.Backends) -> Server:
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix="bench-nginx-", dir=self.log_dir))
        conf = workdir / "nginx.conf"
        conf.write_text(proxies.nginx_conf(backends, port=port, workdir=workdir))
        argv = [str(nginx_bin), "-p", str(workdir), "-e", str(workdir / "error.log"),
                "-c", str(conf)]
        return procs.start("nginx", argv, port=port, env={}, log_dir=self.log_dir,
                           cpus=self.cpus, health_path="/healthz")
