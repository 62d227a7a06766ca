"""MiniStack as a second, AWS-faithful S3 store for the tests, on 127.0.0.1 only.

SeaweedFS (the sandbox's store, ``deploy.sandbox.s3store``) has no Block
Public Access and no Object Ownership.  MiniStack (PyPI ``ministack``) has
AWS's semantics there: new buckets have every Block Public Access switch on
and Object Ownership "bucket owner enforced", a public bucket policy is
refused while Block Public Access is on, and with ``AUTH=true`` its IAM has
groups and enforces policies, ``s3:prefix`` conditions included.

It pins botocore exactly, which would clash with the project's own boto3, so
it lives in a venv of its own, ``.sandbox/ministack-venv``, made on first use
(:func:`ensure_installed`, idempotent), as the sync tools live in theirs.
Each :func:`start` runs a fresh instance on a free port with its data in a
directory of the caller's; :meth:`MiniStack.stop` ends its process group.
Its admin keys are ``test``/``test``; nothing secret is ever on its command
line.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import SandboxError
from .layout import Layout

MINISTACK_REQUIREMENT = "ministack==1.5.33"   # the one pin; it pins botocore==1.43.106 itself
ADMIN_KEY_ID = "test"                         # MiniStack's built-in admin (root) key
ADMIN_SECRET = "test"
HEALTH_PATH = "/_ministack/health"
READY_TIMEOUT = 30.0
INSTALL_TIMEOUT = 600
# Only what the tests use: S3, IAM (users, groups, policies, keys) and STS (boto3 may ask it).
SERVICES = "s3,iam,sts"


def pinned_version() -> str:
    return MINISTACK_REQUIREMENT.split("==", 1)[1]


def venv_dir(project_root: Path) -> Path:
    return Layout(project_root).root / "ministack-venv"


def binary(project_root: Path) -> Path:
    return venv_dir(project_root) / "bin" / "ministack"


def installed_version(venv: Path) -> str | None:
    """The ministack version in ``venv``, or None when it is missing or broken."""
    python = venv / "bin" / "python"
    if not python.exists() or not (venv / "bin" / "ministack").exists():
        return None
    result = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('ministack'))"],
                            capture_output=True, text=True, timeout=60)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_installed(project_root: Path) -> Path:
    """The pinned MiniStack in its own venv, installed unless it already answers; returns its binary.

    A lock file keeps two test processes from installing at once.
    """
    layout = Layout(project_root)
    layout.ensure_root()
    venv = venv_dir(project_root)
    with open(layout.root / "ministack-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version(venv) != pinned_version():
            _install(venv)
        found = installed_version(venv)
        if found != pinned_version():
            raise SandboxError(f"{MINISTACK_REQUIREMENT} was installed into {venv} but it reports "
                               f"{found or 'nothing'}; remove {venv} and retry")
    return binary(project_root)


def _install(venv: Path) -> None:
    """A fresh venv (``--clear``: a broken or outdated one is replaced) with the pin in it."""
    steps = [[sys.executable, "-m", "venv", "--clear", str(venv)],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-input",
              "--disable-pip-version-check", MINISTACK_REQUIREMENT]]
    for command in steps:
        result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if result.returncode != 0:
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
            raise SandboxError(f"installing {MINISTACK_REQUIREMENT} into {venv} failed at "
                               f"`{' '.join(command[:4])}` ({result.returncode}): {tail}")


@dataclass
class MiniStack:
    """One running MiniStack: its process (the leader of its own group), port and files."""

    process: subprocess.Popen
    port: int
    data_dir: Path
    log: Path

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin_env(self) -> str:
        """The admin keys as a dotenv file's text (for `invoke provision --admin-env`)."""
        return f"AWS_ACCESS_KEY_ID={ADMIN_KEY_ID}\nAWS_SECRET_ACCESS_KEY={ADMIN_SECRET}\n"

    def stop(self, timeout: float = 10.0) -> None:
        """TERM its process group, wait, then KILL it."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        self.process.wait(timeout)


def free_port() -> int:
    """A port nothing listens on now on 127.0.0.1 (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(project_root: Path, data_dir: Path, port: int | None = None) -> MiniStack:
    """Install if needed, start MiniStack on 127.0.0.1:``port`` (a free one by default), wait until ready.

    Its S3 data, pid file and log (``ministack.log``) go under ``data_dir``.
    """
    command = [str(ensure_installed(project_root))]
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "s3").mkdir(exist_ok=True)
    (data_dir / "tmp").mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data_dir),
           "TMPDIR": str(data_dir / "tmp"),          # its pid file goes there, not into /tmp
           "AUTH": "true", "BIND_HOST": "127.0.0.1", "GATEWAY_PORT": str(port),
           "S3_DATA_DIR": str(data_dir / "s3"), "SERVICES": SERVICES, "LOG_LEVEL": "WARNING"}
    log = data_dir / "ministack.log"
    with open(log, "ab") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=data_dir)
    running = MiniStack(process, port, data_dir, log)
    try:
        _wait_until_ready(running)
    except BaseException:
        running.stop()
        raise
    return running


@contextmanager
def running(project_root: Path, data_dir: Path) -> Iterator[MiniStack]:
    """A MiniStack for the block; stopped afterwards, also on failure."""
    instance = start(project_root, data_dir)
    try:
        yield instance
    finally:
        instance.stop()


def _wait_until_ready(instance: MiniStack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            raise SandboxError(f"MiniStack exited ({instance.process.returncode}) before it was ready; "
                               f"see {instance.log}")
        if _healthy(instance.endpoint_url + HEALTH_PATH):
            return
        time.sleep(0.1)
    raise SandboxError(f"MiniStack did not answer on {instance.endpoint_url} within {READY_TIMEOUT:.0f} s; "
                       f"see {instance.log}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
