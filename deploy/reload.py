"""Reloading the sites, and its undo: each site back on the storage it served from, no upload lost.

Shared by the cutover (disk -> S3) and the rollback (S3 -> disk).  A reload is
done when the site answers in its new mode; its old workers may still finish
requests, and write to the storage the site left, for up to the web server's
graceful timeout (RELOAD_GRACE_SECONDS): the copy after a reload waits that out
before its last pass (``after_reload``).  A site that served from the other
storage for a while took uploads there only, so the undo carries them back:
once before the reload back (the files the old workers will render must be
there when they start) and once after, until nothing is missing.
"""

from __future__ import annotations

import time
from typing import Callable

from . import health, settings_remote, transfer
from .context import Run
from .errors import CutoverError, RemoteError
from .hosts import run as remote_run


def reload_sites(run: Run) -> str:
    """Reload the hosts this run changed, then wait until each answers in its new mode; a host
    found already as wanted keeps running as it is."""
    changed = [host for host in run.settings.hosts if run.hosts[host.alias].settings_written]
    reloaded_at = {}
    for host in changed:
        run.hosts[host.alias].reloaded = True  # set first: a reload that fails may still have happened
        run.on_host("reload", host.alias, _reload_host)
        reloaded_at[host.alias] = time.time()
    lines = []
    for host in changed:
        storage = _new_storage(run, host.alias)
        health.wait_for_storage(host, storage, run.settings.reload_timeout)
        healthy_at = time.time()
        seconds = healthy_at - reloaded_at[host.alias]
        run.journal.record("host", step="health", host=host.alias, seconds_to_healthy=round(seconds, 3),
                           healthy_at=healthy_at)
        lines.append(f"{host.alias}: reloaded, answers on {storage} {seconds:.1f} s after its reload command")
    if changed:
        run.reloaded_at = time.monotonic()
    return "\n".join(lines) or "no host changed: none reloaded"


def _new_storage(run: Run, alias: str) -> str:
    """The storage a host this run changed serves from once reloaded: the other one."""
    return "disk" if run.hosts[alias].original_use_s3 else "s3"


def _reload_host(run: Run, alias: str) -> str:
    host = run.settings.host(alias)
    remote_run(run.connection(alias), host.reload_command, f"reload command `{host.reload_command}`",
               timeout=run.settings.reload_timeout)
    return f"{alias}: reloaded"


def after_reload(run: Run, copy: Callable[[Run], str], until_complete: Callable[[Run], str]) -> str:
    """A copy at once (what the old workers wrote so far reaches the new storage soon), then, once they
    have had RELOAD_GRACE_SECONDS since the sites answered in their new mode, until complete."""
    lines = [copy(run)]
    if run.reloaded_at is not None:
        remaining = run.reloaded_at + run.settings.reload_grace - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
            lines.append(f"waited {remaining:.1f} s more for the old workers' last requests "
                         f"(RELOAD_GRACE_SECONDS={run.settings.reload_grace:g})")
    lines.append(until_complete(run))
    return "\n".join(lines)


def preview_after_reload(run: Run, what: str) -> str:
    return (f"would {what} at once, then again, {run.settings.reload_grace:g} s (RELOAD_GRACE_SECONDS) after "
            "every site answers in its new mode, until complete")


def preview_reload(run: Run) -> str:
    return "\n".join(f"{host.alias}: {host.reload_command}" for host in run.settings.hosts)


def restore_and_reload_sites(run: Run) -> str:
    """Undo of a reload: settings as the run found them, uploads taken meanwhile carried back, reload, healthy."""
    reloaded = [host for host in run.settings.hosts if run.hosts[host.alias].reloaded]
    carry_back = _carry_back(run, reloaded)
    lines, failures = [], []
    for host in run.settings.hosts:
        _attempt(lines, failures, lambda: settings_remote.restore(run, host.alias)
                 or f"{host.alias}: settings unchanged")
    for first_pass, _ in carry_back:
        _attempt(lines, failures, lambda: f"before the reload back: {first_pass(run)}")
    for host in reloaded:
        _attempt(lines, failures, lambda: _reload_back(run, host))
    for first_pass, until_complete in carry_back:
        _attempt(lines, failures,
                 lambda: f"after the reload back: {after_reload(run, first_pass, until_complete)}")
    if failures:
        raise RemoteError("; ".join(failures))
    return "\n".join(lines)


def _carry_back(run: Run, reloaded) -> list[tuple[Callable, Callable]]:
    """(first pass, until complete) for each way the uploads taken meanwhile must go."""
    back_to = {"s3" if run.hosts[host.alias].original_use_s3 else "disk" for host in reloaded}
    copies = []
    if "disk" in back_to:  # these sites served from S3: their uploads are in the bucket only
        copies.append((lambda run_: transfer.download(run_, overwrite=False), transfer.download_until_complete))
    if "s3" in back_to:  # these served from disk: their uploads are on disk only
        copies.append((lambda run_: transfer.upload(run_, overwrite=False), transfer.upload_until_complete))
    return copies


def _attempt(lines: list[str], failures: list[str], action) -> None:
    """Going back does every part it can: one part failing does not stop the others."""
    try:
        lines.append(action())
    except CutoverError as error:
        failures.append(str(error))


def _reload_back(run: Run, host) -> str:
    storage = "s3" if run.hosts[host.alias].original_use_s3 else "disk"
    try:
        remote_run(run.connection(host.alias), host.reload_command, "reload command",
                   timeout=run.settings.reload_timeout)
    except RemoteError as error:
        # The reload that failed may never have taken effect: what counts is what the site serves.
        health.wait_for_storage(host, storage, timeout=10)
        run.hosts[host.alias].reloaded = False
        run.reloaded_at = time.monotonic()
        return f"{host.alias}: reload command failed again ({error}), but the site is healthy on {storage}"
    seconds = health.wait_for_storage(host, storage, run.settings.reload_timeout)
    run.hosts[host.alias].reloaded = False
    run.reloaded_at = time.monotonic()
    return f"{host.alias}: reloaded, healthy on {storage} after {seconds:.1f} s"
