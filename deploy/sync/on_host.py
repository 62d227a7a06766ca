"""Upload MEDIA_ROOT to the bucket with the sync tool on the media host, and back (the rollback's download).

The upload runs on the media host (the files are there), never deletes, skips
objects already uploaded with the same size (with ``overwrite=False``: every
object already there), and streams the tool's progress to ``on_progress``
line by line.  The download (rollback) runs there too, never deletes either,
moves a file it replaces into a displaced directory outside the media tree,
and runs the tool under the umask MEDIA_ROOT's own mode calls for.

Every command carries the retry policy's flags (``deploy.sync.commands.with_retry_flags``),
and the files an rclone copy failed on a transient fault of the store are sent again,
exactly those (``deploy.sync.resend``), counted in the run's tally (``faults=``).

The credentials reach the tool only through a file: written over SFTP into
``{TOOLS_DIR}/run/`` (mode 700), chmod 600 before a byte is written, removed
when the tool has exited, also on failure or Ctrl-C.  Never on a command line,
never through ``env=`` (Fabric sends that inline: visible in ``ps``).

The tool is installed there first by ``deploy.sync.install``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import paramiko
from fabric import Connection

from ..config.types import Settings
from ..errors import PreflightError, RemoteError
from ..remote.ssh import run
from ..retry import FaultTally
from .commands import destination_url, upload_command, with_retry_flags
from .download_commands import check_download_umask, download_command, inspect_command, umask_for
from .files import create_note, launch_command, remove_file, remove_note, run_files, secret_file, stop_tool
from .output import LineWriter, ToolOutput, tool_output
from .resend import Copied, copy_until_done
from .tools import ToolSpec, credentials_file, prepare_run_dir_command, run_dir, scrub, tool_spec, venv_dir


@dataclass
class SyncResult:
    """One upload or download: the counters are None when the tool did not report them."""

    tool: str
    version: str
    destination: str                      # the bucket URL, or MEDIA_ROOT for a download
    commands: list[str]
    files_transferred: int | None = None
    bytes_transferred: int | None = None
    elapsed: float | None = None          # seconds, measured here around the tool's run
    dry_run: bool = False
    source: str | None = None             # a download's bucket URL
    files_displaced: int | None = None    # a download's replaced files, moved into displaced_dir
    files_checked: int | None = None      # found on the other side with the same size (rclone)
    errors_reported: int | None = None    # the tool's own error count (rclone)
    umask: str | None = None              # a download's umask, from MEDIA_ROOT's mode (e.g. "002")


def upload_media(connection: Connection, settings: Settings, *,
                 manifest_totals: tuple[int, int] | None = None,
                 on_progress: Callable[[str], None] | None = None,
                 dry_run: bool = False, exclude: Iterable[str] = (), overwrite: bool = True,
                 files_from: str | None = None, faults: FaultTally | None = None) -> SyncResult:
    """Copy MEDIA_ROOT to ``s3://BUCKET/PREFIX/`` with the configured tool, from the media host.

    ``manifest_totals`` is (files, bytes) of the media manifest, shown next to the
    progress of tools that only count.  ``exclude`` holds paths relative to
    MEDIA_ROOT to leave out: the manifest's symlink loops (and its dangling
    symlinks, which rclone counts as errors).  With ``overwrite`` (the default)
    an object whose size differs is replaced; without, an object already in the
    bucket never is (the catch-up pass: the site may have written it).  Raises
    RemoteError naming the host when the tool fails, PreflightError when the
    tool cannot (s5cmd with excludes), ValueError for a malformed exclude.
    ``files_from``: a list file on the media host; only its paths are copied
    (``deploy.sync.commands.upload_command``).  Files failed on a transient fault of the store are sent
    again (``deploy.sync.resend``: StoreUnavailable when the store keeps failing them); ``faults``
    counts them.
    """
    spec = tool_spec(settings.sync_tool)
    config_path, pid_path = run_files(settings, spec)

    def launch(files: str | None) -> str:   # the pass (files_from), or a list of its files to send again
        return launch_command(pid_path, with_retry_flags(settings, upload_command(
            settings, config_path, exclude, overwrite=overwrite, files_from=files or files_from)))
    prepare = prepare_run_dir_command(settings)
    commands = [prepare, create_note(config_path, spec), launch(None), remove_note(config_path, pid_path)]
    result = SyncResult(spec.name, spec.version, destination_url(settings), commands, dry_run=dry_run)
    if dry_run:
        return result

    def run_once(files: str | None) -> tuple[int, ToolOutput]:
        output = tool_output(spec.name, None if files else manifest_totals)
        return _run_tool(connection, settings, config_path, pid_path, launch(files), output, on_progress,
                         "upload")[0], output
    run(connection, prepare, f"preparing {run_dir(settings)}")
    what = f"upload to {destination_url(settings)}"
    copied = copy_until_done(connection, settings, run_once, f"{spec.name} {what}", faults, _said(on_progress))
    _fill(result, copied)
    if copied.last.failed(copied.exit_code):
        _raise_failure(connection, settings, spec, copied.exit_code, copied.last, what)
    return result


def download_media(connection: Connection, settings: Settings, *, overwrite: bool, displaced_dir: str,
                   on_progress: Callable[[str], None] | None = None, dry_run: bool = False,
                   exclude: Iterable[str] = (), files_from: str | None = None,
                   faults: FaultTally | None = None) -> SyncResult:
    """Copy ``s3://BUCKET/PREFIX/`` into MEDIA_ROOT with the configured tool, on the media host (rollback).

    Copies every object missing on disk; with ``overwrite`` also every object
    whose size differs, after moving the file on disk into ``displaced_dir``
    under its relative path (it must be outside the media tree and empty).
    Never deletes, in the bucket or on disk.  The tool runs under the umask
    MEDIA_ROOT's own mode calls for (2775 -> 002), so new files and directories
    get the site's permissions (and a setgid MEDIA_ROOT's group).  ``exclude``
    as for upload_media: paths on disk not to touch.  Pass the manifest's
    dangling symlinks: rclone counts one as an error (exit 6) and still
    downloads a same-named object over it.

    Raises PreflightError before any change when the tool cannot (s3cmd;
    s5cmd with overwrite, excludes or a umask other than 022), when MEDIA_ROOT
    is missing, or when ``displaced_dir`` is inside the media tree or already
    holds files; RemoteError naming the host when the tool fails.  Objects failed on a transient fault of
    the store are downloaded again, as upload_media's files are.
    """
    spec = tool_spec(settings.sync_tool)
    config_path, pid_path = run_files(settings, spec)

    def command(files: str | None) -> str:   # the pass (files_from), or a list of its objects to fetch again
        return with_retry_flags(settings, download_command(settings, config_path, overwrite=overwrite,
                                                           displaced_dir=displaced_dir, exclude=exclude,
                                                           files_from=files or files_from))
    inspect, prepare = inspect_command(settings, displaced_dir), prepare_run_dir_command(settings)
    commands = [inspect, "# umask: 0777 minus MEDIA_ROOT's permission bits, others never writable (2775 -> 002)",
                prepare, create_note(config_path, spec), launch_command(pid_path, command(None), "UMASK"),
                remove_note(config_path, pid_path)]
    result = SyncResult(spec.name, spec.version, settings.media_root, commands, dry_run=dry_run,
                        source=destination_url(settings))
    if dry_run:
        return result

    umask = _download_umask(connection, settings, inspect, overwrite, displaced_dir)
    check_download_umask(spec.name, umask)
    result.umask = f"{umask:03o}"
    result.commands = [inspect, prepare, commands[3], launch_command(pid_path, command(None), result.umask),
                       commands[5]]

    def run_once(files: str | None) -> tuple[int, ToolOutput]:
        output = tool_output(spec.name, verb="downloaded")
        launch = launch_command(pid_path, command(files), result.umask)
        return _run_tool(connection, settings, config_path, pid_path, launch, output, on_progress,
                         "download")[0], output
    run(connection, prepare, f"preparing {run_dir(settings)}")
    what = f"download from {destination_url(settings)} to {settings.media_root}"
    copied = copy_until_done(connection, settings, run_once, f"{spec.name} {what}", faults, _said(on_progress))
    _fill(result, copied)
    result.files_displaced = copied.total("displaced") if overwrite else 0
    if copied.last.failed(copied.exit_code):
        _raise_failure(connection, settings, spec, copied.exit_code, copied.last, what)
    return result


# --- helpers ---------------------------------------------------------------------------------

def _fill(result: SyncResult, copied: Copied) -> None:
    """The tool's counters over every run of the copy (its pass, and what it sent again)."""
    result.elapsed = copied.seconds
    result.files_transferred, result.bytes_transferred = copied.total("files"), copied.total("bytes")
    result.files_checked, result.errors_reported = copied.total("checked"), copied.last.reported_errors


