"""The final completeness check: the whole tree against the whole bucket, repaired by exact list.

Run once, after the sites answer healthy in their new mode and their old
workers have finished (off the change-over's critical path), and by the undo
of a reload.  Each round compares the manifest with the listing; what the new
storage lacks is copied, exactly that list, without replacing anything there
(the sites write into it now: it wins), and compared again, up to ROUNDS
times: an old worker may still have stored a file between two rounds.
"""

from __future__ import annotations

import time
from typing import Callable

from ..engine.run import Run
from ..errors import VerifyError
from ..sync.commands import supports_lists
from . import delta, manifest, transfer
from .compare import VerifyReport

ROUNDS = 3


def upload_until_complete(run: Run) -> str:
    """Until the bucket holds every file on disk (missing ones uploaded; an object there is never replaced)."""
    report, copied = _until_complete(run, lambda report: report.missing, _upload)
    if not report.ok:
        raise VerifyError("the bucket still lacks files from disk after "
                          f"{ROUNDS} rounds:\n    " + "\n    ".join(report.summary_lines()))
    run.journal.record("counts", step="final verify", local=report.local_count, remote=report.remote_count,
                       matched=report.matched, extra=report.extra.count, copied=copied)
    return "\n".join([f"{copied} files uploaded by the check", *report.summary_lines()])


def download_until_complete(run: Run) -> str:
    """Until every object under the prefix is on disk (missing ones downloaded; a file there is never replaced)."""
    report, copied = _until_complete(run, lambda report: report.extra, _download)
    if report.extra.count:
        raise VerifyError(f"{report.extra.count} objects in the bucket are still not on disk after "
                          f"{ROUNDS} rounds, e.g. {', '.join(report.extra.samples[:3])}")
    run.journal.record("counts", step="reverse verify", on_disk=report.local_count,
                       in_bucket=report.remote_count, not_on_disk=0, copied=copied)
    return (f"{copied} files downloaded by the check\nevery one of {report.remote_count} objects under "
            f"{run.settings.media_prefix}/ is on disk ({report.local_count} files there)")


def _upload(run: Run, keys: list[str]) -> int:
    if not supports_lists(run.settings.sync_tool):
        transfer.upload_missing(run)
        return len(keys)
    return delta.upload_keys(run, keys).files_transferred or 0


def _download(run: Run, keys: list[str]) -> int:
    if not supports_lists(run.settings.sync_tool):
        transfer.download_missing(run)
        return len(keys)
    return delta.download_keys(run, keys).files_transferred or 0


def _until_complete(run: Run, lacking: Callable[[VerifyReport], object],
                    copy: Callable[[Run, list[str]], int]) -> tuple[VerifyReport, int]:
    """Compare, copy exactly what the new storage lacks, again, up to ROUNDS copies; the last report and how
    many files were copied in all."""
    copied, report = 0, manifest.compare_tree(run, collect=True)[0]
    for round_number in range(ROUNDS):
        missing = lacking(report)
        if not missing.count:
            break
        if round_number:
            time.sleep(1)  # an old worker may still be storing a file
        copied += copy(run, missing.every)
        report = manifest.compare_tree(run, collect=True)[0]
    return report, copied
