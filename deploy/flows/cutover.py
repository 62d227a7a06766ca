"""The cutover, in order: every step with its undo beside it.

    preflight (changes nothing) -> lock -> install sync tool -> upload media ->
    verify -> database references -> flip USE_S3 -> manage.py check -> upload
    what arrived since -> reload -> catch up: again and again while the sites
    switch over (until each answers on S3 and its old workers had
    RELOAD_GRACE_SECONDS to finish), then until the bucket holds every file on
    disk -> health on S3 (the syncs hug the reload so that the URLs the new
    workers render already fetch)

If a step fails on any host (or Ctrl-C), the runner undoes the steps done so
far in reverse: settings files are put back byte-identical from their backups,
reloaded sites are reloaded again and checked healthy on disk.  Uploads and the
sync tool are never undone: they delete nothing and change nothing the site uses.
"""

from __future__ import annotations

import os
from typing import Callable

from ..config.types import Settings
from ..engine.journal import operator
from ..engine.lock import lock_path, release_lock, take_lock
from ..engine.run import Options, Run
from ..engine.runner import Runner, Step, execute_run
from ..media import transfer
from ..media.manifest import verify
from ..media.transfer import preview_upload, preview_upload_missing
from ..site import health, references, switch
from ..site.packages import check_site_packages
from ..sync import runner
from .preflight import check_bucket, check_hosts, check_media_host
from .reload import after_reload, preview_after_reload, preview_reload, reload_sites, restore_and_reload_sites


# --- lock ------------------------------------------------------------------

def take_environment_lock(run: Run) -> str:
    details = {"run_id": run.run_id, "kind": run.journal.kind, "owner": operator(),
               "since": run.run_id.split("-")[0], "pid": os.getpid()}
    take_lock(run.media_connection, run.settings, details, break_lock=run.options.break_lock)
    return f"{run.settings.media_host}:{lock_path(run.settings)}"


def release_environment_lock(run: Run) -> str:
    release_lock(run.media_connection, run.settings, run.run_id)
    return "lock released"


def preview_lock(run: Run) -> str:
    return f"would take the lock {run.settings.media_host}:{lock_path(run.settings)}"


# --- sync tool and upload -----------------------------------------------------

def install_sync_tool(run: Run) -> str:
    result = runner.install_sync_tool(run.media_connection, run.settings)
    return f"{result.tool} {result.version} " + ("installed" if result.installed else "already installed") \
        + f" in {result.path}"


def preview_install(run: Run) -> str:
    result = runner.install_sync_tool(run.media_connection, run.settings, dry_run=True)
    return "\n".join(result.commands) or f"{result.tool} {result.version} already installed"


def upload_media(run: Run) -> str:
    return transfer.upload(run)


def upload_latest(run: Run) -> str:
    """Right before the reload: what reached the disk since the snapshot, so that the files the
    new workers will render as bucket URLs are there (the catch-up after the reload takes the rest)."""
    return transfer.upload_missing(run)


def catch_up(run: Run) -> str:
    """After the reload, until the bucket holds every file on disk: the site writes to the bucket
    now, but an old worker finishing its last requests may still write files to disk."""
    return after_reload(run, transfer.upload_missing, transfer.upload_until_complete)


def verify_snapshot(run: Run) -> str:
    """Every file that existed when the upload started is in the bucket (the site still writes to disk)."""
    return _verify(run, before=run.upload_started)


def _verify(run: Run, before: int | None) -> str:
    report, newer = verify(run, before)
    run.journal.record("counts", step="verify", local=report.local_count, remote=report.remote_count,
                       matched=report.matched, extra=report.extra.count, md5_checked=report.md5_checked,
                       newer=newer)
    lines = report.summary_lines()
    if newer:
        lines.append(f"{newer} files arrived on disk since the upload started: the catch-up takes them")
    return "\n".join(lines)


def check_database_references(run: Run) -> str:
    report = references.check_references(run)
    if report is None:
        return "no MANAGE_PY configured for the media host: skipped"
    run.journal.record("counts", step="references", references=report.references,
                       missing_on_disk=report.missing_on_disk, missing_everywhere=len(report.missing_everywhere))
    return report.summary()


def preview_verify(run: Run) -> str:
    return (f"would compare {run.settings.media_root} on {run.settings.media_host} with "
            f"s3://{run.settings.bucket}/{run.settings.media_prefix}/")


# --- settings -------------------------------------------------------------------

def flip_settings(run: Run) -> str:
    return "\n".join(run.on_host("flip", alias, switch.flip) for alias in run.aliases)


def restore_settings(run: Run) -> str:
    return "\n".join(filter(None, (switch.restore(run, alias) for alias in run.aliases)))


def preview_flip(run: Run) -> str:
    return "\n".join(switch.diff(run, alias, use_s3=True) or f"{alias}: already USE_S3 = True"
                     for alias in run.aliases)


def check_new_settings(run: Run) -> str:
    done = run.on_every_host(switch.manage_check)  # at once: each takes a Django start-up
    return "\n".join(filter(None, done)) or "no MANAGE_PY configured: skipped"


def preview_check(run: Run) -> str:
    return "\n".join(f"{host.alias}: cd {host.manage_py.rsplit('/', 1)[0]} && {host.site_python} "
                     f"{host.manage_py} check" for host in run.targets if host.manage_py) or "skipped"


# --- health ---------------------------------------------------------

def health_check_on_s3(run: Run) -> str:
    lines = []
    for host in run.targets:
        health.wait_for_storage(host, "s3", run.settings.reload_timeout)
        checked = health.check_media_served_from_bucket(run.settings, host, run.options.sample_limit)
        lines.append(f"{host.alias}: on S3, {checked} media URLs fetch from the bucket")
    return "\n".join(lines)


# --- the sequence -------------------------------------------------------------------

PREFLIGHT = [
    Step("preflight: hosts and settings files", check_hosts),
    Step("preflight: media host and lock", check_media_host),
    Step("preflight: bucket and credentials", check_bucket),
    Step("preflight: the sites can use S3", check_site_packages),
]

CUTOVER = [
    Step("take the environment lock", take_environment_lock, undo=release_environment_lock,
         preview=preview_lock),
    Step("install the sync tool", install_sync_tool, preview=preview_install),
    Step("upload media", upload_media, preview=preview_upload),
    Step("verify the bucket", verify_snapshot, preview=preview_verify),
    Step("check the database's file references", check_database_references),
    Step("flip USE_S3 = True", flip_settings, undo=restore_settings, preview=preview_flip),
    Step("check the new settings", check_new_settings, preview=preview_check),
    Step("upload what reached the disk since the snapshot", upload_latest, preview=preview_upload_missing),
    Step("reload the sites", reload_sites, undo=restore_and_reload_sites, preview=preview_reload),
    Step("catch up until the bucket holds every file", catch_up,
         preview=lambda run: preview_after_reload(run, "upload what is missing in the bucket")),
    Step("health check on S3", health_check_on_s3, preview=lambda run: "would check every site on S3"),
]


def run_cutover(settings: Settings, options: Options, say: Callable[[str], None]) -> Runner:
    """Preflight, then the cutover under the environment's lock; raises StepFailed after undoing."""
    return execute_run("cutover", PREFLIGHT + CUTOVER, settings, options, say,
                       release_lock=release_environment_lock)
