"""`./dev images`: every image target of infra/docker/Dockerfile, built with no registry.

1. Bases: `BASE_IMAGE` when given (present, or pulled), else made here and cached by a content
   key in the tag (the recipe below): `debootstrap --variant=minbase` of Debian bookworm with
   python3 and python3-venv, `docker import`ed as the builder's base; the same tree without the venv
   packages (so without pip) as the runtime base; and with Debian's redis-server as the Redis image.
2. Wheelhouse: the runtime dependencies exported from uv.lock (with their hashes) and downloaded as
   wheels for the base's Python into .cache/wheelhouse/KEY (cached by uv.lock and the Python).
3. One `docker build --target NAME` per component with an image (infra/components.py), from a
   context of the repository's files and the wheelhouse, tagged with the git SHA and `latest`.

Options: --only NAME (repeatable). Environment: BASE_IMAGE, DEBIAN_MIRROR.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker

from devtools.processes import REPO_ROOT
from infra.components import IMAGE_COMPONENTS, by_name, local_image

CACHE = REPO_ROOT / ".cache"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3",)
BUILDER_PACKAGES = ("python3-venv",)  # ensurepip for the builder's venv, purged from the runtime
VENV_PACKAGES_TO_PURGE = ("python3-venv", "python3.11-venv", "python3-pip-whl",
                          "python3-setuptools-whl")
REDIS_PACKAGES = ("redis-server",)
RECIPE_VERSION = "1"  # change it when the way the bases are made changes
DOCKERFILE = "infra/docker/Dockerfile"
WHEELHOUSE_IN_CONTEXT = "wheelhouse"
# Trimmed from the made images: caches and what only a person at a shell reads.
TRIMMED = ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
           "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*/")

Say = Callable[[str], None]


class ImageError(RuntimeError):
    """Something the build needs is missing or failed; the message says what to do next."""


def say(text: str) -> None:
    print(f"images | {text}", flush=True)


# --- docker ----------------------------------------------------------------------------------


def docker_cli() -> str:
    found = shutil.which("docker")
    if not found:
        raise ImageError("docker is not installed: install Debian's docker.io (sudo apt-get "
                         "install docker.io) or Docker Engine; ./dev test installs it as root")
    return found


def check_docker() -> None:
    """Raise ImageError naming the next step when docker cannot build or run here."""
    result = subprocess.run([docker_cli(), "info", "--format", "{{.ServerVersion}}"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise ImageError(
            f"dockerd is not running ({detail}): start it with `sudo systemctl start docker`, or "
            "without systemd `sudo sh -c 'dockerd >/var/log/dockerd.log 2>&1 &'`")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([docker_cli(), *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ImageError(f"docker {' '.join(args[:3])} failed: {result.stderr.strip()}")
    return result


def image_exists(name: str) -> bool:
    return docker("image", "inspect", name, check=False).returncode == 0


def stream(argv: Sequence[str], prefix: str, log: Path, *, stdin: int | None = None,
           show: Callable[[str], bool] = lambda line: True,
           env: dict[str, str] | None = None) -> None:
    """Run argv, its output into `log` and the lines `show` takes to the terminal; raise
    ImageError quoting the end of the log when it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=stdin, text=True, env=env)
        assert process.stdout is not None
        for line in process.stdout:
            out.write(line)
            if show(line):
                say(f"{prefix}: {line.rstrip()}")
        code = process.wait()
    if code != 0:
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-15:])
        raise ImageError(f"{prefix}: `{' '.join(argv[:4])} ...` failed (exit {code}); the end "
                         f"of {log}:\n{tail}")


# --- the made bases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Bases:
    runtime: str
    builder: str


def mirror() -> str:
    return os.environ.get("DEBIAN_MIRROR") or DEFAULT_MIRROR


def recipe_key() -> str:
    """What the made images depend on: the suite, mirror, package lists and this recipe."""
    recipe = json.dumps([RECIPE_VERSION, SUITE, mirror(), platform.machine(), BASE_PACKAGES,
                         BUILDER_PACKAGES, VENV_PACKAGES_TO_PURGE, REDIS_PACKAGES, TRIMMED,
                         by_name("redis").argv()])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def made_names(key: str) -> tuple[Bases, str]:
    tag = f"{SUITE}-{key}"
    return (Bases(runtime=local_image("base", tag), builder=local_image("builder-base", tag)),
            local_image("redis", tag))


