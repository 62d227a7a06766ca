"""`invoke finalize`: the end of a mirror-mode cutover's soak, in order: every step with its undo beside it.

    preflight (changes nothing; every host serves from S3 with the mirror on) -> lock -> the settings
    with the mirror off, staged and checked (S3Storage serves, not the mirror) -> the mirror's switch
    off -> the written settings checked where need be -> easy_thumbnails' rows to S3's hash -> reload
    (until each site answers on S3 without the mirror, then RELOAD_GRACE_SECONDS) -> health on S3 ->
    the mirror's records of failed writes, taken and said

From then on the sites write to the bucket only, and the disk stops being a complete copy: a rollback
after this downloads, as after a copy-mode cutover.  Nothing is deleted, on disk or in the bucket.
If a step fails, the settings are put back byte-identical and the sites reloaded (``deploy.flows.mirror``).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from ..config.types import Settings
from ..engine.run import Options
from ..engine.runner import Runner, Step, execute_run
from ..errors import PreflightError
from . import mirror, steps
from .direction import TO_S3
from .content import SETTINGS_AND_DISK_STEP, with_disk_settings
from .preflight import (HEALTH_SOURCE_STEP, RELOADS_STEP, check_health_source, check_media_host,
                        check_reloads_reload, check_storage_selected)
from .preflight_hosts import check_hosts
from .state import FlowRun, FlowState


def check_soaking(run: FlowRun) -> str:
    """Every host serves from S3 with the mirror on (or already off): there is a soak to end."""
    name, problems, hosts = run.settings.mirror_switch_name, [], run.state.switch.hosts
    for alias, facts in hosts.items():
        if not facts.original_use_s3:
            problems.append(f"{alias}: {run.settings.switch_name} is off: the site serves from disk; finalize ends "
                            "the soak after a mirror-mode cutover (`invoke cutover` with CHANGEOVER=mirror)")
        elif facts.original_mirror is None:
            problems.append(f"{alias}: its settings file has no {name} switch: there is no mirror to turn off")
    if problems:
        raise PreflightError("\n".join(problems))
    on = [alias for alias, facts in hosts.items() if facts.original_mirror]
    if not on:
        raise PreflightError(f"{name} is already off on every host: the soak has ended, nothing to finalize")
    return f"{name} on on {', '.join(on)}: the sites serve from S3 and write to the disk too"


BEFORE_FINALIZE = [
    Step("preflight: hosts and settings files", check_hosts),
    Step("preflight: the sites serve from S3, mirrored", check_soaking),
    Step("preflight: media host and lock", check_media_host),
    Step(SETTINGS_AND_DISK_STEP, with_disk_settings(check_storage_selected)),
    Step(HEALTH_SOURCE_STEP, check_health_source),
    Step(RELOADS_STEP, check_reloads_reload),
]

FINALIZE = [
    steps.TAKE_LOCK,
    *mirror.switch_mirror(on=False),
    Step("health check on S3", partial(steps.health_check, to=TO_S3), preview=partial(steps.preview_health, to=TO_S3)),
    mirror.TAKE_RECORDS,
]


def run_finalize(settings: Settings, options: Options, say: Callable[[str], None]) -> Runner:
    """Turn the mirror off on every host; raises StepFailed after undoing."""
    return execute_run("finalize", BEFORE_FINALIZE + FINALIZE, settings, options, say,
                       release_lock=steps.release_lock, state=FlowState())