def _said(on_progress: Callable[[str], None] | None) -> Callable[[str], None]:
    return on_progress or (lambda line: None)


def _run_tool(connection: Connection, settings: Settings, config_path: str, pid_path: str, launch: str,
              output: ToolOutput, on_progress: Callable[[str], None] | None, what: str) -> tuple[int, float]:
    """Run the tool while its credentials file exists; return its exit code and the seconds it took."""
    say = on_progress or (lambda line: None)
    started = time.monotonic()
    with secret_file(connection, config_path, credentials_file(settings)):
        try:
            exit_code = _stream(connection, launch, output, lambda line: say(scrub(line, settings)),
                                on_interrupt=lambda: stop_tool(connection, pid_path), what=what)
        finally:
            remove_file(connection, pid_path)
    return exit_code, time.monotonic() - started


def _download_umask(connection: Connection, settings: Settings, inspect: str, overwrite: bool,
                    displaced_dir: str) -> int:
    """MEDIA_ROOT's umask; with overwrite, also check the displaced directory is outside and empty."""
    host = connection.original_host
    stdout = run(connection, inspect, f"inspecting {settings.media_root}")
    try:
        info = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RemoteError(f"{host}: inspecting {settings.media_root} printed {stdout[-200:]!r}, "
                          "not the expected JSON") from None
    if info.get("root_mode") is None:
        raise PreflightError(f"{host}: MEDIA_ROOT {settings.media_root} is not a directory; create it "
                             "with the site's owner and mode before downloading into it")
    if overwrite:
        root, displaced = info["root"].rstrip("/") + "/", info["displaced"].rstrip("/") + "/"
        if displaced.startswith(root) or root.startswith(displaced):
            raise PreflightError(
                f"{host}: the displaced directory {displaced_dir} ({displaced}) overlaps MEDIA_ROOT "
                f"({root}); choose one outside the media tree, such as ~/.media-cutover/displaced/<run id>/")
        if info["displaced_used"]:
            raise PreflightError(
                f"{host}: the displaced directory {displaced_dir} already holds something; a file "
                "displaced twice would replace the first one there. Choose a new, empty directory")
    return umask_for(info["root_mode"])


def _stream(connection: Connection, command: str, output: ToolOutput, say: Callable[[str], None],
            on_interrupt: Callable[[], None], what: str = "upload") -> int:
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
        raise RemoteError(f"{connection.original_host}: the {what} lost its connection: {error}") from None
    finally:
        out.close()
        err.close()
    final = output.final_line()
    if final:
        say(final)
    return result.exited


def _raise_failure(connection: Connection, settings: Settings, spec: ToolSpec, exit_code: int,
                   output: ToolOutput, what: str) -> None:
    detail = [line if len(line) <= 300 else line[:297] + "..." for line in list(output.problems)[-3:]]
    if exit_code == 127:
        detail.append(f"{spec.name} {spec.version} is not installed in {venv_dir(settings, spec)}: "
                      "run install_sync_tool first")
    counted = f", {output.errors:,} errors" if output.errors else ""
    message = f"{connection.original_host}: {spec.name} {what} failed (exit {exit_code}{counted})"
    if detail:
        message += ": " + " | ".join(detail)
    raise RemoteError(scrub(message, settings))
