"""Install the sync tool on the media host and upload MEDIA_ROOT to the bucket with it.

The upload runs on the media host (the files are there), never deletes, skips
objects already uploaded with the same size, and streams the tool's progress
to ``on_progress`` line by line.

The credentials reach the tool only through a file: written over SFTP into
``{TOOLS_DIR}/run/`` (mode 700), chmod 600 before a byte is written, removed
when the tool has exited, also on failure or Ctrl-C.  Never on a command line,
never through ``env=`` (Fabric sends that inline: visible in ``ps``).
"""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import paramiko
from fabric import Connection

from .config import Settings
from .errors import RemoteError
from .hosts import run, sftp_path, shell_path
from .sync_tools import (ToolOutput, ToolSpec, answers_pinned_version, credentials_file, destination_url,
                         install_command, prepare_run_dir_command, probe_command, run_dir, scrub,
                         tool_output, tool_spec, upload_command, venv_dir)

INSTALL_TIMEOUT = 900


@dataclass
class InstallResult:
    """What install_sync_tool found or did. ``installed`` is False when the pin already answered."""

    tool: str
    version: str
    path: str
    installed: bool
    commands: list[str] = field(default_factory=list)


@dataclass
class SyncResult:
    """One upload: the counters are None when the tool did not report them."""

    tool: str
    version: str
    destination: str
    commands: list[str]
    files_transferred: int | None = None
    bytes_transferred: int | None = None
    elapsed: float | None = None          # seconds, measured here around the tool's run
    dry_run: bool = False


def install_sync_tool(connection: Connection, settings: Settings, dry_run: bool = False) -> InstallResult:
    """Make sure the pinned tool answers on the media host; install it into its venv if not."""
    spec = tool_spec(settings.sync_tool)
    probe, install = probe_command(settings, spec), install_command(settings, spec)
    result = InstallResult(spec.name, spec.version, venv_dir(settings, spec), installed=False)
    if dry_run:
        result.commands = [probe, install, probe]
        return result
    result.commands.append(probe)
    if _answers(connection, spec, probe):
        return result
    result.commands += [install, probe]
    run(connection, install, f"installing {spec.requirement} into {result.path}", timeout=INSTALL_TIMEOUT)
    if not _answers(connection, spec, probe):
        raise RemoteError(f"{connection.original_host}: {spec.requirement} was installed into {result.path} "
                          f"but `{probe}` does not report the pinned version; remove {result.path} and retry")
    result.installed = True
    return result


def upload_media(connection: Connection, settings: Settings, *,
                 manifest_totals: tuple[int, int] | None = None,
                 on_progress: Callable[[str], None] | None = None,
                 dry_run: bool = False, exclude: Iterable[str] = ()) -> SyncResult:
    """Copy MEDIA_ROOT to ``s3://BUCKET/PREFIX/`` with the configured tool, from the media host.

    ``manifest_totals`` is (files, bytes) of the media manifest, shown next to the
    progress of tools that only count.  ``exclude`` holds paths relative to
    MEDIA_ROOT to leave out: the manifest's symlink loops (and its dangling
    symlinks, which rclone counts as errors).  Raises RemoteError naming the
    host when the tool fails, PreflightError when the tool cannot (s5cmd with
    excludes), ValueError for a malformed exclude.
    """
    spec = tool_spec(settings.sync_tool)
    token = secrets.token_hex(8)
    config_path = f"{run_dir(settings)}/{spec.name}-{token}.conf"
    pid_path = f"{run_dir(settings)}/{spec.name}-{token}.pid"
    command = upload_command(settings, config_path, exclude)
    prepare = prepare_run_dir_command(settings)
    # exec: the tool takes the shell's pid, so a Ctrl-C here can stop it there.
    launch = f"echo $$ > {shell_path(pid_path)} && exec {command}"
    commands = [prepare,
                f"# sftp: create {config_path} (exclusive), chmod 600, then write the {spec.name} credentials",
                launch,
                f"# sftp: remove {config_path} and {pid_path}"]
    result = SyncResult(spec.name, spec.version, destination_url(settings), commands, dry_run=dry_run)
    if dry_run:
        return result

    output = tool_output(spec.name, manifest_totals)
    say = on_progress or (lambda line: None)
    run(connection, prepare, f"preparing {run_dir(settings)}")
    started = time.monotonic()
    with _secret_file(connection, config_path, credentials_file(settings)):
        try:
            exit_code = _stream(connection, launch, output, lambda line: say(scrub(line, settings)),
                                on_interrupt=lambda: _stop(connection, pid_path))
        finally:
            _remove(connection, pid_path)
    result.elapsed = time.monotonic() - started
    result.files_transferred, result.bytes_transferred = output.files, output.bytes
    if output.failed(exit_code):
        _raise_failure(connection, settings, spec, exit_code, output)
    return result


