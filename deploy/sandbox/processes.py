"""Small process helpers for the sandbox: pid files, ports, waiting."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

from ..errors import SandboxError


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a local command; a failure becomes a SandboxError with its output."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise SandboxError(f"`{' '.join(command[:4])}...` failed ({result.returncode}): " + " | ".join(output))
    return result


def read_pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` if that process is alive."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(what: str, ready: Callable[[], bool], timeout: float = 30.0, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    hint = f"; see {log}" if log else ""
    raise SandboxError(f"{what} did not come up within {timeout:.0f} s{hint}")


def stop_pid(pid: int | None, timeout: float = 15.0) -> None:
    """TERM, wait, then KILL."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def ensure_port_free(port: int, owner: str) -> None:
    if port_open(port):
        raise SandboxError(f"port {port} on 127.0.0.1 is taken by another program; {owner} needs it "
                           "(stop that program, or `invoke sandbox.down` if it is an old sandbox)")


def apt_install(package: str, why: str) -> None:
    """Install a Debian package (we run as root), its own service kept from starting.

    The sandbox runs its own instances on loopback ports; a package's service
    on its standard port (nginx on 80) must not come up: policy-rc.d says no.
    """
    if not shutil.which("apt-get"):
        raise SandboxError(f"{why}, and apt-get is not available: install Debian's {package} package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env, timeout=600)
    policy = Path("/usr/sbin/policy-rc.d")
    had_policy = policy.exists()
    if not had_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], env=env, timeout=900)
    finally:
        if not had_policy:
            policy.unlink()
