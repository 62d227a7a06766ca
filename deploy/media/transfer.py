"""Media between the disk and the bucket during a run, and the checks that it all arrived.

Shared by the cutover, the rollback and the undo of a reload (``deploy.flows.direction``
holds which of these each direction uses).  Nothing here
deletes: an upload or a download only adds what the other side lacks, and only
overwrites when told to (a download moves the file it replaces aside, under
TOOLS_DIR/displaced/<run id>/).
"""

from __future__ import annotations

import time
from typing import Callable

from ..engine.run import Run
from ..errors import VerifyError
from ..sync import runner
from . import manifest
from .compare import VerifyReport

# Rounds of copy-and-check until complete: the site may store a file between a
# copy and the check after it.
ROUNDS = 3


def upload(run: Run, overwrite: bool = True) -> str:
    """What the disk has and the bucket lacks (or has with another size, when ``overwrite``)."""
    if run.upload_started is None:
        run.upload_started = manifest.host_clock(run)
    files, size, problems = manifest.scan(run)
    for problem in problems:
        run.say(f"    ! {run.settings.media_host}: {problem} (not uploaded)")
    result = runner.upload_media(run.media_connection, run.settings, manifest_totals=(files, size),
                                 on_progress=lambda line: run.say(f"    {line}"), exclude=manifest.unreadable(problems),
                                 overwrite=overwrite)
    run.journal.record("counts", step="upload", files=files, bytes=size, problems=len(problems),
                       transferred=result.files_transferred, transferred_bytes=result.bytes_transferred,
                       seconds=result.elapsed)
    sent = "" if result.files_transferred is None else \
        f"{result.files_transferred} uploaded ({(result.bytes_transferred or 0) / 1e6:.1f} MB), "
    return (f"{files} files, {size / 1e6:.1f} MB in the tree; {sent}the rest already there "
            f"({result.tool} {result.version}, {result.elapsed:.1f} s)")


def upload_missing(run: Run) -> str:
    """Only what the bucket lacks: once the site serves from the bucket, the bucket wins."""
    return upload(run, overwrite=False)


def upload_until_complete(run: Run) -> str:
    """Missing files only (the bucket wins now), until the bucket holds every file on disk."""
    report, uploaded = _until_complete(run, upload_missing, lambda report: report.ok)
    if not report.ok:
        raise VerifyError("the bucket still lacks files from disk after "
                          f"{ROUNDS} rounds:\n    " + "\n    ".join(report.summary_lines()))
    run.journal.record("counts", step="final verify", local=report.local_count, remote=report.remote_count,
                       matched=report.matched, extra=report.extra.count)
    return "\n".join([uploaded, *report.summary_lines()])


def download(run: Run, overwrite: bool = True) -> str:
    """What the bucket has and the disk lacks (or has with another size, when ``overwrite``: the file on disk
    is moved aside first, into the run's displaced directory)."""
    result = runner.download_media(run.media_connection, run.settings, overwrite=overwrite,
                                   displaced_dir=displaced_dir(run), exclude=run.unreadable,
                                   on_progress=lambda line: run.say(f"    {line}"))
    run.journal.record("counts", step="download", overwrite=overwrite, transferred=result.files_transferred,
                       transferred_bytes=result.bytes_transferred, seconds=result.elapsed)
    count = result.files_transferred
    return f"{'no' if count == 0 else count if count is not None else 'the missing'} files downloaded " \
           f"({result.tool}, {result.elapsed or 0:.1f} s)"


def download_missing(run: Run) -> str:
    """Only what the disk lacks: once the site serves from disk, the disk wins."""
    return download(run, overwrite=False)


def download_until_complete(run: Run) -> str:
    """Missing files only (the disk wins now), until every object under the prefix is on disk."""
    report, downloaded = _until_complete(run, download_missing, lambda report: not report.extra.count)
    if report.extra.count:
        raise VerifyError(f"{report.extra.count} objects in the bucket are still not on disk after "
                          f"{ROUNDS} rounds, e.g. {', '.join(report.extra.samples[:3])}")
    run.journal.record("counts", step="reverse verify", on_disk=report.local_count,
                       in_bucket=report.remote_count, not_on_disk=0)
    return (f"{downloaded}\nevery one of {report.remote_count} objects under "
            f"{run.settings.media_prefix}/ is on disk ({report.local_count} files there)")


def _until_complete(run: Run, copy: Callable[[Run], str],
                    complete: Callable[[VerifyReport], bool]) -> tuple[VerifyReport, str]:
    """Copy what is missing and compare the tree with the bucket, up to ROUNDS times, until ``complete``;
    returns the last report and what the last copy said."""
    for round_number in range(1, ROUNDS + 1):
        copied = copy(run)
        report, _ = manifest.compare_tree(run)
        if complete(report) or round_number == ROUNDS:
            return report, copied
        time.sleep(1)


def displaced_dir(run: Run) -> str:
    return f"{run.settings.tools_dir.rstrip('/')}/displaced/{run.run_id}"


def preview_upload(run: Run, overwrite: bool = True) -> str:
    result = runner.upload_media(run.media_connection, run.settings, dry_run=True, overwrite=overwrite)
    return "\n".join(result.commands)


def preview_upload_missing(run: Run) -> str:
    return preview_upload(run, overwrite=False)


def preview_download(run: Run, overwrite: bool = True) -> str:
    result = runner.download_media(run.media_connection, run.settings, overwrite=overwrite,
                                   displaced_dir=displaced_dir(run), dry_run=True,
                                   exclude=run.unreadable)
    return "\n".join(result.commands)


def preview_download_missing(run: Run) -> str:
    return preview_download(run, overwrite=False)
