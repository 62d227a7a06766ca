"""The cutover, in order: every step with its undo beside it.

    preflight (changes nothing; it also probes what each site's settings select,
    and refuses a HUP reload that would not load new settings) -> lock -> install
    sync tool -> upload media -> verify (rclone's accounting of the upload when it covers every file;
    else the manifest against the listing) -> database references -> flip USE_S3 ->
    manage.py check -> check what the flipped settings select (S3Storage, this
    bucket and prefix, staticfiles unchanged) -> upload what arrived since ->
    reload -> catch up: again and again while the sites
    switch over (until each answers on S3 and its old workers had
    RELOAD_GRACE_SECONDS to finish), then once more -> health on S3 (the syncs
    hug the reload so that the URLs the new workers render already fetch) ->
    verify, once, off the change-over's critical path, that the bucket holds
    every file on disk (what is missing is uploaded, exactly that list)

Every copy after the first is a delta pass (``deploy.media.delta``): the media
host lists the files changed since the previous pass and the tool copies that
list, so a pass costs what changed, not the whole tree.

If a step fails on any host (or Ctrl-C), the runner undoes the steps done so
far in reverse: settings files are put back byte-identical from their backups,
reloaded sites are reloaded again and checked healthy on disk.  Uploads and the
sync tool are never undone: they delete nothing and change nothing the site uses.

With CHANGEOVER=mirror (``MIRROR_CUTOVER``, when every site has the mirror's switch: ``deploy.flows.mode``)
the mirror is turned on and the sites reloaded first (``deploy.flows.mirror``), and the mirror's records
of failed writes are taken before the final verify, which repairs what they missed.

The preflight's checks are ``deploy.flows.preflight.BEFORE_CUTOVER``; the steps
both directions share are in ``deploy.flows.steps``, over the direction
``TO_S3`` (``deploy.flows.direction``); the verify and the database's
references are the cutover's own.
"""

from __future__ import annotations

from typing import Callable

from ..config.types import Settings
from ..engine.counts import AccountingVerifyCounts, ListingVerifyCounts, ReferenceCounts
from ..engine.run import Options
from ..engine.runner import Runner, Step, execute_run
from ..media import accounting
from ..media.manifest import verify_bucket
from ..site.ops import references
from . import mirror, steps
from .direction import TO_S3
from .mode import CUTOVER_MODE
from .preflight import BEFORE_CUTOVER
from .state import FlowRun, FlowState

SWITCH_STEP = "flip USE_S3 = True"  # exported: the rehearsal times each host's change-over from it


def verify_snapshot(run: FlowRun) -> str:
    """Every file that existed when the upload started is in the bucket (the site still writes to disk).

    The upload's own accounting when it covers the whole tree (``deploy.media.accounting``: rclone
    compared every file with the bucket as it copied); else the manifest against the listing.
    """
    account = run.state.passes.upload_account
    if not run.options.checksum and accounting.accounts_for_tree(account):
        run.journal.record(AccountingVerifyCounts(local=account.tree_files, transferred=account.transferred,
                                                  checked=account.checked, errors=account.errors))
        return "\n".join(accounting.summary_lines(account))
    run.say(f"    the manifest against the listing: {accounting.why_not(account, run.options.checksum)}")
    return _verify(run, before=run.state.passes.upload_started)


def _verify(run: FlowRun, before: int | None) -> str:
    report, newer = verify_bucket(run, run.state.passes, before)
    run.journal.record(ListingVerifyCounts(local=report.local_count, remote=report.remote_count, matched=report.matched,
                                           extra=report.extra.count, md5_checked=report.md5_checked, newer=newer))
    lines = report.summary_lines()
    if newer:
        lines.append(f"{newer} files arrived on disk since the upload started: the catch-up takes them")
    return "\n".join(lines)


def check_database_references(run: FlowRun) -> str:
    report = references.check_references(run)
    if report is None:
        return "no MANAGE_PY configured for the media host: skipped"
    run.journal.record(ReferenceCounts(references=report.references, missing_on_disk=report.missing_on_disk,
                                       missing_everywhere=len(report.missing_everywhere),
                                       path_references=report.path_references, path_fields=report.path_fields))
    return report.summary()


def preview_verify(run: FlowRun) -> str:
    compare = (f"compare {run.settings.media_root} on {run.settings.media_host} with "
               f"s3://{run.settings.bucket}/{run.settings.media_prefix}/")
    if run.settings.sync_tool == "rclone" and not run.options.checksum:
        return (f"would take rclone's accounting of the upload (every file of the tree uploaded or found with "
                f"its size, 0 errors), or else {compare}")
    return f"would {compare}"


# --- the sequence -------------------------------------------------------------------

def _switch_over(before_complete: tuple[Step, ...] = ()) -> list[Step]:
    return steps.switch_over(TO_S3, settings=SWITCH_STEP, latest="upload what reached the disk since the snapshot",
                             catch_up="catch up while the sites switch over", health="health check on S3",
                             complete="verify the bucket holds every file", before_complete=before_complete)


# Both change-overs copy the disk as it is to the bucket and check it before the switch-over.
_UPLOAD_AND_CHECK = [
    steps.copy("upload media", TO_S3),
    Step("verify the bucket", verify_snapshot, preview=preview_verify),
    Step("check the database's file references", check_database_references),
]

CUTOVER = [
    steps.TAKE_LOCK,
    steps.INSTALL_SYNC_TOOL,
    *_UPLOAD_AND_CHECK,
    *_switch_over(),
]

# CHANGEOVER=mirror: every new file is written to both storages before the upload starts, so the upload
# covers everything older with no race, and the flip that follows moves only the reads.  The mirror
# stays on (the disk stays a complete copy) until `invoke finalize`.
MIRROR_CUTOVER = [
    steps.TAKE_LOCK,
    steps.INSTALL_SYNC_TOOL,
    *mirror.switch_mirror(on=True),
    *_UPLOAD_AND_CHECK,
    *_switch_over(before_complete=(mirror.TAKE_RECORDS,)),
]


def run_cutover(settings: Settings, options: Options, say: Callable[[str], None]) -> Runner:
    """Preflight, then the cutover (copy or mirror, as the preflight chose) under the environment's lock;
    raises StepFailed after undoing."""
    return execute_run("cutover", BEFORE_CUTOVER + [CUTOVER_MODE], settings, options, say,
                       release_lock=steps.release_lock,
                       then=lambda run: MIRROR_CUTOVER if run.state.mirror.mode == "mirror" else CUTOVER,
                       state=FlowState())
