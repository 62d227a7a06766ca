"""`invoke reclaim`: the end of the move, the disk freed of every file the bucket is proven to hold.

    preflight (changes nothing: every site serves from S3, no mirror on, no old media URL left in the
    content (unless --accept-content-urls), the lock free, MEDIA_ROOT neither / nor the home directory;
    a snapshot of every file (size, mtime, inode); what would be freed, and what the proof costs) -> lock ->
    rclone installed -> the proof (each file's MD5 from rclone md5sum, each object's size and MD5 from
    the listing) -> with --delete-local only: the removal of exactly
    the proven files still as the snapshot saw them, and of the directories left empty, with a
    record under runs/ (mode 600) -> health on S3 -> the content's old media URLs (when the preflight found
    them redirected, or accepted) answer 301 to the bucket, each target 200, on every host

Without --delete-local reclaim is a report: the proof, and what --delete-local would remove.  It
never touches the bucket, nor a path outside MEDIA_ROOT.  If a step after the removal fails, its
undo downloads exactly the removed files back.  A rollback after a reclaim downloads the whole tree
(its preflight checks the disk has room first).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable

from ..config.types import Settings
from ..engine.counts import ProofCounts, ReclaimCounts
from ..engine.run import Options, Run
from ..engine.runner import Runner, Step, execute_run
from ..errors import PreflightError
from ..media import delta, manifest
from ..media import free_disk
from ..media.compare import object_key
from ..media.proof import Proof, Seen
from ..sync import install
from . import old_urls, steps
from .content import SETTINGS_AND_DISK_STEP, refuse_content_urls, with_disk_settings
from .state import FlowState
from .direction import TO_S3
from .preflight import (HEALTH_SOURCE_STEP, check_health_source, check_media_host_and_lock,
                        check_on_s3, check_serving_s3, check_storage_selected)
from .preflight_hosts import check_hosts_read


@dataclass
class Reclaiming:
    """What reclaim's own steps hand on: the tree and its filesystem, the proof, the removal."""

    files: int = 0
    bytes: int = 0
    filesystem_bytes: int = 0
    free_bytes: int = 0
    snapshot: dict[str, Seen] = field(default_factory=dict)
    proof: Proof | None = None
    removal: free_disk.Removal | None = None


@dataclass
class ReclaimState(FlowState):
    """The preflight's parts (the sites' switches and storages, the tree's unreadable paths), and reclaim's."""

    reclaim: Reclaiming = field(default_factory=Reclaiming)


ReclaimRun = Run[ReclaimState]


# --- preflight ---------------------------------------------------------------------------------

check_on_s3_unmirrored = partial(check_on_s3, mirror_refused=True, wanted="reclaim frees the disk only after a cutover")


def check_media_root(run: ReclaimRun) -> str:
    """MEDIA_ROOT is a media directory: refused outright where it resolves to / or the home directory."""
    settings = run.settings
    refused = free_disk.media_root_refusal(run)
    if refused:
        raise PreflightError(f"{settings.media_host}: {refused}: set MEDIA_ROOT to the media directory itself")
    return f"{settings.media_host}: MEDIA_ROOT {settings.media_root} is a directory of its own"


def check_media_host_and_snapshot(run: ReclaimRun) -> str:
    """The media host and the lock as every flow checks them; the tree read as the proof's snapshot (size,
    mtime and inode of every file): taken here, before any hashing, it is also what would be freed."""
    holder = check_media_host_and_lock(run)
    settings, state = run.settings, run.state.reclaim
    state.snapshot, problems = free_disk.snapshot(run)
    run.state.passes.unreadable = manifest.unreadable(problems)
    run.state.passes.scanned = (len(state.snapshot), sum(seen.size for seen in state.snapshot.values()))
    return (f"{settings.media_host}: {settings.media_root} holds {len(state.snapshot):,} files, each one's size, "
            "mtime and inode noted (the snapshot the removal compares with)"
            + (f", {len(problems)} unreadable (left out)" if problems else "")
            + ("; lock free" if holder is None else ""))


def check_what_is_freed(run: ReclaimRun) -> str:
    """What reclaim would free, the filesystem before and after, and what the proof costs."""
    settings, state = run.settings, run.state.reclaim
    state.files, state.bytes = run.state.passes.scanned   # the media host's check scanned the tree
    size, free = manifest.filesystem(run)
    state.filesystem_bytes, state.free_bytes = size, free
    return (f"{settings.media_host}:{settings.media_root} holds {state.files:,} files ({state.bytes / 1e6:,.1f} MB); "
            f"its filesystem: {size / 1e9:,.2f} GB, {free / 1e9:,.2f} GB free now, up to "
            f"{(free + state.bytes) / 1e9:,.2f} GB free once every file proven in the bucket is removed\n"
            f"the proof reads every byte of the tree once ({state.bytes / 1e6:,.1f} MB from disk) and lists the bucket")


BEFORE_RECLAIM = [
    Step("preflight: hosts and settings files", check_hosts_read),
    Step("preflight: every site on S3, no mirror", check_on_s3_unmirrored),
    Step("preflight: MEDIA_ROOT is not / nor the home directory", check_media_root),
    Step("preflight: media host, lock and snapshot", check_media_host_and_snapshot),
    Step(SETTINGS_AND_DISK_STEP, with_disk_settings(check_storage_selected)),
    Step(HEALTH_SOURCE_STEP, check_health_source),
    Step("preflight: the sites' settings select the bucket", partial(check_serving_s3, mirror_refused=True)),
    Step("preflight: no old media URLs in the content", refuse_content_urls),
    Step("preflight: what reclaim would free", check_what_is_freed),
]


