"""Fabric connections to the environment's hosts, and small remote probes.

Remote paths may start with ``~/`` (the SSH user's home): ``deploy.config.paths``
writes them for a shell or for SFTP.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import paramiko
from fabric import Config, Connection
from invoke.exceptions import UnexpectedExit

from ..config.paths import sftp_path, shell_path
from ..config.types import Settings
from ..errors import RemoteError
from ..host_scripts import SCRIPTS  # the scripts run on the hosts (put_script)



def connect(settings: Settings, alias: str) -> Connection:
    """A connection to ``alias``, resolved through the environment's ssh_config if any."""
    overrides = {"run": {"hide": True, "warn": True}}
    config = Config(runtime_ssh_path=str(settings.ssh_config), overrides=overrides) \
        if settings.ssh_config else Config(overrides=overrides)
    return Connection(alias, config=config, connect_timeout=10)


def run(connection: Connection, command: str, what: str, timeout: float | None = None) -> str:
    """Run ``command``; a non-zero exit or a lost connection becomes a RemoteError naming the host."""
    result = run_to_end(connection, command, what, timeout)
    if not result.ok:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RemoteError(f"{connection.original_host}: {what} failed (exit {result.exited}): "
                          + " | ".join(detail))
    return result.stdout


def run_to_end(connection: Connection, command: str, what: str, timeout: float | None = None):
    """Run ``command`` and hand back its result whatever its exit (a script that reports its own refusal
    on stdout); only a lost connection or a timeout becomes a RemoteError naming the host."""
    try:
        return connection.run(command, hide=True, warn=True, timeout=timeout, in_stream=False)
    except (OSError, paramiko.SSHException, UnexpectedExit) as error:
        raise RemoteError(f"{connection.original_host}: {what} failed: {error}") from None
    except Exception as error:  # invoke's CommandTimedOut has no common base with the above
        if type(error).__name__ == "CommandTimedOut":
            raise RemoteError(f"{connection.original_host}: {what} took longer than {timeout:.0f} s") from None
        raise


def read_file(connection: Connection, path: str) -> bytes:
    """The exact bytes of a remote file."""
    try:
        with connection.sftp().open(sftp_path(path), "rb") as remote_file:
            return remote_file.read()
    except FileNotFoundError:
        raise RemoteError(f"{connection.original_host}: {path} does not exist") from None
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: cannot read {path}: {error}") from None


@dataclass(frozen=True)
class Ran:
    """What a command fed on stdin printed, and its exit (the fields of an Invoke Result the code reads)."""

    stdout: str
    stderr: str
    exited: int

    @property
    def ok(self) -> bool:
        return self.exited == 0


def run_with_input(connection: Connection, command: str, data: bytes, what: str,
                   timeout: float = 120) -> str:
    """Run ``command`` with ``data`` as its exact standard input (bytes, not text)."""
    result = run_with_input_to_end(connection, command, data, what, timeout)
    if not result.ok:
        detail = result.stderr.strip().splitlines()[-3:]
        raise RemoteError(f"{connection.original_host}: {what} failed (exit {result.exited}): " + " | ".join(detail))
    return result.stdout


def run_with_input_to_end(connection: Connection, command: str, data: bytes, what: str,
                          timeout: float = 120) -> Ran:
    """``run_with_input`` whatever the exit (a program that reports its own refusal on stdout); only a lost
    connection or a timeout becomes a RemoteError naming the host."""
    try:
        connection.open()
        stdin, stdout, stderr = connection.client.exec_command(command, timeout=timeout)
        try:
            stdin.write(data)
            stdin.channel.shutdown_write()
            output, errors = stdout.read(), stderr.read()
            status = stdout.channel.recv_exit_status()
        finally:
            close_files(stdin, stdout, stderr)
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: {what} failed: {error}") from None
    return Ran(output.decode("utf-8", "replace"), errors.decode("utf-8", "replace"), status)


