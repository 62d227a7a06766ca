"""The rollback, in order: back to disk-served media on every host, with no upload lost.

    preflight (changes nothing) -> lock -> install sync tool -> download what the
    bucket has and the disk lacks -> settings back (the cutover's backup, or the
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

The preflight's checks are ``deploy.flows.preflight.BEFORE_ROLLBACK``; the
steps are those of ``deploy.flows.steps``, over the direction ``TO_DISK``
(``deploy.flows.direction``).
"""

from __future__ import annotations

from typing import Callable

from ..config.types import Settings
from ..engine.run import Options, Run
from ..engine.runner import Runner, execute_run
from ..errors import PreflightError
from . import steps
from .direction import TO_DISK
from .preflight import BEFORE_ROLLBACK

SWITCH_STEP = "settings back to disk"  # exported: the rehearsal times each host's change-over from it

ROLLBACK = [
    steps.TAKE_LOCK,
    steps.INSTALL_SYNC_TOOL,
    steps.copy("download media missing on disk", TO_DISK),
    *steps.switch_over(TO_DISK, settings=SWITCH_STEP, latest="download what reached the bucket since",
                       catch_up="download what arrived meanwhile", health="health check on disk",
                       complete="verify every object is on disk"),
]


def report_unreachable(run: Run) -> str:
    if run.unreachable:
        raise PreflightError("not rolled back, could not be reached: "
                             + "; ".join(f"{alias} ({error})" for alias, error in run.unreachable)
                             + "; run the rollback again once they are back")
    return "every host rolled back"


def run_rollback(settings: Settings, options: Options, say: Callable[[str], None]) -> Runner:
    """Roll every reachable host back to disk; raises (after undoing) on failure or unreachable hosts."""
    return execute_run("rollback", BEFORE_ROLLBACK + ROLLBACK, settings, options, say,
                       release_lock=steps.release_lock, finish=report_unreachable)
