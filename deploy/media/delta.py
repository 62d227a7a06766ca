"""Delta passes: after the first copy, each pass moves only what changed since the previous one, by exact list.

Disk -> bucket (the cutover's passes, the rollback undo's carry-back): the media
host walks MEDIA_ROOT for files whose mtime or ctime is at or after the previous
pass's start minus MARGIN (``media_manifest.py --since --paths``: stdlib,
streaming, one ``lstat`` a file, so it works on NFS too), and the tool copies
exactly that list (rclone ``--files-from-raw --no-traverse``): the bucket is not
listed.  A file changed on disk since the previous pass is newer there than
what that pass could copy (it may have been half-written then), so it replaces
an object of another size.

Bucket -> disk (the rollback's passes, the cutover undo's carry-back): S3 has no
"changed since" query (and the LastModified of a multipart upload is when it
began), and listing the bucket costs the store ~60 µs a key (SeaweedFS here:
6-7 s at 100,000 keys).  So where the media host's MANAGE_PY is set, a pass asks
the site's database which files it references that are not on disk
(``deploy.site.ops.reference_feed``: one Django process for the run; the first pass
reads every row, ~0.5 s at 100,000, the later ones the rows added since) and
downloads exactly those: what a site on disk would render and fail to serve.  Without MANAGE_PY a
pass compares the bucket's parallel listing with the tree's manifest (both
streamed, ``deploy.media.compare``).  Objects no row references (orphans) come
down in the final completeness check (``deploy.media.complete``), which always
lists the whole bucket.

A tool that cannot take a list (s5cmd, s3cmd) makes each pass a full one, as
before; a run with no mark yet (nothing copied from disk so far) does one full
pass first.  Every pass's cost goes to the journal (``counts``, step "pass"); the mark, the
open feed and the last pass's count are the run's ``Passes`` (``deploy.media.passes``).
"""

from __future__ import annotations

import time

from ..config.paths import sftp_path, shell_path
from ..config.types import Settings
from ..engine.counts import PassCounts
from ..engine.run import Run
from ..remote.ssh import put_script
from ..remote.ssh import run as remote_run
from ..site.ops.reference_feed import ReferenceFeed
from ..sync import on_host as runner
from ..sync.commands import NICE, supports_lists
from ..sync.files import remove_file
from ..sync.tools import prepare_run_dir_command, run_dir
from . import manifest, transfer
from .passes import Passes

# Seconds before the previous pass's start that still count as "since": NFS and ext3 keep whole
# seconds, and the kernel stamps files from a clock a tick behind time.time().
MARGIN = 2.0


def upload_changed(run: Run, passes: Passes) -> str:
    """What changed on disk since the previous pass, copied to the bucket by exact list."""
    if passes.disk_mark is None or not supports_lists(run.settings.sync_tool):
        return transfer.upload_missing(run, passes)
    begin = time.monotonic()
    list_path = _list_path(run, "up")
    started, listed, problems = _changed_on_disk(run, passes.disk_mark - MARGIN, list_path)
    walked = time.monotonic() - begin
    try:
        result = runner.upload_media(run.media_connection, run.settings, files_from=list_path,
                                     faults=run.faults) if listed else None
    finally:
        remove_file(run.media_connection, list_path)
    passes.disk_mark = started
    return _passed(run, passes, "upload", listed, walked, result, begin, problems)


def download_changed(run: Run, passes: Passes) -> str:
    """What the site references (or, without MANAGE_PY, the bucket has) and the disk lacks, downloaded by
    exact list."""
    if not supports_lists(run.settings.sync_tool):
        return transfer.download_missing(run, passes)
    begin = time.monotonic()
    if run.settings.host(run.settings.media_host).manage_py:
        prefix = f"{run.settings.media_prefix}/" if run.settings.media_prefix else ""
        if passes.reference_feed is None:
            passes.reference_feed = ReferenceFeed(run)
            run.close_at_end(passes.reference_feed)  # one Django process for the whole run
        keys, found = [prefix + name for name in passes.reference_feed.missing_on_disk()], "referenced, not on disk"
    else:
        keys, found = manifest.compare_tree(run, passes, collect=True)[0].extra.every, "in the bucket, not on disk"
    finding = time.monotonic() - begin
    result = download_keys(run, keys) if keys else None
    return _passed(run, passes, "download", len(keys), finding, result, begin, 0, found)


def upload_keys(run: Run, keys: list[str]) -> runner.SyncResult:
    """Exactly these bucket keys, from disk, never replacing an object (the final verify's repair)."""
    return _with_list(run, "fix-up", keys, lambda path: runner.upload_media(
        run.media_connection, run.settings, files_from=path, overwrite=False, faults=run.faults))


