"""The steps both sequences are made of: one vocabulary, over a direction (``deploy.flows.direction``).

The cutover (``deploy.flows.cutover``) and the rollback (``deploy.flows.rollback``)
are two lists of these steps, as Capistrano's deploy and rollback are two lists
over one vocabulary of stages: neither imports the other.  Both start under the
environment's lock with the sync tool installed, and end alike
(:func:`switch_over`).  A step's ``apply`` returns a one-line summary; steps that
change anything have a ``preview`` (--dry-run) and, where it can be put back,
an ``undo``.  Uploads, downloads and the sync tool are never undone: they
delete nothing and change nothing the site uses.
"""

from __future__ import annotations

import os
from functools import partial

from ..engine import lock
from ..engine.journal import operator
from ..engine.runner import Step
from ..site.ops import switch
from ..site.ops.health import wait_for_storage
from ..sync import install
from ..sync.commands import supports_lists
from . import new_settings
from .direction import Direction, preview_rows
from .reload import after_reload, preview_after_reload, preview_reload, reload_sites, restore_and_reload_sites
from .state import FlowRun, health_settings


# --- the lock and the sync tool --------------------------------------------------------------

def take_lock(run: FlowRun) -> str:
    details = {"run_id": run.run_id, "kind": run.journal.kind, "owner": operator(),
               "since": run.run_id.split("-")[0], "pid": os.getpid()}
    lock.take_lock(run.media_connection, run.settings, details, break_lock=run.options.break_lock)
    return f"{run.settings.media_host}:{lock.lock_path(run.settings)}"


def release_lock(run: FlowRun) -> str:
    lock.release_lock(run.media_connection, run.settings, run.run_id)
    return "lock released"


def preview_lock(run: FlowRun) -> str:
    return f"would take the lock {run.settings.media_host}:{lock.lock_path(run.settings)}"


def install_sync_tool(run: FlowRun) -> str:
    result = install.install_sync_tool(run.media_connection, run.settings)
    return f"{result.tool} {result.version} " + ("installed" if result.installed else "already installed") \
        + f" in {result.path}"


def preview_install(run: FlowRun) -> str:
    result = install.install_sync_tool(run.media_connection, run.settings, dry_run=True)
    return "\n".join(result.commands) or f"{result.tool} {result.version} already installed"


TAKE_LOCK = Step("take the environment lock", take_lock, undo=release_lock, preview=preview_lock)
INSTALL_SYNC_TOOL = Step("install the sync tool", install_sync_tool, preview=preview_install)


def copy(name: str, to: Direction) -> Step:
    """The first copy ``to`` the new storage, while the sites still serve from the old one."""
    return Step(name, to.copy, preview=to.preview_copy)


# --- the switch-over: both directions end with it -----------------------------------------------

def switch_settings(run: FlowRun, to: Direction) -> str:
    return "\n".join(run.on_host("flip", alias, to.switch) for alias in run.aliases)


def restore_settings(run: FlowRun) -> str:
    """Undo: each settings file as the run's preflight found it."""
    hosts = run.state.switch.hosts
    return "\n".join(filter(None, (switch.restore(run, alias, hosts[alias]) for alias in run.aliases)))


def preview_switch(run: FlowRun, to: Direction) -> str:
    return "\n".join(to.preview_switch(run, alias) for alias in run.aliases)


def health_check(run: FlowRun, to: Direction) -> str:
    """Every site serves media from ``to``: the hosts at once (each its own answers; a host that fails
    is named, with every other host's result)."""
    settings = health_settings(run)  # the disk's MEDIA_URL as the site's settings said it

    def one(run: FlowRun, alias: str) -> str:
        host = run.settings.host(alias)
        wait_for_storage(host, to.storage, run.settings.reload_timeout, settings)
        served = to.check_served(settings, host, run.options.sample_limit, faults=run.faults)
        return "\n".join([f"{alias}: on {to.label}, {served.summary(to.served)}", *served.lines(alias)])
    return "\n".join(run.on_every_host(one))


def preview_health(run: FlowRun, to: Direction) -> str:
    return f"would check every site on {to.label}"


# The passes before the staged check go on while a pass still finds more than this: the first one
# carries every upload of the bulk copy's minutes, and the pass right before the reload (the
# change-over's window) then only carries the few seconds of uploads since the last of these.
FEW_CHANGED = 50
MOST_PASSES = 4


