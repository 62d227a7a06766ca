"""Reloading the sites, and its undo: each site back on the storage it served from, no upload lost.

Shared by the cutover (disk -> S3) and the rollback (S3 -> disk).  Right after
a reload the old workers still answer until the new ones have started, and
finish what they took for up to the web server's graceful timeout: they store
uploads where the site used to.  So the copy after a reload (``after_reload``)
goes again and again until every site answers in its new mode and its old
workers have had RELOAD_GRACE_SECONDS more, then until nothing is missing.  A
site that served from the other storage for a while took uploads there only,
so the undo carries them back: once before the reload back (the files the old
workers will render must be there when they start) and once after.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ..engine.events import Healthy
from ..errors import HealthError, MediaCutoverError, RemoteError, UndoUnconfirmed
from ..media import delta
from ..remote.ssh import run as remote_run
from ..site.ops import health
from ..site.ops import switch
from ..site.ops import storage as site_storage
from .direction import TO_DISK, TO_S3, Direction
from .state import FlowRun, health_settings

# The copies while the sites switch over start at most this often (seconds).
PASS_INTERVAL = 0.5


def reload_sites(run: FlowRun) -> str:
    """Reload the hosts this run changed (the copy after it waits for them to answer in their new
    mode); a host found already as wanted keeps running as it is."""
    hosts = run.state.switch.hosts
    changed = [host for host in run.targets if hosts[host.alias].settings_written]
    if changed:  # a site back on disk stores files there from now on: the passes to S3 start here
        delta.mark_disk(run, run.state.passes)
    for host in changed:
        hosts[host.alias].reloaded = True  # set first: a reload that fails may still have happened
        run.on_host("reload", host.alias, reload_host)
        run.state.switch.switching[host.alias] = (_ahead(run, host.alias).storage, time.time())
    return f"reloaded {', '.join(host.alias for host in changed)}" if changed else "no host changed: none reloaded"


def _ahead(run: FlowRun, alias: str) -> Direction:
    """Where a reloaded host goes: away from the storage the run found it on."""
    return TO_DISK if run.state.switch.hosts[alias].original_use_s3 else TO_S3


def _back(run: FlowRun, alias: str) -> Direction:
    """Where a host goes back to: the storage the run found it on."""
    return TO_S3 if run.state.switch.hosts[alias].original_use_s3 else TO_DISK


def reload_host(run: FlowRun, alias: str) -> str:
    host = run.settings.host(alias)
    remote_run(run.connection(alias), host.reload_command, f"reload command `{host.reload_command}`",
               timeout=run.settings.reload_timeout)
    return f"{alias}: reloaded"


def after_reload(run: FlowRun, copy: Callable[[FlowRun], str], until_complete: Callable[[FlowRun], str] | None = None,
                 unseen: list[tuple[str, str, HealthError]] | None = None) -> str:
    """Copy at once, and again while the sites switch over: until each answers in its new mode and
    its old workers have had RELOAD_GRACE_SECONDS more to store what they took (the sites serve from the
    new storage now, but an old worker finishing its last requests still writes to the one it left);
    then once more, and, given ``until_complete`` (the undo), until complete.  The flows check
    completeness in a step of their own, after the health check: off the change-over's critical path.

    A site that never answers in its new mode fails this; given ``unseen`` (the undo's reload back),
    (alias, storage, error) of each goes there instead and the copies go on to the end."""
    state = run.state.switch
    lines, passes = [copy(run)], 0
    switching, state.switching = state.switching, {}
    if switching:
        with ThreadPoolExecutor(len(switching)) as pool:
            waits = [pool.submit(_wait_until_serving, run, alias, storage, since)
                     for alias, (storage, since) in switching.items()]
            while not all(wait.done() for wait in waits):
                _copy_again(run, copy)
                passes += 1
        for (alias, (storage, _)), wait in zip(switching.items(), waits):
            try:
                lines.append(wait.result())  # a site that never switched fails the step
            except HealthError as error:
                if unseen is None:
                    raise
                unseen.append((alias, storage, error))
        state.reloaded_at = time.monotonic()
    if state.reloaded_at is not None:
        while time.monotonic() < state.reloaded_at + run.settings.reload_grace:
            _copy_again(run, copy)
            passes += 1
        lines.append(f"{passes} more passes while the sites switched over and their old workers finished "
                     f"(RELOAD_GRACE_SECONDS={run.settings.reload_grace:g})")
        lines.append(f"last pass: {copy(run)}")
    if until_complete is not None:
        lines.append(until_complete(run))
    return "\n".join(lines)


def _copy_again(run: FlowRun, copy: Callable[[FlowRun], str]) -> None:
    begin = time.monotonic()
    copy(run)
    time.sleep(max(0.0, PASS_INTERVAL - (time.monotonic() - begin)))


def _wait_until_serving(run: FlowRun, alias: str, storage: str, reloaded_at: float) -> str:
    health.wait_for_storage(run.settings.host(alias), storage, run.settings.reload_timeout, health_settings(run))
    healthy_at = time.time()
    seconds = healthy_at - reloaded_at
    run.journal.record(Healthy(host=alias, seconds_to_healthy=round(seconds, 3), healthy_at=healthy_at))
    return f"{alias}: answers on {storage} {seconds:.1f} s after its reload command"


def preview_after_reload(run: FlowRun, what: str) -> str:
    return (f"would {what} at once, again until every site answers in its new mode and "
            f"{run.settings.reload_grace:g} s more (RELOAD_GRACE_SECONDS), then once more")


def preview_reload(run: FlowRun) -> str:
    return "\n".join(f"{host.alias}: {host.reload_command}" for host in run.targets)


def restore_and_reload_sites(run: FlowRun) -> str:
    """Undo of a reload: settings as the run found them, uploads taken meanwhile carried back, reload, healthy.

    Raises RemoteError when a part failed; UndoUnconfirmed when every part was done but a site's health
    in its old mode could not be seen (its health URL answers 404 or nothing): that names what was
    restored, and what could not be confirmed and why, without calling the undo failed.
    """
    hosts = run.state.switch.hosts
    reloaded = [host for host in run.targets if hosts[host.alias].reloaded]
    run.state.switch.switching = {}  # going back now: nothing waits for the new mode any more
    carry_back = _carry_back(run, reloaded)
    lines, failures, done, unseen = [], [], [], []
    for host in run.targets:
        _attempt(lines, failures, lambda: switch.restore(run, host.alias, hosts[host.alias])
                 or f"{host.alias}: settings unchanged", done)
    for back in carry_back:
        _attempt(lines, failures, lambda: f"before the reload back: {back.copy_missing(run)}")
    for host in reloaded:
        _attempt(lines, failures, lambda: _reload_back(run, host), done)
    for back in carry_back:
        carried = _attempt(lines, failures, lambda: "after the reload back: "
                           + after_reload(run, back.copy_missing, back.until_complete, unseen))
        if carried:
            done.append(f"what the sites stored meanwhile is {'on disk' if back is TO_DISK else 'in the bucket'}"
                        " again, every file")
    unconfirmed = []
    for alias, storage, error in unseen:
        _judge_unseen(run, alias, storage, error, lines, failures, unconfirmed, done)
    if failures:
        raise RemoteError("; ".join(failures + [f"not confirmed: {why}" for why in unconfirmed]))
    if unconfirmed:
        raise UndoUnconfirmed(done, unconfirmed)
    return "\n".join(lines)


def _judge_unseen(run: FlowRun, alias: str, storage: str, error: HealthError, lines: list[str], failures: list[str],
                  unconfirmed: list[str], done: list[str]) -> None:
    """A site not seen answering in its old mode after the reload back: a failure only when it answers in
    the other mode; when its health URL answers something else, or nothing, it is not confirmed, and why
    (with what its settings select now, where the storage check can ask)."""
    host = run.settings.host(alias)
    status, seen = health.storage_of(host, health_settings(run), expected=storage)
    if status == 200 and seen == storage:
        lines.append(f"{alias}: answers on {storage} (later than RELOAD_TIMEOUT)")
    elif status == 200 and seen in (TO_S3.storage, TO_DISK.storage, "mixed"):
        failures.append(f"{alias}: still shows storage={seen} after the reload back to {storage}: {error}")
    else:
        where, key = ((host.health_url, "HEALTH_URL") if host.health_url else
                      (", ".join(host.site_url + path for path in host.media_check_paths), "MEDIA_CHECK_PATHS"))
        answer = (f"answered HTTP {status}" if status != 200 else "showed no storage") if status else "answered nothing"
        unconfirmed.append(f"{alias}'s health on {storage} ({where} {answer}): check {key}"
                           + ("" if status else " and that the site runs"))
        selected = _what_the_settings_select(run, alias)
        if selected:
            done.append(selected)
            lines.append(selected)


def _what_the_settings_select(run: FlowRun, alias: str) -> str | None:
    """What the settings put back select, as the storage check sees them; None where it cannot ask."""
    host = run.settings.host(alias)
    if not (host.manage_py and host.site_python):
        return None
    try:
        report = site_storage.probe(run, alias)
    except MediaCutoverError as error:
        return f"{alias}: what its settings select could not be read either ({error})"
    return f"{alias}: its settings select {(report.default or {}).get('backend')} again (the storage check)"


def _carry_back(run: FlowRun, reloaded) -> list[Direction]:
    """Each way the uploads taken meanwhile must go: a site that served from S3 for a while took them into
    the bucket only (back to disk), one that served from disk onto the disk only (back to S3)."""
    back = {_back(run, host.alias).storage for host in reloaded}
    return [to for to in (TO_DISK, TO_S3) if to.storage in back]


def _attempt(lines: list[str], failures: list[str], action, done: list[str] | None = None) -> bool:
    """Going back does every part it can: one part failing does not stop the others.  What it did
    goes to ``lines`` (and to ``done``, when given: what the undo's summary names as restored)."""
    try:
        line = action()
    except MediaCutoverError as error:
        failures.append(str(error))
        return False
    lines.append(line)
    if done is not None:
        done.append(line)
    return True


def _reload_back(run: FlowRun, host) -> str:
    """The reload command again; the copy after it (after_reload) waits for the site on its old storage."""
    storage = _back(run, host.alias).storage
    try:
        remote_run(run.connection(host.alias), host.reload_command, "reload command",
                   timeout=run.settings.reload_timeout)
    except RemoteError as error:
        # The reload that failed may never have taken effect: what counts is what the site serves.
        health.wait_for_storage(host, storage, timeout=10, settings=health_settings(run))
        run.state.switch.hosts[host.alias].reloaded = False
        run.state.switch.reloaded_at = time.monotonic()
        return f"{host.alias}: reload command failed again ({error}), but the site is healthy on {storage}"
    run.state.switch.hosts[host.alias].reloaded = False
    run.state.switch.switching[host.alias] = (storage, time.time())
    return f"{host.alias}: reloaded back to {storage}"
