"""Room for a rewrite's record, judged before the rewrite writes anything: on the content host, where the
program writes its own record (``content_urls.host_record``), and on the operator's machine, runs/, where
it is fetched.  Without that room the way back would be what fails: a rewrite whose record cannot be kept
cannot be put back.

The sizes are the find's (``--chars``: each field's characters in its rows, summed by the database); the
judgement is ``deploy.site.edits.content_url_record.record_room_problem``.  The program checks each model's
exact lines again on the host before it commits (``RECORD_RESERVE``).
"""

from __future__ import annotations

import posixpath
import shutil
from pathlib import Path

from ...config.paths import shell_path
from ...engine.run import Run
from ...errors import PreflightError
from ...remote.ssh import run as remote_run
from ...text_table import counted
from ..edits.content_url_record import record_estimate, record_room_problem
from ..facts.content_urls import ContentReport
from .content_urls import content_host, host_record, record_path


def free_on_host(run: Run, directory: str) -> int:
    """Bytes free (``df -Pk``: what the deploy user may use) on the content host's filesystem that holds
    ``directory``, or would hold it: its nearest existing parent is asked."""
    alias = content_host(run).alias
    command = (f"d={shell_path(directory)}; while [ ! -e \"$d\" ] && [ \"$d\" != / ]; do d=$(dirname \"$d\"); "
               f"done; df -Pk \"$d\" | tail -n 1")
    output = remote_run(run.connection(alias), command, f"checking free space for {directory}")
    try:
        return int(output.split()[3]) * 1024
    except (IndexError, ValueError):
        raise PreflightError(f"{alias}: cannot read free space of {directory} from df: {output.strip()!r}") from None


def free_here(directory: Path) -> int:
    """Bytes free on this machine's filesystem that holds ``directory`` (or would: its nearest existing parent)."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return shutil.disk_usage(directory).free


def check_record_room(run: Run, report: ContentReport) -> str:
    """Refused (PreflightError, nothing changed) unless both places have room for the record of every row the
    find saw holding old media URLs; else one line saying how much it takes and what is free."""
    rows = sum(field.rows for field in report.url_fields)
    chars = sum(report.chars.get(field.field, 0) for field in report.url_fields)
    if not rows:
        return "no row to record"
    alias = content_host(run).alias
    on_host = posixpath.dirname(host_record(run))
    here = record_path(run).parent
    host_free, local_free = free_on_host(run, on_host), free_here(here)
    for where, directory, free in ((alias, on_host, host_free), ("this machine", str(here), local_free)):
        problem = record_room_problem(where, directory, chars, rows, free)
        if problem:
            raise PreflightError(problem)
    return (f"the record of up to {counted(rows, 'row')} takes about {record_estimate(chars, rows) / 1e6:,.1f} MB: "
            f"{alias} has {host_free / 1e6:,.0f} MB free in {on_host}, this machine {local_free / 1e6:,.0f} MB "
            f"in {here}")
