"""A "host" on this machine for unit tests of the code that reads and writes files on the hosts.

Its home is a directory; commands run in ``sh`` there with ``HOME`` set to it (as the
given user, when one is given), files are read and listed as SFTP would.  ``install``
puts it in place of the SSH adapter's functions in the modules under test, so the real
write script runs against real files, modes and owners: what the switch on the hosts
does is tested without an SSH server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from deploy.errors import RemoteError
from deploy.remote import ssh


class LocalHost:
    def __init__(self, alias: str, home: Path, user: int | None = None):
        self.original_host, self.home, self.user = alias, home, user
        self.commands: list[str] = []

    def path(self, remote: str) -> Path:
        remote = remote[2:] if remote.startswith("~/") else remote
        return self.home / remote

    def sftp(self) -> "LocalHost":
        return self

    def listdir(self, directory: str) -> list[str]:
        return os.listdir(self.path(directory))

    def shell(self, command: str, data: bytes = b"") -> subprocess.CompletedProcess:
        self.commands.append(command)
        who = {} if self.user is None else {"user": self.user, "group": self.user, "extra_groups": []}
        return subprocess.run(["sh", "-c", command], input=data, capture_output=True, cwd=self.home,
                              env={"HOME": str(self.home), "PATH": os.environ["PATH"]}, timeout=60, **who)


def _host(connection) -> LocalHost:
    assert isinstance(connection, LocalHost), connection
    return connection


def read_file(connection, path: str) -> bytes:
    try:
        return _host(connection).path(path).read_bytes()
    except FileNotFoundError:
        raise RemoteError(f"{connection.original_host}: {path} does not exist") from None


def run(connection, command: str, what: str, timeout: float | None = None) -> str:
    result = _host(connection).shell(command)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).decode().strip().splitlines()[-3:]
        raise RemoteError(f"{connection.original_host}: {what} failed (exit {result.returncode}): "
                          + " | ".join(detail))
    return result.stdout.decode()


def run_with_input(connection, command: str, data: bytes, what: str, timeout: float = 120) -> str:
    result = _host(connection).shell(command, data)
    if result.returncode != 0:
        detail = result.stderr.decode().strip().splitlines()[-3:]
        raise RemoteError(f"{connection.original_host}: {what} failed (exit {result.returncode}): "
                          + " | ".join(detail))
    return result.stdout.decode()


def put_script(connection, settings_tools_dir: str, name: str) -> str:
    host = _host(connection)
    target = host.path(f"{settings_tools_dir.rstrip('/')}/lib/{name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(ssh.__file__).parent / "scripts" / name, target)
    if host.user is not None:
        for path in (target, target.parent, target.parent.parent):
            os.chown(path, host.user, host.user)
    return f"{settings_tools_dir.rstrip('/')}/lib/{name}"


def install(monkeypatch, *modules) -> None:
    """Every adapter function the modules imported by name, replaced by this machine's."""
    fakes = {"read_file": read_file, "run": run, "remote_run": run, "run_with_input": run_with_input,
             "put_script": put_script}
    for module in modules:
        for name, fake in fakes.items():
            if hasattr(module, name):
                monkeypatch.setattr(module, name, fake)


PYTHON = sys.executable