def need_root_tool(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing Debian's {package} (once)")
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       stdout=subprocess.DEVNULL)
        found = shutil.which(tool)
    if not found:
        raise ImageError(f"{tool} is needed to make the base image: install it (sudo apt-get "
                         f"install {package}), or set BASE_IMAGE to an image with python3.11")
    return found


def make_bases(logs: Path) -> tuple[Bases, str]:
    """The runtime and builder bases and the Redis image, made once per recipe key."""
    key = recipe_key()
    bases, redis = made_names(key)
    if all(image_exists(name) for name in (bases.runtime, bases.builder, redis)):
        say(f"bases: cached ({bases.runtime}, {bases.builder}, {redis})")
        return bases, redis
    if os.geteuid() != 0:
        raise ImageError("making the base image needs root (debootstrap, chroot): run "
                         "./dev images as root, or set BASE_IMAGE to an image with python3.11")
    debootstrap = need_root_tool("debootstrap", "debootstrap")
    started = time.monotonic()
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="base-", dir=CACHE) as work:
        rootfs = Path(work) / "rootfs"
        say(f"bases: debootstrap {SUITE} from {mirror()} (about a minute, once)")
        stream([debootstrap, "--variant=minbase",
                "--include=" + ",".join(BASE_PACKAGES + BUILDER_PACKAGES), SUITE, str(rootfs),
                mirror()], "debootstrap", logs / "debootstrap.log",
               show=lambda line: line.startswith(("I: Retrieving", "I: Base", "E:", "W:")))
        trim(rootfs)
        import_rootfs(rootfs, bases.builder, [])
        chroot(rootfs, ["dpkg", "--purge", *VENV_PACKAGES_TO_PURGE], logs / "purge.log")
        import_rootfs(rootfs, bases.runtime, [])
        make_redis(rootfs, redis, logs)
    for name in (bases.runtime, bases.builder, redis):
        docker("tag", name, name.rsplit(":", 1)[0] + ":latest")
    say(f"bases: made in {time.monotonic() - started:.0f}s")
    return bases, redis


def make_redis(rootfs: Path, name: str, logs: Path) -> None:
    """Debian's redis-server on the runtime base's tree; its command is the declared one."""
    shutil.copy("/etc/resolv.conf", rootfs / "etc" / "resolv.conf")
    policy = rootfs / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\n# no service starts inside an image build\nexit 101\n")
    policy.chmod(0o755)
    chroot(rootfs, ["apt-get", "update", "-qq"], logs / "redis-apt.log")
    chroot(rootfs, ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                    *REDIS_PACKAGES], logs / "redis-apt.log")
    policy.unlink()
    (rootfs / "etc" / "resolv.conf").write_text("")
    trim(rootfs)
    component = by_name("redis")
    probe = ["redis-cli", "-p", str(component.port), "ping"]
    import_rootfs(rootfs, name, [
        "USER redis", "WORKDIR /var/lib/redis", f"EXPOSE {component.port}",
        f"HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD {json.dumps(probe)}",
        f"CMD {json.dumps(list(component.argv()))}"])


def chroot(rootfs: Path, argv: Sequence[str], log: Path) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LC_ALL": "C"}
    stream(["chroot", str(rootfs), *argv], argv[0], log,
           show=lambda line: line.startswith(("E:", "Setting up", "Removing")), env=env)


def trim(rootfs: Path) -> None:
    for pattern in TRIMMED:
        for path in rootfs.glob(pattern):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def import_rootfs(rootfs: Path, name: str, changes: Iterable[str]) -> None:
    say(f"bases: docker import {name}")
    tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", "-", "."],
                           stdout=subprocess.PIPE)
    assert tar.stdout is not None
    flags = [arg for change in changes for arg in ("--change", change)]
    result = subprocess.run([docker_cli(), "import", *flags, "-", name], stdin=tar.stdout,
                            capture_output=True, text=True)
    tar.stdout.close()
    if tar.wait() != 0 or result.returncode != 0:
        raise ImageError(f"docker import {name} failed: {result.stderr.strip()}")


