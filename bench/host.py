"""Small remote helpers for the benchmark: private files and timed commands on the media host."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

import paramiko
from fabric import Connection

from deploy.config.paths import sftp_path, shell_path
from deploy.errors import RemoteError
from deploy.remote.ssh import run

BENCH_HOME = "~/bench-tools"          # the peers' venvs; run/ (mode 700) holds credentials and wrappers
TREES_DIR = "~/bench-trees"           # the generated media trees, kept between runs
RUN_DIR = f"{BENCH_HOME}/run"


def prepare_private_dir(connection: Connection, path: str) -> None:
    """``path`` exists, is ours, is no symlink and is mode 700."""
    quoted = shell_path(path)
    run(connection, f"umask 077 && mkdir -p {quoted} && chmod 700 {quoted} && test ! -L {quoted} && test -O {quoted}",
        f"preparing {path}")


@contextmanager
def private_file(connection: Connection, path: str, content: str, mode: int = 0o600) -> Iterator[str]:
    """A remote file, ``mode`` set before a byte is written, removed on the way out (also on errors)."""
    sftp = connection.sftp()
    try:
        handle = sftp.open(sftp_path(path), "wx")   # exclusive: never write into someone's file
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: cannot create {path}: {error}") from None
    try:
        try:
            handle.chmod(mode)
            handle.write(content.encode("utf-8"))
        finally:
            handle.close()
        yield path
    finally:
        try:
            sftp.remove(sftp_path(path))
        except FileNotFoundError:
            pass
        except (OSError, paramiko.SSHException):
            result = connection.run(f"rm -f {shell_path(path)}", hide=True, warn=True, in_stream=False)
            if not result.ok:
                raise RemoteError(f"{connection.original_host}: could not remove {path}: remove it by hand")


class CommandFailed(RemoteError):
    """A timed tool run exited non-zero (or reported errors)."""


def timed_run(connection: Connection, command: str, what: str, timeout: float = 1800) -> tuple[float, str]:
    """Run ``command`` on the host; (wall seconds measured here, stdout+stderr).  Raises on failure."""
    begin = time.monotonic()
    result = connection.run(command, hide=True, warn=True, in_stream=False, timeout=timeout)
    seconds = time.monotonic() - begin
    output = result.stdout + result.stderr
    if not result.ok:
        tail = " | ".join(output.strip().splitlines()[-3:])
        raise CommandFailed(f"{connection.original_host}: {what} failed (exit {result.exited}): {tail[:600]}")
    return seconds, output
