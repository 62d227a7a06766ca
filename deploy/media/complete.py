"""The final completeness check: the whole tree against the whole bucket, repaired by exact list.

Run once, after the sites answer healthy in their new mode and their old
workers have finished (off the change-over's critical path), and by the undo
of a reload.  Each round compares the manifest with the listing; what the new
storage lacks is copied, exactly that list, without replacing anything there
(the sites write into it now: it wins), and compared again, up to ROUNDS
times: an old worker may still have stored a file between two rounds.  A tool that cannot copy a
list makes a full pass instead (``deploy.media.transfer``, over the run's ``Passes``).
"""

from __future__ import annotations

import time
from typing import Callable

from ..engine.counts import FinalVerifyCounts, ReverseVerifyCounts
from ..engine.run import Run
from ..errors import VerifyError
from ..sync.commands import supports_lists
from ..store.probe import missing_keys
from . import delta, manifest, transfer
from .compare import VerifyReport
from .passes import Passes

ROUNDS = 3


def upload_until_complete(run: Run, passes: Passes) -> str:
    """Until the bucket holds every file on disk (missing ones uploaded; an object there is never replaced)."""
    report, copied = _until_complete(run, passes, lambda report: report.missing, _upload)
    arrived = _arrived(report.missing.every if report.missing.count else [], _lacking_in_bucket(run))
    if report.size_mismatch.count or report.md5_mismatch.count or len(arrived) < report.missing.count:
        raise VerifyError("the bucket still lacks files from disk after "
                          f"{ROUNDS} rounds:\n    " + "\n    ".join(report.summary_lines()))
    run.journal.record(FinalVerifyCounts(local=report.local_count, remote=report.remote_count, matched=report.matched,
                                         extra=report.extra.count, copied=copied, arrived=len(arrived)))
    lines = report.summary_lines() if not arrived else [
        f"local: {report.local_count:,} files; matched: {report.matched:,}; {len(arrived)} written while the "
        "last comparison ran, each found in the bucket by its key: OK, the bucket holds every local file"]
    return "\n".join([f"{copied} files uploaded by the check", *lines])


def download_until_complete(run: Run, passes: Passes) -> str:
    """Until every object under the prefix is on disk (missing ones downloaded; a file there is never replaced)."""
    report, copied = _until_complete(run, passes, lambda report: report.extra, _download)
    arrived = _arrived(report.extra.every if report.extra.count else [], _lacking_on_disk(run))
    if len(arrived) < report.extra.count:
        raise VerifyError(f"{report.extra.count} objects in the bucket are still not on disk after "
                          f"{ROUNDS} rounds, e.g. {', '.join(report.extra.samples[:3])}")
    run.journal.record(ReverseVerifyCounts(on_disk=report.local_count, in_bucket=report.remote_count, not_on_disk=0,
                                           copied=copied, arrived=len(arrived)))
    return (f"{copied} files downloaded by the check\nevery one of {report.remote_count} objects under "
            f"{run.settings.media_prefix}/ is on disk ({report.local_count} files there"
            + (f"; {len(arrived)} written while the last comparison ran, each found on disk by name)" if arrived
               else ")"))


# A site that writes both storages (the mirror) stores a file in one and then the other: a comparison
# that walks the one before and lists the other after sees it on one side only, though the copy that
# followed found it there.  What the last round still lacks is looked up by name, one by one.
CONFIRM_AT_MOST = 1000


def _arrived(keys: list[str], lacking: Callable[[list[str]], list[str]]) -> list[str]:
    """The keys (at most CONFIRM_AT_MOST) found on the lacking side when looked up by name; [] for none."""
    if not keys or len(keys) > CONFIRM_AT_MOST:
        return []
    still = set(lacking(keys))
    return [] if still else list(keys)


def _lacking_in_bucket(run: Run) -> Callable[[list[str]], list[str]]:
    return lambda keys: missing_keys(run.settings, keys, faults=run.faults)


def _lacking_on_disk(run: Run) -> Callable[[list[str]], list[str]]:
    def lacking(keys: list[str]) -> list[str]:
        prefix = f"{run.settings.media_prefix}/" if run.settings.media_prefix else ""
        names = [key[len(prefix):] if key.startswith(prefix) else key for key in keys]
        found = set(manifest.existing(run, names))
        return [key for key, name in zip(keys, names) if name not in found]
    return lacking


def _upload(run: Run, passes: Passes, keys: list[str]) -> int:
    if not supports_lists(run.settings.sync_tool):
        transfer.upload_missing(run, passes)
        return len(keys)
    return delta.upload_keys(run, keys).files_transferred or 0


def _download(run: Run, passes: Passes, keys: list[str]) -> int:
    if not supports_lists(run.settings.sync_tool):
        transfer.download_missing(run, passes)
        return len(keys)
    return delta.download_keys(run, keys).files_transferred or 0


def _until_complete(run: Run, passes: Passes, lacking: Callable[[VerifyReport], object],
                    copy: Callable[[Run, Passes, list[str]], int]) -> tuple[VerifyReport, int]:
    """Compare, copy exactly what the new storage lacks, again, up to ROUNDS copies; the last report and how
    many files were copied in all."""
    copied, report = 0, manifest.compare_tree(run, passes, collect=True)[0]
    for round_number in range(ROUNDS):
        missing = lacking(report)
        if not missing.count:
            break
        if round_number:
            time.sleep(1)  # an old worker may still be storing a file
        copied += copy(run, passes, missing.every)
        report = manifest.compare_tree(run, passes, collect=True)[0]
    return report, copied