def copy_until_few(run: FlowRun, to: Direction) -> str:
    """Delta passes until one finds at most FEW_CHANGED files (at most MOST_PASSES); a tool that cannot
    copy a list makes one full pass (each costs the whole tree)."""
    passes = run.state.passes

    def one_pass() -> str:
        passes.last_pass_listed = None   # a full pass says no count: then no second one for a stale count
        return to.copy_missing(run)
    lines = [one_pass()]
    if not supports_lists(run.settings.sync_tool):
        return lines[0]
    while len(lines) < MOST_PASSES and (passes.last_pass_listed or 0) > FEW_CHANGED:
        lines.append(one_pass())
    return "\n".join(lines)


def catch_up_after_reload(run: FlowRun, to: Direction) -> str:
    return after_reload(run, to.copy_missing)


def check_complete(run: FlowRun, to: Direction) -> str:
    return to.until_complete(run)


def preview_complete(run: FlowRun, to: Direction) -> str:
    return (f"would compare the whole tree with the whole bucket until {to.complete}, copying exactly "
            "what is missing (nothing replaced)")


def preview_catch_up(run: FlowRun, to: Direction) -> str:
    return preview_after_reload(run, to.catching_up)


CHECK_SETTINGS = "check the new settings and what they select"
CHECK_WRITTEN = "check the settings as written"
THUMBNAIL_ROWS = "move easy_thumbnails' rows to the new storage"
LAST_PASS = "copy what arrived during the checks"
RELOAD = Step("reload the sites", reload_sites, undo=restore_and_reload_sites, preview=preview_reload)


def switch_over(to: Direction, *, settings: str, latest: str, catch_up: str, health: str,
                complete: str, before_complete: tuple[Step, ...] = ()) -> list[Step]:
    """How both directions end, named by each, in this order:

    ``latest``: copy what reached the old storage since the first copy (delta passes, ~1 s each at
    100,000 files, until one finds at most FEW_CHANGED files); CHECK_SETTINGS: the new settings, staged, before anything is written
    (``deploy.flows.new_settings``): `manage.py check` on them and what they select (``to``'s storage,
    staticfiles as before; thumbnails follow the media), in one Django start-up a host, so that a
    refusal changes nothing and the change-over does not wait for Django; ``settings``: every
    settings file to ``to`` (undone: the preflight's bytes put back); CHECK_WRITTEN: the same checks
    on the written file, only for a host whose site did not read the staged settings;
    THUMBNAIL_ROWS: easy_thumbnails' rows to the new storage's hashes (undone: the record put back),
    so that no thumbnail is made again; all before any reload; LAST_PASS: what arrived during the
    checks (a few seconds of uploads), right before the reload, so that the files the new workers
    render are there when they start; the reload (undone: each site back on its old storage, the
    uploads it took meanwhile carried back); ``catch_up``: copy at once and again and again while
    the sites switch over (an old worker takes uploads until the new ones answer), then once more
    (``deploy.flows.reload.after_reload``); ``health``: every site serves media from ``to``;
    ``complete``: the whole tree against the whole bucket, once, off the change-over's critical path
    (``before_complete`` right before it: the mirror's records of failed writes, which it repairs).
    Every copy after the first is a delta pass (``deploy.media.delta``): it costs what changed.
    """
    return [
        Step(latest, partial(copy_until_few, to=to), preview=to.preview_copy_missing),
        Step(CHECK_SETTINGS, partial(new_settings.check_staged, to=to),
             preview=partial(new_settings.preview_check, to=to)),
        Step(settings, partial(switch_settings, to=to), undo=restore_settings,
             preview=partial(preview_switch, to=to)),
        Step(CHECK_WRITTEN, partial(new_settings.check_written, to=to),
             preview=partial(new_settings.preview_written, to=to)),
        Step(THUMBNAIL_ROWS, to.thumbnail_rows, undo=to.undo_thumbnail_rows, preview=preview_rows),
        Step(LAST_PASS, to.copy_missing, preview=to.preview_copy_missing),
        RELOAD,
        Step(catch_up, partial(catch_up_after_reload, to=to), preview=partial(preview_catch_up, to=to)),
        Step(health, partial(health_check, to=to), preview=partial(preview_health, to=to)),
        *before_complete,
        Step(complete, partial(check_complete, to=to), preview=partial(preview_complete, to=to)),
    ]