def download_keys(run: Run, keys: list[str], settings: Settings | None = None) -> runner.SyncResult:
    """Exactly these bucket keys, to disk, never replacing a file; ``settings``: other than the run's (reclaim's
    undo downloads with rclone, whatever SYNC_TOOL says)."""
    return _with_list(run, "down", keys, lambda path: runner.download_media(
        run.media_connection, settings or run.settings, overwrite=False, displaced_dir=transfer.displaced_dir(run),
        files_from=path, faults=run.faults))


def mark_disk(run: Run, passes: Passes) -> None:
    """From now on the sites may store files on disk that the bucket must get: the next disk pass starts here."""
    if passes.disk_mark is None:
        passes.disk_mark = float(manifest.host_clock(run))


def preview_upload_changed(run: Run) -> str:
    if not supports_lists(run.settings.sync_tool):
        return f"{run.settings.sync_tool} cannot copy a list: a full pass\n" + transfer.preview_upload_missing(run)
    list_path = _list_path(run, "up")
    walk = _walk_command(run, '"$SINCE"', list_path, "media_manifest.py")
    upload = runner.upload_media(run.media_connection, run.settings, files_from=list_path, dry_run=True)
    return "\n".join([f"# SINCE: the previous pass's start minus {MARGIN:g} s (the host's clock)", walk,
                      *upload.commands])


def preview_download_changed(run: Run, passes: Passes) -> str:
    if not supports_lists(run.settings.sync_tool):
        return (f"{run.settings.sync_tool} cannot copy a list: a full pass\n"
                + transfer.preview_download_missing(run, passes))
    list_path = _list_path(run, "down")
    download = runner.download_media(run.media_connection, run.settings, overwrite=False, files_from=list_path,
                                     displaced_dir=transfer.displaced_dir(run), dry_run=True)
    return "\n".join([f"# the bucket's listing against the manifest; the keys the disk lacks into {list_path}",
                      *download.commands])


# --- helpers ---------------------------------------------------------------------------------

def _changed_on_disk(run: Run, since: float, list_path: str) -> tuple[float, int, int]:
    """(the walk's start on the host's clock, files listed, problems) of the files changed since ``since``,
    their paths written to ``list_path`` on the media host."""
    script = put_script(run.media_connection, run.settings.tools_dir, "media_manifest.py")
    command = _walk_command(run, f"{since:.6f}", list_path, script)
    report = remote_run(run.media_connection, command, f"listing what changed under {run.settings.media_root}")
    started, listed, problems = None, 0, 0
    for line in report.splitlines():
        if line.startswith("started: "):
            started = float(line.split()[1])
        elif line.startswith("listed: "):
            listed = int(line.split()[1])
        elif line and not line.startswith("problems: "):
            problems += 1
    if started is None:
        raise ValueError(f"media_manifest.py --since printed no start: {report[-200:]!r}")
    return started, listed, problems


def _walk_command(run: Run, since: str, list_path: str, script: str) -> str:
    settings = run.settings
    return (f"{prepare_run_dir_command(settings)} && {' '.join(NICE)} {shell_path(settings.remote_python)} "
            f"{shell_path(script)} --since {since} --paths {shell_path(settings.media_root)} "
            f"2>&1 >{shell_path(list_path)}")


def _with_list(run: Run, kind: str, keys: list[str], copy) -> runner.SyncResult:
    """Write the keys' paths below the prefix to a list file on the media host, copy, remove the list."""
    prefix = f"{run.settings.media_prefix}/" if run.settings.media_prefix else ""
    path = _list_path(run, kind)
    remote_run(run.media_connection, prepare_run_dir_command(run.settings), f"preparing {run_dir(run.settings)}")
    sftp = run.media_connection.sftp()
    with sftp.open(sftp_path(path), "wb") as list_file:
        list_file.write("".join(key[len(prefix):] + "\n" for key in keys).encode())
    try:
        return copy(path)
    finally:
        remove_file(run.media_connection, path)


def _list_path(run: Run, kind: str) -> str:
    return f"{run_dir(run.settings)}/{run.run_id}-{kind}.list"


def _passed(run: Run, passes: Passes, direction: str, listed: int, finding: float, result, begin: float,
            problems: int, found: str = "changed on disk") -> str:
    """Journal one pass's cost; its line for people."""
    copied = result.files_transferred if result is not None else 0
    seconds = time.monotonic() - begin
    passes.last_pass_listed = listed
    run.journal.record(PassCounts(direction=direction, listed=listed, copied=copied, find_seconds=round(finding, 3),
                                  seconds=round(seconds, 3), problems=problems))
    verb = "uploaded" if direction == "upload" else "downloaded"
    return f"{listed} {found}, {copied or 0} {verb} ({seconds:.1f} s, {finding:.1f} s of it finding them)"
