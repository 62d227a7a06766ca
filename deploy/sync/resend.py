"""Sending again exactly the files a copy failed on a transient fault of the store: the request, not the pass.

rclone retries a request itself (``--low-level-retries N``: its SDK's attempts, and for a single-part upload,
whose streamed body its SDK tries once, the whole file again), with its pacer's short sleeps.  A file it
still failed after N tries used to fail the pass, and its own remedy, ``--retries``, repeats the whole pass:
the bucket listed and compared again (minutes at 100,000 files), where the store's faults meet it as
before.  Here each failed file's error line names the file and what the store said
(``deploy.sync.output``): when every error of a copy is such a fault, exactly those files are copied again,
by list (rclone ``--files-from-raw --no-traverse``: neither side is listed), after the policy's backoff,
longer than rclone's (a store throttling for seconds gets them), while the policy's attempts and time last
(``deploy.retry``).  A file the store still fails then is a StoreUnavailable naming it, the store's answer
and the runs; a 403, or an error that names no file, fails the copy at once, as before.

The faults sent again (and those s3cmd says it retried itself) are counted in the run's tally.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import paramiko
from fabric import Connection

from ..config.paths import sftp_path
from ..config.types import Settings
from ..errors import RemoteError, StoreUnavailable
from ..retry import FaultTally, gave_up, kinds_said, policy_of
from .files import remove_file
from .output import SOURCE_CHANGED, ToolOutput
from .tools import run_dir

# One run of the tool over a list file of its files (None: its whole pass): its exit code and what it said.
RunOnce = Callable[[str | None], tuple[int, ToolOutput]]


@dataclass
class Copied:
    """Every run of the tool one copy took: its pass, then the rounds that sent failed files again."""

    exit_code: int
    outputs: list[ToolOutput]
    seconds: float

    @property
    def last(self) -> ToolOutput:
        return self.outputs[-1]

    def total(self, counter: str) -> int | None:
        """A counter of the tool's (``files``, ``checked``, ...) over every run; None when its pass did not say."""
        values = [getattr(output, counter) for output in self.outputs]
        return None if values[0] is None else sum(value or 0 for value in values)


def copy_until_done(connection: Connection, settings: Settings, run_once: RunOnce, what: str,
                    faults: FaultTally | None = None, say: Callable[[str], None] = lambda line: None,
                    sleep: Callable[[float], None] = time.sleep) -> Copied:
    """The tool's pass, then its failed files again while every failure is a transient fault (at most the
    policy's attempts in all); the last run's exit code and every run's output."""
    policy, begin = policy_of(settings), time.monotonic()
    exit_code, output = run_once(None)
    outputs, retried = [output], Counter()
    _count_own_retries(output, faults, retried)
    first_failure = time.monotonic()
    while output.failed(exit_code) and (names := output.resendable()) is not None:
        kinds = Counter(fault.kind for fault in output.failed_files.values())
        wait = policy.backoff(len(outputs))
        if len(outputs) >= policy.attempts or time.monotonic() - first_failure + wait > policy.seconds:
            name, fault = next(iter(output.failed_files.items()))
            more = f" and {len(names) - 1} more files" if len(names) > 1 else ""
            runs = f"{len(outputs)} runs of the tool, each trying it up to {policy.attempts} times"
            raise StoreUnavailable(gave_up(f"{connection.original_host}: {what}: {name}{more} ({runs})", fault,
                                           len(outputs), time.monotonic() - begin, retried, policy))
        for kind, count in kinds.items():
            if kind != SOURCE_CHANGED:   # a file written during the copy: not the store's doing
                retried[kind] += count
                if faults is not None:
                    faults.add(kind, count)
        say(f"{len(names)} files failed on a transient fault ({kinds_said(kinds)}): sending exactly those again")
        sleep(wait)
        exit_code, output = _run_list(connection, settings, names, run_once)
        outputs.append(output)
        _count_own_retries(output, faults, retried)
    return Copied(exit_code, outputs, time.monotonic() - begin)


def _run_list(connection: Connection, settings: Settings, names: list[str],
              run_once: RunOnce) -> tuple[int, ToolOutput]:
    """``run_once`` over a list file of ``names`` in the private run directory, removed afterwards."""
    path = f"{run_dir(settings)}/resend-{secrets.token_hex(8)}.list"
    try:
        handle = connection.sftp().open(sftp_path(path), "wx")
        try:
            handle.write("".join(name + "\n" for name in names).encode("utf-8"))
        finally:
            handle.close()
    except (OSError, paramiko.SSHException) as error:
        raise RemoteError(f"{connection.original_host}: cannot write the list of files to send again, {path}: "
                          f"{error}") from None
    try:
        return run_once(path)
    finally:
        remove_file(connection, path)


def _count_own_retries(output: ToolOutput, faults: FaultTally | None, retried: Counter) -> None:
    for kind, count in output.retried.items():
        retried[kind] += count
        if faults is not None:
            faults.add(kind, count)