# --- helpers ---------------------------------------------------------------------------------

class LineWriter:
    """A stream for Invoke's out_stream/err_stream: calls ``handle(line)`` once per complete line."""

    def __init__(self, handle: Callable[[str], None]):
        self._handle = handle
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._handle(line.rstrip("\r"))
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """Hand over a last line that had no newline."""
        if self._pending:
            line, self._pending = self._pending, ""
            self._handle(line.rstrip("\r"))


def _answers(connection: Connection, spec: ToolSpec, probe: str) -> bool:
    """Does the tool run and report the pinned version?  Raises only when the host is unreachable."""
    try:
        result = connection.run(probe, hide=True, warn=True, in_stream=False, timeout=60)
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: cannot probe {spec.name}: {error}") from None
    return result.ok and answers_pinned_version(spec, result.stdout + result.stderr)


def _stream(connection: Connection, command: str, output: ToolOutput, say: Callable[[str], None],
            on_interrupt: Callable[[], None]) -> int:
    """Run the tool, feeding both streams to ``output`` line by line; return its exit code.

    Asynchronous on purpose: a synchronous run without a pty swallows Ctrl-C until
    the remote command ends (Invoke joins its reader threads first).  Here a
    Ctrl-C calls ``on_interrupt`` (which stops the tool), waits for the tool's
    end, and is raised again.
    """
    lock = threading.Lock()   # Invoke reads stdout and stderr in two threads

    def handler(stream: str) -> Callable[[str], None]:
        def handle(line: str) -> None:
            with lock:
                shown = output.feed(line, stream)
            if shown:
                say(shown)
        return handle

    out, err = LineWriter(handler("stdout")), LineWriter(handler("stderr"))
    try:
        promise = connection.run(command, asynchronous=True, hide=False, echo=False, warn=True, pty=False,
                                 in_stream=False, out_stream=out, err_stream=err)
        try:
            while not promise.runner.process_is_finished:
                time.sleep(0.1)
        except KeyboardInterrupt:
            on_interrupt()
            promise.join()
            raise
        result = promise.join()
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: the upload lost its connection: {error}") from None
    finally:
        out.close()
        err.close()
    final = output.final_line()
    if final:
        say(final)
    return result.exited


def _raise_failure(connection: Connection, settings: Settings, spec: ToolSpec, exit_code: int,
                   output: ToolOutput) -> None:
    detail = [line if len(line) <= 300 else line[:297] + "..." for line in list(output.problems)[-3:]]
    if exit_code == 127:
        detail.append(f"{spec.name} {spec.version} is not installed in {venv_dir(settings, spec)}: "
                      "run install_sync_tool first")
    counted = f", {output.errors:,} errors" if output.errors else ""
    message = (f"{connection.original_host}: {spec.name} upload to {destination_url(settings)} failed "
               f"(exit {exit_code}{counted})")
    if detail:
        message += ": " + " | ".join(detail)
    raise RemoteError(scrub(message, settings))


@contextmanager
def _secret_file(connection: Connection, path: str, content: str) -> Iterator[None]:
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
        _remove(connection, path, required=True)


def _remove(connection: Connection, path: str, required: bool = False) -> None:
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


def _stop(connection: Connection, pid_path: str) -> None:
    """Best effort, after a Ctrl-C here: stop the tool there (its pid was written by its shell)."""
    path = shell_path(pid_path)
    try:
        connection.run(f'pid=$(cat {path} 2>/dev/null) && [ -n "$pid" ] && kill -TERM "$pid"',
                       hide=True, warn=True, in_stream=False, timeout=30)
    except (OSError, paramiko.SSHException):
        pass
