"""The rollback, in order: back to disk-served media on every host, with no upload lost.

    preflight (changes nothing) -> lock -> install sync tool -> download what the
    bucket has and the disk lacks -> settings back (the cutover's backup, or the
    minimal USE_S3 = False edit) -> manage.py check -> download what arrived
    since -> reload -> download again and again while the sites switch over
    (until each answers on disk and its old workers had RELOAD_GRACE_SECONDS to
    finish), then until every object is on disk -> health on disk

Nothing is deleted, on disk or in the bucket; a disk file the first download
replaces is moved aside under TOOLS_DIR/displaced/<run id>/.  A host that cannot
be reached is left alone and named at the end: run the rollback again once it is
back.  If a step fails, the settings written so far are put back and reloaded.
"""

from __future__ import annotations

from typing import Callable

from ..config.types import Settings
from ..engine.run import Options, Run
from ..engine.runner import Runner, Step, execute_run
from ..errors import PreflightError
from ..media import transfer
from ..media.transfer import preview_download, preview_download_missing
from ..site import health, switch
from .cutover import (check_new_settings, install_sync_tool, preview_check, preview_install, preview_lock,
                      release_environment_lock, take_environment_lock)
from .preflight import check_bucket_readable, check_hosts_reachable, check_media_host
from .reload import after_reload, preview_after_reload, preview_reload, reload_sites, restore_and_reload_sites


# --- download ---------------------------------------------------------------------

def download_replacing(run: Run) -> str:
    """First pass: what the bucket has and the disk lacks, or has with another size (old file moved aside)."""
    return transfer.download(run, overwrite=True)


def download_latest(run: Run) -> str:
    """Right before the reload: only missing files, so that the files the new workers will render
    as disk URLs are on disk (the download after the reload takes the rest)."""
    return transfer.download_missing(run)


def download_until_complete(run: Run) -> str:
    """After the reload: only missing files (disk wins now), until every object is on disk; an
    old worker finishing its last requests may still write files to the bucket."""
    return after_reload(run, transfer.download_missing, transfer.download_until_complete)


# --- settings, reload, health ---------------------------------------------------------

def settings_to_disk(run: Run) -> str:
    return "\n".join(switch.to_disk(run, alias) for alias in run.aliases)


def restore_s3_settings(run: Run) -> str:
    """Undo: the settings as this rollback found them."""
    return "\n".join(filter(None, (switch.restore(run, alias) for alias in run.aliases)))


def preview_to_disk(run: Run) -> str:
    return "\n".join(switch.preview_to_disk(run, alias) for alias in run.aliases)


def health_check_on_disk(run: Run) -> str:
    lines = []
    for host in run.targets:
        health.wait_for_storage(host, "disk", run.settings.reload_timeout)
        checked = health.check_media_served_by_site(run.settings, host, run.options.sample_limit)
        lines.append(f"{host.alias}: on disk, {checked} media URLs served by the site")
    return "\n".join(lines)


def report_unreachable(run: Run) -> str:
    if run.unreachable:
        raise PreflightError("not rolled back, could not be reached: "
                             + "; ".join(f"{alias} ({error})" for alias, error in run.unreachable)
                             + "; run the rollback again once they are back")
    return "every host rolled back"


# --- the sequence -------------------------------------------------------------------

PREFLIGHT = [
    Step("preflight: hosts and settings files", check_hosts_reachable),
    Step("preflight: media host and lock", check_media_host),
    Step("preflight: bucket", check_bucket_readable),
]

ROLLBACK = [
    Step("take the environment lock", take_environment_lock, undo=release_environment_lock, preview=preview_lock),
    Step("install the sync tool", install_sync_tool, preview=preview_install),
    Step("download media missing on disk", download_replacing, preview=preview_download),
    Step("settings back to disk", settings_to_disk, undo=restore_s3_settings, preview=preview_to_disk),
    Step("check the new settings", check_new_settings, preview=preview_check),
    Step("download what reached the bucket since", download_latest, preview=preview_download_missing),
    Step("reload the sites", reload_sites, undo=restore_and_reload_sites, preview=preview_reload),
    Step("download what arrived meanwhile", download_until_complete,
         preview=lambda run: preview_after_reload(run, "download what is missing on disk")),
    Step("health check on disk", health_check_on_disk, preview=lambda run: "would check every site on disk"),
]


def run_rollback(settings: Settings, options: Options, say: Callable[[str], None]) -> Runner:
    """Roll every reachable host back to disk; raises (after undoing) on failure or unreachable hosts."""
    return execute_run("rollback", PREFLIGHT + ROLLBACK, settings, options, say,
                       release_lock=release_environment_lock, finish=report_unreachable)