def given_base(name: str) -> Bases:
    if not image_exists(name):
        say(f"BASE_IMAGE={name} is not here: docker pull {name}")
        if docker("pull", name, check=False).returncode != 0:
            raise ImageError(f"BASE_IMAGE={name} is neither present nor pullable: load it "
                             "(docker load) or unset BASE_IMAGE to make the base locally")
    return Bases(runtime=name, builder=name)


# --- the wheelhouse --------------------------------------------------------------------------


def base_python(image: str) -> dict[str, str]:
    """The base's Python: version and glibc, which choose the wheels."""
    code = ("import json, platform, sys; print(json.dumps({'version': '%d.%d.%d' % "
            "sys.version_info[:3], 'glibc': platform.libc_ver()[1], "
            "'machine': platform.machine()}))")
    result = docker("run", "--rm", "--network", "none", "--entrypoint", "python3", image,
                    "-c", code)
    found: dict[str, str] = json.loads(result.stdout)
    return found


def uv() -> str:
    private = REPO_ROOT / ".tools" / "bin" / "uv"
    found = str(private) if private.exists() else shutil.which("uv")
    if not found:
        raise ImageError("uv is not installed: run ./dev sync (it installs uv into .tools/)")
    return found


def wheelhouse(builder: str, logs: Path) -> Path:
    """The locked runtime dependencies as wheels for the builder's Python, with a
    requirements.txt carrying their hashes; made once per uv.lock and Python."""
    python = base_python(builder)
    lock = (REPO_ROOT / "uv.lock").read_bytes()
    key = hashlib.sha256(lock + json.dumps(python, sort_keys=True).encode()).hexdigest()[:12]
    target = CACHE / "wheelhouse" / key
    if (target / "requirements.txt").exists():
        say(f"wheelhouse: cached ({target.relative_to(REPO_ROOT)})")
        return target
    say(f"wheelhouse: Python {python['version']}, glibc {python['glibc']}: downloading the "
        "locked runtime dependencies")
    partial = target.with_name(key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    exported = partial / "exported.txt"
    stream([uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--format",
            "requirements-txt", "--output-file", str(exported)], "uv export",
           logs / "uv-export.log", show=lambda line: False)
    requirements = partial / "requirements.txt"
    requirements.write_text(for_target(exported.read_text(encoding="utf-8"), python))
    exported.unlink()
    major, minor, _ = python["version"].split(".")
    glibc_major, glibc_minor = python["glibc"].split(".")[:2]
    platforms = [f"manylinux_{glibc_major}_{m}_{python['machine']}"
                 for m in range(int(glibc_minor), 16, -1)]
    platforms += [f"manylinux2014_{python['machine']}", "any"]
    stream([pip_python(), "-m", "pip", "download", "--disable-pip-version-check",
            "--only-binary", ":all:", "--require-hashes", "--no-deps",
            "--implementation", "cp", "--python-version", python["version"],
            "--abi", f"cp{major}{minor}", *(arg for p in platforms for arg in ("--platform", p)),
            "--dest", str(partial), "-r", str(requirements)], "pip download",
           logs / "pip-download.log", show=lambda line: line.startswith(("Saved", "ERROR")))
    partial.rename(target)
    return target


def for_target(exported: str, python: dict[str, str]) -> str:
    """The exported requirements that apply to the base's Python, without their markers: pip
    download would judge markers by the Python it runs on, not the one it downloads for."""
    environment = {"python_full_version": python["version"],
                   "python_version": python["version"].rsplit(".", 1)[0],
                   "platform_machine": python["machine"], "sys_platform": "linux",
                   "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython"}
    kept: list[str] = []
    for entry in exported.replace("\\\n", " ").splitlines():
        requirement, _, marker = entry.partition(" ; ")
        if not requirement.strip() or requirement.lstrip().startswith("#"):
            continue
        if marker:
            condition, _, hashes = marker.partition(" --hash")
            if not Marker(condition.strip()).evaluate(environment):
                continue
            requirement = requirement.rstrip() + " --hash" + hashes
        kept.append(" ".join(requirement.split()))
    return "\n".join(kept) + "\n"


def pip_python() -> str:
    """A Python with pip: .tools' (./dev makes it; the project's .venv has none)."""
    for candidate in (str(REPO_ROOT / ".tools" / "bin" / "python"), sys.executable):
        if subprocess.run([candidate, "-m", "pip", "--version"],
                          capture_output=True).returncode == 0:
            return candidate
    raise ImageError("no Python with pip for the wheelhouse: run ./dev sync (it makes .tools/)")


# --- the build -------------------------------------------------------------------------------


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True,
                          text=True, check=True).stdout