# --- the steps -------------------------------------------------------------------------------

def _with_rclone(run: ReclaimRun) -> Settings:
    """The run's settings with rclone as the tool: the proof hashes with rclone whatever SYNC_TOOL says."""
    return replace(run.settings, sync_tool="rclone")


def install_rclone(run: ReclaimRun) -> str:
    result = install.install_sync_tool(run.media_connection, _with_rclone(run))
    return f"rclone {result.version} " + ("installed" if result.installed else "already installed") + f" in {result.path}"


def preview_install_rclone(run: ReclaimRun) -> str:
    result = install.install_sync_tool(run.media_connection, _with_rclone(run), dry_run=True)
    return "\n".join(result.commands)


def prove(run: ReclaimRun) -> str:
    state = run.state.reclaim
    proof, times = free_disk.prove(run, run.state.passes.unreadable, state.snapshot)
    state.proof = proof
    run.journal.record(ProofCounts(files=state.files, bytes=state.bytes, filesystem_bytes=state.filesystem_bytes,
                                   free_bytes=state.free_bytes, proven=len(proof.proven),
                                   proven_bytes=proof.proven_bytes, kept=len(proof.kept), newer=proof.newer))
    return "\n".join([*proof.summary_lines(run.options.sample_limit), times.line()])


def preview_prove(run: ReclaimRun) -> str:
    return (f"would check every file under {run.settings.media_root} against "
            f"s3://{run.settings.bucket}/{run.settings.media_prefix}/ (rclone md5sum on the host, the listing here: "
            "size and MD5)")


def remove(run: ReclaimRun) -> str:
    settings, state = run.settings, run.state.reclaim
    proof = state.proof
    if not run.options.delete_local:
        return (f"a report only: nothing removed. `invoke reclaim --env={settings.env} --delete-local` removes the "
                f"{len(proof.proven):,} proven files ({proof.proven_bytes / 1e6:,.1f} MB)" if proof.proven else
                "a report only: nothing to remove")
    if not proof.proven:
        return "nothing to remove: no file on disk is proven in the bucket (a second run finds none)"
    removal = state.removal = free_disk.remove(run, proof)
    record = free_disk.write_record(run, proof, removal)
    run.journal.record(ReclaimCounts(removed=len(removal.removed), removed_bytes=removal.removed_bytes,
                                     kept=len(proof.kept) + len(removal.kept), directories=removal.directories,
                                     record=str(record)))
    lines = [f"removed {len(removal.removed):,} files ({removal.removed_bytes / 1e6:,.1f} MB) and "
             f"{removal.directories:,} emptied directories from {settings.media_host}:{settings.media_root}",
             f"record: {record} (every removed path, its size and MD5)"]
    lines += [f"kept, changed since the proof: {kept.path} ({kept.why})" for kept in removal.kept[:run.options.sample_limit]]
    return "\n".join(lines)


def put_back(run: ReclaimRun) -> str:
    """Undo: the removed files downloaded back from the bucket, exactly that list."""
    removal = run.state.reclaim.removal
    if removal is None or not removal.removed:
        return ""
    prefix = run.settings.media_prefix
    delta.download_keys(run, [object_key(prefix, file.path) for file in removal.removed], _with_rclone(run))
    return f"downloaded the {len(removal.removed):,} removed files back into {run.settings.media_root}"


def check_old_urls(run: ReclaimRun) -> str:
    """The content's old media URLs whose files were removed answer 301 to the bucket, each target 200, at
    every host (``deploy.flows.old_urls``); a failure fails the step, and the removal's undo downloads the
    removed files back."""
    removal = run.state.reclaim.removal
    return old_urls.check_after_removal(run, {file.path for file in removal.removed} if removal else set())


def preview_remove(run: ReclaimRun) -> str:
    if not run.options.delete_local:
        return "would remove nothing (a report: --delete-local removes the proven files)"
    return (f"would remove from {run.settings.media_host}:{run.settings.media_root} every file proven in the bucket "
            "and still as the proof saw it, and the directories left empty; record under runs/")


RECLAIM = [
    steps.TAKE_LOCK,
    Step("install rclone (the proof's hashing)", install_rclone, preview=preview_install_rclone),
    Step("prove each file is in the bucket", prove, preview=preview_prove),
    Step("remove the proven files from disk", remove, undo=put_back, preview=preview_remove),
    Step("health check on S3", partial(steps.health_check, to=TO_S3), preview=partial(steps.preview_health, to=TO_S3)),
    Step("the content's old media URLs redirect to the bucket", check_old_urls,
         preview=old_urls.preview_after_removal),
]


def run_reclaim(settings: Settings, options: Options, say: Callable[[str], None],
                step_list: list[Step] | None = None) -> Runner:
    """The proof, and with ``options.delete_local`` the removal; raises StepFailed after undoing.
    ``step_list``: another list of steps over the same state (the tests insert one between the proof and
    the removal)."""
    return execute_run("reclaim", BEFORE_RECLAIM + RECLAIM if step_list is None else step_list, settings, options, say,
                       release_lock=steps.release_lock, state=ReclaimState())
