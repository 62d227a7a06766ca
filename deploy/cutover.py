"""The cutover, in order: every step with its undo beside it.

    preflight (changes nothing) -> lock -> install sync tool -> upload media ->
    verify -> database references -> flip USE_S3 -> manage.py check -> upload
    what arrived since -> reload -> catch up until the bucket holds every file on
    disk -> health on S3 (the syncs hug the reload so that the URLs the new
    workers render already fetch)

If a step fails on any host (or Ctrl-C), the runner undoes the steps done so
far in reverse: settings files are put back byte-identical from their backups,
reloaded sites are reloaded again and checked healthy on disk.  Uploads and the
sync tool are never undone: they delete nothing and change nothing the site uses.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from . import health, media, references, settings_remote, sync
from .config_types import Settings
from .context import Options, Run
from .errors import CutoverError, RemoteError, VerifyError
from .hosts import run as remote_run
from .journal import Journal, new_run_id, operator
from .lock import lock_path, release_lock, take_lock
from .preflight import check_bucket, check_hosts, check_media_host
from .site_checks import check_site_packages
from .runner import Runner, Step

# Rounds of catch-up after the switch: a request still finishing on an old worker
# during the reload may write one more file to disk.
CATCH_UP_ROUNDS = 3


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
    result = sync.install_sync_tool(run.media_connection, run.settings)
    return f"{result.tool} {result.version} " + ("installed" if result.installed else "already installed") \
        + f" in {result.path}"


def preview_install(run: Run) -> str:
    result = sync.install_sync_tool(run.media_connection, run.settings, dry_run=True)
    return "\n".join(result.commands) or f"{result.tool} {result.version} already installed"


def upload_media(run: Run, overwrite: bool = True) -> str:
    run.counts.setdefault("upload started", media.host_clock(run))
    files, size, problems = media.scan(run)
    for problem in problems:
        run.say(f"    ! {run.settings.media_host}: {problem} (not uploaded)")
    result = sync.upload_media(run.media_connection, run.settings, manifest_totals=(files, size),
                               on_progress=lambda line: run.say(f"    {line}"), exclude=media.unreadable(problems),
                               overwrite=overwrite)
    run.counts["media files"], run.counts["media bytes"] = files, size
    run.journal.record("counts", step="upload", files=files, bytes=size, problems=len(problems),
                       transferred=result.files_transferred, transferred_bytes=result.bytes_transferred,
                       seconds=result.elapsed)
    sent = "" if result.files_transferred is None else \
        f"{result.files_transferred} uploaded ({(result.bytes_transferred or 0) / 1e6:.1f} MB), "
    return (f"{files} files, {size / 1e6:.1f} MB in the tree; {sent}the rest already there "
            f"({result.tool} {result.version}, {result.elapsed:.1f} s)")


def upload_latest(run: Run) -> str:
    """Right before the reload: what reached the disk since the snapshot, so that the files the
    new workers will render as bucket URLs are there (the catch-up after the reload takes the rest)."""
    return upload_media(run, overwrite=False)


def catch_up(run: Run) -> str:
    """Upload what reached the disk during the switch, until the bucket holds every file on disk.

    The site writes to the bucket now, so nothing already there is overwritten, and
    a request still finishing on an old worker gets another round.
    """
    for round_number in range(1, CATCH_UP_ROUNDS + 1):
        uploaded = upload_media(run, overwrite=False)
        report, _ = media.compare_tree(run)
        if report.ok or round_number == CATCH_UP_ROUNDS:
            break
        time.sleep(1)
    if not report.ok:
        raise VerifyError("after the catch-up the bucket still lacks files from disk:\n    "
                          + "\n    ".join(report.summary_lines()))
    run.journal.record("counts", step="final verify", local=report.local_count, remote=report.remote_count,
                       matched=report.matched, extra=report.extra.count)
    return "\n".join([uploaded, *report.summary_lines()])


def preview_upload(run: Run) -> str:
    return "\n".join(sync.upload_media(run.media_connection, run.settings, dry_run=True).commands)


def verify_snapshot(run: Run) -> str:
    """Every file that existed when the upload started is in the bucket (the site still writes to disk)."""
    return _verify(run, before=run.counts["upload started"])


def _verify(run: Run, before: int | None) -> str:
    report, newer = media.verify(run, before)
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
    return "\n".join(_per_host(run, "flip", settings_remote.flip, alias) for alias in run.settings.host_aliases)


def _per_host(run: Run, step: str, action, alias: str) -> str:
    """Run ``action(run, alias)``, journaling the host's start, end and result."""
    begin = time.time()
    try:
        summary = action(run, alias) or ""
    except CutoverError as error:
        run.journal.record("host", step=step, host=alias, start=begin, result="failed", summary=str(error))
        raise
    run.journal.record("host", step=step, host=alias, start=begin, result="ok", summary=summary)
    return summary


def restore_settings(run: Run) -> str:
    return "\n".join(filter(None, (settings_remote.restore(run, alias) for alias in run.settings.host_aliases)))


def preview_flip(run: Run) -> str:
    return "\n".join(settings_remote.diff(run, alias, use_s3=True) or f"{alias}: already USE_S3 = True"
                     for alias in run.settings.host_aliases)