class LineStream:
    """A remote command's stdout, line by line as it arrives: never all of it in memory.

    After iteration, ``stderr`` holds what the command reported there.
    """

    def __init__(self, connection: Connection, command: str, what: str):
        self.connection, self.command, self.what, self.stderr = connection, command, what, ""

    def __iter__(self) -> Iterator[bytes]:
        host = self.connection.original_host
        try:
            with _command_files(self.connection, self.command) as (stdout, stderr):
                stdout._set_mode("rb")  # bytes: names are compared as UTF-8 bytes
                yield from stdout
                self.stderr = stderr.read().decode("utf-8", "replace")
                status = stdout.channel.recv_exit_status()
        except (OSError, paramiko.SSHException) as error:
            raise RemoteError(f"{host}: {self.what} failed: {error}") from None
        _check_exit(host, self.what, status, self.stderr)


def output_chunks(connection: Connection, command: str, what: str, size: int = 1 << 20) -> Iterator[bytes]:
    """A remote command's stdout in chunks as it arrives (``cat`` of a large file: never all of it in
    memory); a non-zero exit or a lost connection is a RemoteError naming the host."""
    try:
        with _command_files(connection, command) as (stdout, stderr):
            yield from iter(lambda: stdout.read(size), b"")
            errors = stderr.read().decode("utf-8", "replace")
            status = stdout.channel.recv_exit_status()
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: {what} failed: {error}") from None
    _check_exit(connection.original_host, what, status, errors)


@contextlib.contextmanager
def _command_files(connection: Connection, command: str) -> Iterator[tuple]:
    """``command`` started with nothing on its stdin: its (stdout, stderr), its three files closed on the way out."""
    connection.open()
    stdin, stdout, stderr = connection.client.exec_command(command)
    try:
        stdin.close()
        yield stdout, stderr
    finally:
        close_files(stdin, stdout, stderr)


def _check_exit(host: str, what: str, status: int, errors: str) -> None:
    if status != 0:
        raise RemoteError(f"{host}: {what} failed (exit {status}): " + " | ".join(errors.strip().splitlines()[-3:]))


def close_files(*streams) -> None:
    """Close a command's files here, not in the garbage collector (see ``_closing_quietly``)."""
    for stream in streams:
        if stream is None:
            continue
        try:
            stream.close()
        except (OSError, ValueError, paramiko.SSHException):
            pass


def _closing_quietly(self) -> None:
    """paramiko's files close themselves in ``__del__``, which flushes their write buffer.  A file still alive
    when the interpreter exits (one a failed step's traceback keeps, say) is finalized after its buffer: its
    ``__del__`` then printed "Exception ignored ... ValueError: I/O operation on closed file" with a traceback
    into a failed cutover's error output (twice in CI).  Nothing is left to flush by then: say nothing."""
    try:
        self.close()
    except (ValueError, OSError):
        pass


paramiko.file.BufferedFile.__del__ = _closing_quietly


def put_script(connection: Connection, settings_tools_dir: str, name: str, folder: Path = SCRIPTS) -> str:
    """Upload one of ``folder``'s scripts, deploy/remote/scripts/*.py unless told, to TOOLS_DIR/lib
    (content-addressed, so once); returns its remote path."""
    source = (folder / name).read_bytes()
    directory = f"{settings_tools_dir.rstrip('/')}/lib"
    remote = f"{directory}/{Path(name).stem}-{hashlib.sha256(source).hexdigest()[:10]}.py"
    run(connection, f"mkdir -p {shell_path(directory)} && chmod 700 {shell_path(settings_tools_dir)}",
        "preparing the helper-script directory")
    sftp = connection.sftp()
    try:
        sftp.stat(sftp_path(remote))
    except FileNotFoundError:
        with sftp.open(sftp_path(remote) + ".part", "wb") as remote_file:
            remote_file.write(source)
        sftp.posix_rename(sftp_path(remote) + ".part", sftp_path(remote))
    return remote
