"""The files of one sync run on the media host: the credentials file and the pid file.

Their names in the private run directory, the launch line that writes the pid
file, the notes that stand for the SFTP steps in a dry run; the credentials
file, created over SFTP mode 600 before it holds a byte and removed on the way
out (also on failure or Ctrl-C); stopping the tool through its pid file.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from typing import Iterator

import paramiko
from fabric import Connection

from ..config.paths import sftp_path, shell_path
from ..config.types import Settings
from ..errors import RemoteError
from .tools import ToolSpec, run_dir


def run_files(settings: Settings, spec: ToolSpec) -> tuple[str, str]:
    """This run's credentials file and pid file, in the private run directory."""
    token = secrets.token_hex(8)
    return (f"{run_dir(settings)}/{spec.name}-{token}.conf", f"{run_dir(settings)}/{spec.name}-{token}.pid")


def launch_command(pid_path: str, command: str, umask: str | None = None) -> str:
    """exec: the tool takes the shell's pid, so a Ctrl-C here can stop it there."""
    umask_step = f"umask {umask} && " if umask else ""
    return f"echo $$ > {shell_path(pid_path)} && {umask_step}exec {command}"


def create_note(config_path: str, spec: ToolSpec) -> str:
    return f"# sftp: create {config_path} (exclusive), chmod 600, then write the {spec.name} credentials"


def remove_note(config_path: str, pid_path: str) -> str:
    return f"# sftp: remove {config_path} and {pid_path}"


@contextmanager
def secret_file(connection: Connection, path: str, content: str) -> Iterator[None]:
    """A remote file holding ``content``, mode 600 before it holds anything, removed on the way out."""
    host = connection.original_host
    try:
        handle = connection.sftp().open(sftp_path(path), "wx")   # exclusive: never reuse a file
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{host}: cannot create {path}: {error}") from None
    try:
        try:
            handle.chmod(0o600)
            handle.write(content.encode("utf-8"))
        except (OSError, paramiko.SSHException) as error:
            raise RemoteError(f"{host}: cannot write {path}: {error}") from None
        finally:
            handle.close()
        yield
    finally:
        remove_file(connection, path, required=True)


def remove_file(connection: Connection, path: str, required: bool = False) -> None:
    """Remove a file of ours; for the credentials file, a failure to do so is an error."""
    try:
        connection.sftp().remove(sftp_path(path))
        return
    except FileNotFoundError:
        return
    except (OSError, paramiko.SSHException):
        pass
    try:   # the SFTP channel may have gone with an interrupted run; try a plain command
        result = connection.run(f"rm -f {shell_path(path)}", hide=True, warn=True, in_stream=False, timeout=30)
        if result.ok:
            return
    except (OSError, paramiko.SSHException):
        pass
    if required:
        raise RemoteError(f"{connection.original_host}: could not remove {path}, which holds the S3 "
                          "credentials; remove it by hand")


def stop_tool(connection: Connection, pid_path: str) -> None:
    """Best effort, after a Ctrl-C here: stop the tool there (its pid was written by its shell)."""
    path = shell_path(pid_path)
    try:
        connection.run(f'pid=$(cat {path} 2>/dev/null) && [ -n "$pid" ] && kill -TERM "$pid"',
                       hide=True, warn=True, in_stream=False, timeout=30)
    except (OSError, paramiko.SSHException):
        pass
