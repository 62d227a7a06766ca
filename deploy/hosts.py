"""Fabric connections to the environment's hosts, and small remote probes.

Remote paths may start with ``~/`` (the SSH user's home).  Shell commands get
them as ``"$HOME"/rest`` with the rest quoted; SFTP gets them home-relative.
"""

from __future__ import annotations

import shlex

import paramiko
from fabric import Config, Connection
from invoke.exceptions import UnexpectedExit

from .config import Settings
from .errors import RemoteError


def connect(settings: Settings, alias: str) -> Connection:
    """A connection to ``alias``, resolved through the environment's ssh_config if any."""
    overrides = {"run": {"hide": True, "warn": True}}
    config = Config(runtime_ssh_path=str(settings.ssh_config), overrides=overrides) \
        if settings.ssh_config else Config(overrides=overrides)
    return Connection(alias, config=config, connect_timeout=10)


def shell_path(path: str) -> str:
    """A remote path quoted for the shell, with a leading ``~/`` still expanded."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def sftp_path(path: str) -> str:
    """A remote path for SFTP, which starts in the home directory and knows no ``~``."""
    return path[2:] if path.startswith("~/") else path


def run(connection: Connection, command: str, what: str, timeout: float | None = None) -> str:
    """Run ``command``; a non-zero exit or a lost connection becomes a RemoteError naming the host."""
    try:
        result = connection.run(command, hide=True, warn=True, timeout=timeout, in_stream=False)
    except (OSError, paramiko.SSHException, UnexpectedExit) as error:
        raise RemoteError(f"{connection.original_host}: {what} failed: {error}") from None
    except Exception as error:  # invoke's CommandTimedOut has no common base with the above
        if type(error).__name__ == "CommandTimedOut":
            raise RemoteError(f"{connection.original_host}: {what} took longer than {timeout:.0f} s") from None
        raise
    if not result.ok:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RemoteError(f"{connection.original_host}: {what} failed (exit {result.exited}): "
                          + " | ".join(detail))
    return result.stdout


def read_file(connection: Connection, path: str) -> bytes:
    """The exact bytes of a remote file."""
    try:
        with connection.sftp().open(sftp_path(path), "rb") as remote_file:
            return remote_file.read()
    except FileNotFoundError:
        raise RemoteError(f"{connection.original_host}: {path} does not exist") from None
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: cannot read {path}: {error}") from None


def describe_hosts(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(host, remote user, settings path, USE_S3) for every host."""
    from .settings_file import find_use_s3

    rows = []
    for host in settings.hosts:
        with connect(settings, host.alias) as connection:
            user = run(connection, "id -un", "ssh login").strip()
            source = read_file(connection, host.settings_path).decode("utf-8")
            use_s3 = find_use_s3(source, f"{host.alias}:{host.settings_path}").value
            rows.append((host.alias, user, host.settings_path, str(use_s3)))
    return rows
