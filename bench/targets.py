"""How each measured target is started: the kit's documented process commands, on free ports."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench import proxies
from bench.http import API_KEY
from bench.tools import pinned
from devtools import keys
from devtools.components import free_ports, local_spec, shared_env
from devtools.processes import HttpReady, Process, ProcessSpec, start_one
from devtools.redis_server import free_port
from infra.components import by_name

PYTHON = sys.executable
BENCH_PEPPER = "bench-pepper-not-a-secret"
# Generous limits so the workloads measure the work, not the refusals: every wrk send comes from
# its own X-Forwarded-For (127.0.0.1 is the trusted proxy) to its own destination, and checks may
# be repeated on one verification. Codes live an hour so loaded records outlast the whole run.
# The SMS-pumping guards are lifted (still counted, never refusing): the workloads send thousands
# of SMS a second, thousands to each number prefix, and approve almost none.
PROFILE = {
    "APP_ENV": "development",
    "CODE_PEPPER": BENCH_PEPPER,
    "TRUSTED_PROXIES": "127.0.0.1/32",
    "VERIFY_IP_LIMIT": "1000000",
    "VERIFY_DEST_LIMIT": "1000",
    "VERIFY_CLIENT_SEND_LIMIT": "1000000000",  # every wrk send comes from the bench's one client
    "VERIFY_MAX_CHECKS": "1000000",
    # The check workload's wrong codes: tens per destination and run, every one taking the full
    # path (counted, compared) rather than the failed-checks limit's early 429.
    "VERIFY_DEST_FAILED_CHECKS_PER_DAY": "1000000000",
    "VERIFY_CODE_TTL_SECONDS": "3600",
    "VERIFY_RETENTION_SECONDS": "3600",
    "VERIFY_SMS_PREFIX_LIMIT": "1000000000",
    "VERIFY_PREFIX_GUARD_MIN_SMS": "1000000000",
    "VERIFY_SMS_GLOBAL_LIMIT": "1000000000",
}


@dataclass
class Deployment:
    """What to drive for each workload, the processes whose CPU time counts, the ones to stop."""

    name: str
    url: str
    measured: list[Process]
    owned: list[Process]
    note: str = ""
    urls: dict[str, str] = field(default_factory=dict)  # per-workload URL, when not `url`
    creates_records: bool = True  # False for the reference apps: their sends return no id

    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.measured]

    def url_for(self, workload: str) -> str:
        return self.urls.get(workload, self.url)


def _below_500(status: int) -> bool:
    return status < 500


@dataclass(frozen=True)
class Launcher:
    """Starts components with the argv and environment the declaration gives them
    (infra/components.py, placed by devtools/components.py), on fresh free ports, plus the bench
    profile, through the kit's one process module (devtools/processes.py)."""

    redis_url: str
    log_dir: Path
    cpus: str | None  # the server core ("0"), or None to leave processes unpinned

    def env(self) -> dict[str, str]:
        return {**PROFILE, "REDIS_URL": self.redis_url}

    def keyring_file(self) -> Path:
        """The keyring of every process started: the bench's one key (bench/http.py)."""
        path = self.log_dir / "keyring.json"
        if not path.exists():
            keys.write_keyring(path, keys.Keyring((keys.entry_for(API_KEY, "bench"),)))
        return path

    def component(self, name: str, workers: int = 1, **fill: str) -> ProcessSpec:
        ports = free_ports()
        env = shared_env(ports, self.redis_url, self.keyring_file(), self.env())
        return local_spec(by_name(name), ports, env, workers=workers, fill=fill)

    def start(self, spec: ProcessSpec, *, cpus: str | None, health_path: str | None = None,
              label: str | None = None) -> Process:
        """Start `spec` pinned to `cpus`; up once GET health_path (default: the component's
        readiness path) answers below 500."""
        assert spec.port is not None, f"{spec.name} has no port to ask"
        path = health_path or urlsplit(str(spec.ready)).path
        spec = dataclasses.replace(
            spec, name=label or spec.name, argv=tuple(pinned(list(spec.argv), cpus)),
            ready=HttpReady(f"http://127.0.0.1:{spec.port}{path}", _below_500))
        return start_one(spec, timeout=30, log_dir=self.log_dir)

    def monolith(self, workers: int, pinned: bool = True) -> Process:
        return self.start(self.component("monolith", workers), label=f"monolith-{workers}w",
                          cpus=self.cpus if pinned else None)

    def send_service(self) -> Process:
        return self.start(self.component("send"), cpus=self.cpus)

    def verify_service(self) -> Process:
        return self.start(self.component("verify"), cpus=self.cpus)

    def devinbox(self) -> Process:
        spec = self.component("devinbox")
        return self.start(dataclasses.replace(spec, argv=(*spec.argv, "--max-messages", "100000")),
                          cpus=self.cpus)

    def dispatcher(self, inbox: Process) -> Process:
        metrics_port = free_port()  # the dispatcher has no HTTP API; its metrics say it is up
        spec = self.component("dispatcher")
        spec = dataclasses.replace(spec, port=metrics_port, env={
            **spec.env, "DEVINBOX_URL": str(inbox.spec.url),
            "SMTP_PORT": inbox.spec.argv[inbox.spec.argv.index("--smtp-port") + 1],
            "DISPATCH_METRICS_PORT": str(metrics_port)})
        return self.start(spec, cpus=self.cpus, health_path="/metrics")

    def reference(self, name: str, factory: str) -> Process:
        port = free_port()
        argv = (PYTHON, "-m", "uvicorn", "--factory", f"bench.reference_apps:{factory}",
                "--host", "127.0.0.1", "--port", str(port),
                "--no-proxy-headers", "--no-access-log")  # as the services are started
        return self.start(ProcessSpec(name, argv, self.env(), port=port), cpus=self.cpus,
                          health_path="/healthz")

    def gateway(self, backends: proxies.Backends) -> Process:
        # The table names the backends itself: no ROUTING_TARGET_*_URL moving its groups.
        table = Path(tempfile.mkdtemp(prefix="bench-gw-", dir=self.log_dir)) / "routes.toml"
        table.write_text(proxies.gateway_table(backends))
        return self.start(self.component("gateway", table=str(table)), cpus=self.cpus,
                          health_path="/healthz")

    def nginx(self, nginx_bin: Path, backends: proxies.Backends) -> Process:
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix="bench-nginx-", dir=self.log_dir))
        conf = workdir / "nginx.conf"
        conf.write_text(proxies.nginx_conf(backends, port=port, workdir=workdir))
        argv = (str(nginx_bin), "-p", str(workdir), "-e", str(workdir / "error.log"),
                "-c", str(conf))
        return self.start(ProcessSpec("nginx", argv, port=port), cpus=self.cpus,
                          health_path="/healthz")
