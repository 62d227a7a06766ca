"""Media between the disk and the bucket during a run, and the checks that it all arrived.

Shared by the cutover, the rollback and the undo of a reload (``deploy.flows.direction``
holds which of these each direction uses).  These are the full passes: the first
copy, and every pass of a tool that cannot copy a list; the later passes are
``deploy.media.delta``'s, the final check ``deploy.media.complete``'s.  Nothing here
deletes: an upload or a download only adds what the other side lacks, and only
overwrites when told to (a download moves the file it replaces aside, under
TOOLS_DIR/displaced/<run id>/).  What the copies learn for the next ones is the run's ``Passes``,
handed in (``deploy.media.passes``).
"""

from __future__ import annotations

from ..engine.counts import DownloadCounts, UploadCounts
from ..engine.run import Run
from ..sync import on_host as runner
from . import manifest
from .accounting import UploadAccount
from .passes import Passes


def upload(run: Run, passes: Passes, overwrite: bool = True) -> str:
    """What the disk has and the bucket lacks (or has with another size, when ``overwrite``)."""
    started = manifest.host_clock(run)
    if passes.upload_started is None:
        passes.upload_started = started
    files, size, problems = manifest.scan(run)
    for problem in problems:
        run.say(f"    ! {run.settings.media_host}: {problem} (not uploaded)")
    result = runner.upload_media(run.media_connection, run.settings, manifest_totals=(files, size),
                                 on_progress=lambda line: run.say(f"    {line}"), exclude=manifest.unreadable(problems),
                                 overwrite=overwrite, faults=run.faults)
    run.journal.record(UploadCounts(files=files, bytes=size, problems=len(problems),
                                    transferred=result.files_transferred, transferred_bytes=result.bytes_transferred,
                                    checked=result.files_checked, errors=result.errors_reported,
                                    seconds=result.elapsed))
    if passes.upload_account is None:
        passes.upload_account = UploadAccount(result.tool, files, result.files_transferred, result.files_checked,
                                              result.errors_reported)
    passes.disk_mark = float(started)  # the next pass from disk copies only what changed since (deploy.media.delta)
    sent = "" if result.files_transferred is None else \
        f"{result.files_transferred} uploaded ({(result.bytes_transferred or 0) / 1e6:.1f} MB), "
    return (f"{files} files, {size / 1e6:.1f} MB in the tree; {sent}the rest already there "
            f"({result.tool} {result.version}, {result.elapsed:.1f} s)")


def upload_missing(run: Run, passes: Passes) -> str:
    """Only what the bucket lacks: once the site serves from the bucket, the bucket wins."""
    return upload(run, passes, overwrite=False)


def download(run: Run, passes: Passes, overwrite: bool = True) -> str:
    """What the bucket has and the disk lacks (or has with another size, when ``overwrite``: the file on disk
    is moved aside first, into the run's displaced directory)."""
    result = runner.download_media(run.media_connection, run.settings, overwrite=overwrite,
                                   displaced_dir=displaced_dir(run), exclude=passes.unreadable,
                                   on_progress=lambda line: run.say(f"    {line}"), faults=run.faults)
    run.journal.record(DownloadCounts(overwrite=overwrite, transferred=result.files_transferred,
                                      transferred_bytes=result.bytes_transferred, seconds=result.elapsed))
    count = result.files_transferred
    return f"{'no' if count == 0 else count if count is not None else 'the missing'} files downloaded " \
           f"({result.tool}, {result.elapsed or 0:.1f} s)"


def download_missing(run: Run, passes: Passes) -> str:
    """Only what the disk lacks: once the site serves from disk, the disk wins."""
    return download(run, passes, overwrite=False)


def displaced_dir(run: Run) -> str:
    return f"{run.settings.tools_dir.rstrip('/')}/displaced/{run.run_id}"


def preview_upload(run: Run, overwrite: bool = True) -> str:
    result = runner.upload_media(run.media_connection, run.settings, dry_run=True, overwrite=overwrite)
    return "\n".join(result.commands)


def preview_upload_missing(run: Run) -> str:
    return preview_upload(run, overwrite=False)


def preview_download(run: Run, passes: Passes, overwrite: bool = True) -> str:
    result = runner.download_media(run.media_connection, run.settings, overwrite=overwrite,
                                   displaced_dir=displaced_dir(run), dry_run=True,
                                   exclude=passes.unreadable)
    return "\n".join(result.commands)


def preview_download_missing(run: Run, passes: Passes) -> str:
    return preview_download(run, passes, overwrite=False)
