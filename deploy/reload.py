"""Reloading the sites, and its undo: each site back on the storage it served from, no upload lost.

Shared by the cutover (disk -> S3) and the rollback (S3 -> disk).  A site that
served from the other storage for a while took uploads there only, so the undo
carries them back: once before the reload back (the files the old workers will
render must be there when they start) and once after, until nothing is missing.
"""

from __future__ import annotations

from typing import Callable

from . import health, settings_remote, transfer
from .context import Run
from .errors import CutoverError, RemoteError
from .hosts import run as remote_run


def reload_sites(run: Run) -> str:
    """Reload the hosts this run changed; a host found already as wanted keeps running as it is."""
    changed = [host for host in run.settings.hosts if run.hosts[host.alias].settings_written]
    for host in changed:
        run.hosts[host.alias].reloaded = True  # set first: a reload that fails may still have happened
        run.on_host("reload", host.alias, _reload_host)
    return f"reloaded {', '.join(host.alias for host in changed)}" if changed else "no host changed: none reloaded"


def _reload_host(run: Run, alias: str) -> str:
    host = run.settings.host(alias)
    remote_run(run.connection(alias), host.reload_command, f"reload command `{host.reload_command}`",
               timeout=run.settings.reload_timeout)
    return f"{alias}: reloaded"


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
    for _, until_complete in carry_back:
        _attempt(lines, failures, lambda: f"after the reload back: {until_complete(run)}")
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
        return f"{host.alias}: reload command failed again ({error}), but the site is healthy on {storage}"
    seconds = health.wait_for_storage(host, storage, run.settings.reload_timeout)
    run.hosts[host.alias].reloaded = False
    return f"{host.alias}: reloaded, healthy on {storage} after {seconds:.1f} s"