def source_tag() -> str:
    """The git SHA; with uncommitted edits, also a hash of them (a rebuild must differ)."""
    sha = git("rev-parse", "--short=12", "HEAD").strip()
    if git("status", "--porcelain").strip():
        diff = subprocess.run(["git", "-C", str(REPO_ROOT), "diff", "HEAD"],
                              capture_output=True, check=True).stdout
        sha += "-dirty-" + hashlib.sha256(diff).hexdigest()[:8]
    return sha


def context_tar(wheels: Path, path: Path) -> Path:
    """The build context: the files git knows (tracked or not ignored) and the wheelhouse, with
    fixed times and owners so the layer cache depends on content only."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    files = sorted({f for f in listed if f and (REPO_ROOT / f).is_file()})

    def fixed(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        return info

    with tarfile.open(path, "w") as tar:
        for name in files:
            tar.add(REPO_ROOT / name, arcname=name, filter=fixed)
        for wheel in sorted(wheels.iterdir()):
            tar.add(wheel, arcname=f"{WHEELHOUSE_IN_CONTEXT}/{wheel.name}", filter=fixed)
    return path


def build_target(name: str, context: Path, bases: Bases, tag: str, logs: Path) -> None:
    started = time.monotonic()
    with context.open("rb") as stdin:
        stream([docker_cli(), "build", "-f", DOCKERFILE, "--target", name,
                "--build-arg", f"BASE_IMAGE={bases.runtime}",
                "--build-arg", f"BUILDER_IMAGE={bases.builder}",
                "--label", f"org.opencontainers.image.revision={tag}",
                "-t", local_image(name, tag), "-t", local_image(name), "-"],
               name, logs / f"build-{name}.log", stdin=stdin.fileno(),
               show=lambda line: line.startswith(("ERROR", "error"))
               or (line.startswith("Step ") and (" : RUN " in line or " : COPY " in line)))
    say(f"{name}: {local_image(name, tag)} built in {time.monotonic() - started:.0f}s")


@dataclass(frozen=True)
class Built:
    tag: str
    images: dict[str, str]  # component name -> image (redis included)


def build(only: Sequence[str] = ()) -> Built:
    """Every image (or those in `only`); the names of what was built, by component."""
    check_docker()
    logs = CACHE / "logs"
    started = time.monotonic()
    given = os.environ.get("BASE_IMAGE")
    if given:
        bases = given_base(given)
        redis = os.environ.get("REDIS_IMAGE") or make_bases(logs)[1]
    else:
        bases, redis = make_bases(logs)
    wheels = wheelhouse(bases.builder, logs)
    tag = source_tag()
    names = [c.name for c in IMAGE_COMPONENTS if not only or c.name in only]
    images = {"redis": redis}
    with tempfile.TemporaryDirectory(prefix="context-", dir=CACHE) as work:
        context = context_tar(wheels, Path(work) / "context.tar")
        say(f"context: {context.stat().st_size / 1e6:.0f} MB; building {', '.join(names)} "
            f"as {local_image('NAME', tag)}")
        for name in names:
            build_target(name, context, bases, tag, logs)
            images[name] = local_image(name, tag)
    say(f"done in {time.monotonic() - started:.0f}s (logs in {logs.relative_to(REPO_ROOT)})")
    return Built(tag=tag, images=images)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev images", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    known = [c.name for c in IMAGE_COMPONENTS]
    parser.add_argument("--only", action="append", choices=known, default=[],
                        help="build only this target (repeatable)")
    args = parser.parse_args(argv)
    try:
        built = build(args.only)
    except ImageError as error:
        print(f"./dev images: {error}", file=sys.stderr)
        return 1
    for name, image in built.images.items():
        print(f"  {name:<10} {image}")
    return 0