def check_new_settings(run: Run) -> str:
    done = [settings_remote.manage_check(run, alias) for alias in run.settings.host_aliases]
    return "\n".join(filter(None, done)) or "no MANAGE_PY configured: skipped"


def preview_check(run: Run) -> str:
    return "\n".join(f"{host.alias}: cd {host.manage_py.rsplit('/', 1)[0]} && {host.site_python} "
                     f"{host.manage_py} check" for host in run.settings.hosts if host.manage_py) or "skipped"


# --- reload and health ---------------------------------------------------------

def reload_sites(run: Run) -> str:
    """Reload the hosts this run flipped; a host found already on S3 keeps running as it is."""
    flipped = [host for host in run.settings.hosts if run.hosts[host.alias].settings_written]
    for host in flipped:
        run.hosts[host.alias].reloaded = True  # set first: a reload that fails may still have happened
        _per_host(run, "reload", _reload_host, host.alias)
    return f"reloaded {', '.join(host.alias for host in flipped)}" if flipped else "no host changed: none reloaded"


def _reload_host(run: Run, alias: str) -> str:
    host = run.settings.host(alias)
    remote_run(run.connection(alias), host.reload_command, f"reload command `{host.reload_command}`",
               timeout=run.settings.reload_timeout)
    return f"{alias}: reloaded"


def restore_and_reload_sites(run: Run) -> str:
    """Undo of a reload: the settings as the run found them, reload, each site healthy as it was.

    If a site served from S3 meanwhile, uploads it took are in the bucket only: they
    are downloaded to disk (missing files only), so going back loses none of them.
    """
    lines, failures = [], []
    served_from_s3 = any(facts.reloaded and not facts.original_use_s3 for facts in run.hosts.values())
    for host in run.settings.hosts:
        try:
            lines.append(settings_remote.restore(run, host.alias) or f"{host.alias}: settings unchanged")
            if run.hosts[host.alias].reloaded:
                lines.append(_reload_back(run, host))
                run.hosts[host.alias].reloaded = False
        except CutoverError as error:
            failures.append(str(error))
    if served_from_s3 and not failures:
        try:
            result = sync.download_media(run.media_connection, run.settings, overwrite=False,
                                         displaced_dir=f"{run.settings.tools_dir}/displaced/{run.run_id}",
                                         exclude=run.counts.get("unreadable", ()))
            lines.append(f"{result.files_transferred or 0} files uploaded to S3 meanwhile downloaded to disk")
        except CutoverError as error:
            failures.append(f"downloading uploads the site took while on S3: {error}")
    if failures:
        raise RemoteError("; ".join(failures))
    return "\n".join(lines)


def _reload_back(run: Run, host) -> str:
    storage = "s3" if run.hosts[host.alias].original_use_s3 else "disk"
    try:
        remote_run(run.connection(host.alias), host.reload_command, "reload command",
                   timeout=run.settings.reload_timeout)
    except RemoteError as error:
        # The reload that failed may never have taken effect: what counts is what the site serves.
        health.wait_for_storage(host, storage, timeout=10)
        return f"{host.alias}: reload command failed again ({error}), but the site is healthy on {storage}"
    seconds = health.wait_for_storage(host, storage, run.settings.reload_timeout)
    return f"{host.alias}: reloaded, healthy on {storage} after {seconds:.1f} s"


def preview_reload(run: Run) -> str:
    return "\n".join(f"{host.alias}: {host.reload_command}" for host in run.settings.hosts)


def health_check_on_s3(run: Run) -> str:
    lines = []
    for host in run.settings.hosts:
        seconds = health.wait_for_storage(host, "s3", run.settings.reload_timeout)
        checked = health.check_media_served_from_bucket(run.settings, host, run.options.sample_limit)
        run.journal.record("host", step="health", host=host.alias, seconds_to_healthy=round(seconds, 3))
        lines.append(f"{host.alias}: on S3 after {seconds:.1f} s, {checked} media URLs fetch from the bucket")
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
    Step("upload what reached the disk since the snapshot", upload_latest, preview=preview_upload),
    Step("reload the sites", reload_sites, undo=restore_and_reload_sites, preview=preview_reload),
    Step("catch up until the bucket holds every file", catch_up, preview=preview_upload),
    Step("health check on S3", health_check_on_s3, preview=lambda run: "would check every site on S3"),
]


def run_cutover(settings: Settings, options: Options, say: Callable[[str], None]) -> Runner:
    """Preflight, then the cutover under the environment's lock; raises StepFailed after undoing."""
    run_id = new_run_id()
    journal = Journal(settings.project_root / "runs", run_id, settings.env, "cutover", options.dry_run)
    run = Run(settings, options, journal, say, run_id)
    runner = Runner(journal, say)
    say(f"cutover of {settings.env} ({', '.join(settings.host_aliases)}), run {run_id}"
        + (" -- DRY RUN, nothing will change" if options.dry_run else ""))
    try:
        runner.execute(PREFLIGHT + CUTOVER, run, dry_run=options.dry_run)
        release_environment_lock(run) if not options.dry_run else None
        journal.record("end", result="ok")
    except CutoverError as error:
        journal.record("end", result=f"failed: {error}".splitlines()[0])
        raise
    except BaseException as error:
        journal.record("end", result=f"crashed: {type(error).__name__}")
        raise
    finally:
        run.close()
    return runner

