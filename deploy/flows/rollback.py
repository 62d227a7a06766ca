"""The rollback, in order: back to disk-served media on every host, with no upload lost.

    preflight (changes nothing) -> lock -> install sync tool -> download what the
    bucket has and the disk lacks -> the content's old media URLs put back (every
    rewrite-urls record not put back yet: ``deploy.flows.content``) -> settings back (the cutover's backup, or the
    minimal USE_S3 = False edit) -> manage.py check -> check what the settings
    select (FileSystemStorage at MEDIA_ROOT) -> download what arrived since -> reload -> download again and again while the sites switch over
    (until each answers on disk and its old workers had RELOAD_GRACE_SECONDS to
    finish), then once more -> health on disk -> verify that every object is on
    disk (the missing ones downloaded, exactly that list).  Each download after
    the first compares the bucket's listing with the manifest and downloads the
    keys the disk lacks, by exact list (``deploy.media.delta``).

Nothing is deleted, on disk or in the bucket; a disk file the first download
replaces is moved aside under TOOLS_DIR/displaced/<run id>/.  A host that cannot
be reached is left alone and named at the end: run the rollback again once it is
back.  If a step fails, the settings written so far are put back and reloaded.

With the mirror on on every host (``MIRROR_ROLLBACK``: ``deploy.flows.mode``) there is no bulk download:
the disk has every file; the passes and the verify find what a failed write missed.

The preflight's checks are ``deploy.flows.preflight.BEFORE_ROLLBACK``; the
steps are those of ``deploy.flows.steps``, over the direction ``TO_DISK``
(``deploy.flows.direction``).
"""

from __future__ import annotations

from typing import Callable

from ..config.types import Settings
from ..engine.run import Options
from ..engine.runner import Runner, Step, execute_run
from ..errors import PreflightError
from . import mirror, steps
from .content import RESTORE_CONTENT
from .direction import TO_DISK
from .mode import ROLLBACK_MODE
from .preflight import BEFORE_ROLLBACK
from .state import FlowRun, FlowState

SWITCH_STEP = "settings back to disk"  # exported: the rehearsal times each host's change-over from it

def _switch_over(before_complete: tuple[Step, ...] = ()) -> list[Step]:
    return steps.switch_over(TO_DISK, settings=SWITCH_STEP, latest="download what reached the bucket since",
                             catch_up="download what arrived meanwhile", health="health check on disk",
                             complete="verify every object is on disk", before_complete=before_complete)


ROLLBACK = [
    steps.TAKE_LOCK,
    steps.INSTALL_SYNC_TOOL,
    steps.copy("download media missing on disk", TO_DISK),
    RESTORE_CONTENT,   # once the disk has the files their old URLs name; undone: the rewrite again
    *_switch_over(),
]

# The mirror on on every host: the disk has every file the sites stored, so there is no bulk download;
# the passes find what a failed write to the disk missed (the records say which), the verify makes sure.
# The mirror stays on: the bucket keeps every new file, and the next cutover moves nothing.
MIRROR_ROLLBACK = [
    steps.TAKE_LOCK,
    steps.INSTALL_SYNC_TOOL,
    RESTORE_CONTENT,
    *_switch_over(before_complete=(mirror.TAKE_RECORDS,)),
]


def report_unreachable(run: FlowRun) -> str:
    if run.unreachable:
        raise PreflightError("not rolled back, could not be reached: "
                             + "; ".join(f"{alias} ({error})" for alias, error in run.unreachable)
                             + "; run the rollback again once they are back")
    return "every host rolled back"


def run_rollback(settings: Settings, options: Options, say: Callable[[str], None]) -> Runner:
    """Roll every reachable host back to disk; raises (after undoing) on failure or unreachable hosts."""
    return execute_run("rollback", BEFORE_ROLLBACK + [ROLLBACK_MODE], settings, options, say,
                       release_lock=steps.release_lock, finish=report_unreachable,
                       then=lambda run: MIRROR_ROLLBACK if run.state.mirror.mode == "mirror" else ROLLBACK,
                       state=FlowState())
