"""easy_thumbnails' rows at the switch: moved to the new storage's hash, recorded, and put back.

The adapter around ``deploy.site.facts.thumbnails`` (the script's command lines and reports): it runs them
through the media host's site (``MANAGE_PY`` there, one database for every host), and keeps the record
of each move under ``TOOLS_DIR/thumbnails/`` on that host (mode 600), where the undo, and a later
rollback, find it to put the rows back byte for byte.

- The cutover moves the rows from the hashes the site selected before the flip to those it selects
  after (``thumbnail_plan.easy_migration``), right after the flipped settings are checked and before the
  reload; its undo restores the record.
- The rollback restores the newest record of a move to the hash it leaves (the cutover's), and marks
  it restored; without one (a site switched by hand) it moves the rows itself, recorded.  Its undo
  moves them to the bucket's hash again, recorded, so that the next rollback finds that record.

What a run planned and did is ``EasyRows``, in the flow's state; the steps' parts take it, and what the
media host's site selected before the switch (``before``: the preflight's storage probe, one report a host).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from ...config.paths import shell_path
from ...engine.counts import EasyRowsCounts
from ...engine.run import Run
from ...errors import RemoteError
from ...host_scripts import host_script
from ...remote.ssh import run as remote_run
from ...remote.ssh import run_to_end
from ..facts import thumbnail_plan
from ..facts import thumbnails
from .storage import env_file_of
from ..facts.storage import StorageReport
from ..facts.thumbnails import EasyMigration, RowsChange

TIMEOUT = 600  # one transaction over every row: a big site's table takes minutes
RESTORED = ".restored"

# On the media host with REMOTE_PYTHON: the newest record of ENV (by name: run ids sort by time) of a move
# to HASH: DIR HASH ENV (deploy/remote/scripts/easy_newest_record.py).
_NEWEST = host_script("easy_newest_record.py")


@dataclass
class EasyRows:
    """easy_thumbnails' rows in one run: the move the switched settings call for, the record this run
    wrote (its undo puts it back), the record it restored (its undo moves the rows again)."""

    migration: EasyMigration | None = None
    record: str | None = None
    restored: str | None = None


def plan(run: Run, before: dict[str, StorageReport], after: dict[str, StorageReport]) -> EasyMigration | None:
    """The move from what the media host's site selected before the flip to what it selects after
    (its storage probe's reports); None when easy_thumbnails is not there or nothing moves."""
    alias = run.settings.media_host
    before_probe, after_probe = before.get(alias), after.get(alias)
    if not (before_probe and after_probe and before_probe.thumbnails and after_probe.thumbnails):
        return None
    if before_probe.thumbnails.get("error") or after_probe.thumbnails.get("error"):
        return None  # the cutover refused it before (preflight, staged check); a rollback goes on without
    return thumbnail_plan.easy_migration(thumbnails.report_of(before_probe.thumbnails, alias),
                                     thumbnails.report_of(after_probe.thumbnails, alias))


def record_of(run: Run) -> str:
    """This run's record on the media host, named by its environment too (hosts may serve several)."""
    return thumbnails.record_path(run.settings.tools_dir, f"{run.run_id}-{run.settings.env}")


def move(run: Run, migration: EasyMigration) -> RowsChange:
    """Move the rows as ``migration`` says, in one transaction, with this run's record."""
    record = record_of(run)
    host = run.settings.host(run.settings.media_host)
    change = _run(run, thumbnails.migrate_command(host, migration, record, env_file_of(host), run.settings.switch_name),
                  "moving easy_thumbnails' rows")
    run.journal.record(EasyRowsCounts(command=change.command, changed=change.changed, record=record,
                                      counts=change.counts))
    return change


def restore(run: Run, record: str) -> RowsChange:
    """Put the rows ``record`` lists back exactly as they were, in one transaction."""
    host = run.settings.host(run.settings.media_host)
    change = _run(run, thumbnails.restore_command(host, record, env_file_of(host), run.settings.switch_name),
                  "putting easy_thumbnails' rows back")
    run.journal.record(EasyRowsCounts(command=change.command, changed=change.changed, record=record,
                                      counts=change.counts))
    return change


def newest_record(run: Run, to_hash: str) -> str | None:
    """The newest record on the media host of a move to ``to_hash`` that was not put back yet."""
    settings = run.settings
    directory = settings.tools_dir.rstrip("/") + "/thumbnails"
    output = remote_run(run.media_connection, f"{shell_path(settings.remote_python)} -c {shlex.quote(_NEWEST)} "
                        f"{shell_path(directory)} {shlex.quote(to_hash)} {shlex.quote(settings.env)}",
                        "looking for easy_thumbnails' records")
    return json.loads(output.strip().splitlines()[-1])["record"]


def mark_restored(run: Run, record: str) -> str:
    """The record renamed ``*.restored``: kept, but no later rollback takes it again."""
    remote_run(run.media_connection, f"mv -- {shell_path(record)} {shell_path(record + RESTORED)}",
               f"marking {record} restored")
    return record + RESTORED


def _run(run: Run, command: str, what: str) -> RowsChange:
    alias = run.settings.media_host
    result = run_to_end(run.media_connection, command, what, timeout=TIMEOUT)
    try:
        return thumbnails.parse_rows_change(result.stdout, alias)
    except RemoteError:
        if result.ok or thumbnails.MARKER in result.stdout:
            raise
        detail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise RemoteError(f"{alias}: {what} failed (exit {result.exited}): {detail}") from None


# --- the steps' parts, one pair a direction (deploy.flows.direction) ---------------------------------

def to_bucket(run: Run, rows: EasyRows, before: dict[str, StorageReport]) -> str:
    """The cutover's: the rows to the bucket's hash, recorded (the undo restores the record)."""
    if rows.migration is None:
        return _nothing(run, before)
    change = move(run, rows.migration)
    rows.record = change.record if change.changed else None
    return change.summary()


def back_from_bucket(run: Run, rows: EasyRows) -> str:
    """Undo of to_bucket: the record put back, byte for byte."""
    if rows.record is None:
        return ""
    change = restore(run, rows.record)
    mark_restored(run, rows.record)  # no later rollback takes it again
    rows.record = None
    return change.summary()


def to_disk(run: Run, rows: EasyRows, before: dict[str, StorageReport]) -> str:
    """The rollback's: the newest record of a move to the bucket's hash put back (and marked restored);
    without one, the rows moved to the disk's hash, recorded."""
    migration = rows.migration
    if migration is None:
        return _nothing(run, before)
    record = newest_record(run, migration.from_hash)
    if record is None:
        change = move(run, migration)
        rows.record = change.record if change.changed else None
        return change.summary() + " (no record of a cutover's move: moved, recorded)"
    change = restore(run, record)
    rows.restored = mark_restored(run, record)
    return change.summary()


def back_from_disk(run: Run, rows: EasyRows) -> str:
    """Undo of to_disk: the rows to the bucket's hash again (recorded, for the next rollback), or this
    run's own record put back."""
    if rows.record is not None:
        return back_from_bucket(run, rows)
    if rows.restored is None or rows.migration is None:
        return ""
    change = move(run, rows.migration.reversed())
    rows.restored = None
    return change.summary()


def preview(run: Run, before: dict[str, StorageReport]) -> str:
    """The dry run: what would move, from the preflight's report of the media host's site."""
    report = before.get(run.settings.media_host)
    if report is None or not report.thumbnails or report.thumbnails.get("error"):
        return "no easy_thumbnails rows to move (no thumbnail report of the media host's site)"
    easy = thumbnails.report_of(report.thumbnails, run.settings.media_host).easy
    if not easy.installed:
        return "easy_thumbnails is not installed: no rows to move"
    return (f"would move easy_thumbnails' rows ({easy.source_rows} sources, {easy.thumbnail_rows} thumbnails) to the "
            f"hashes of the storages the flipped settings select, in one transaction through the media host's "
            f"site, recorded in {record_of(run)}")


def _nothing(run: Run, before: dict[str, StorageReport]) -> str:
    report = before.get(run.settings.media_host)
    data = report.thumbnails if report is not None else None
    if data and not data.get("error") and data.get("easy_thumbnails", {}).get("installed"):
        return "easy_thumbnails: its rows already carry the new storages' hashes: nothing to move"
    return "easy_thumbnails is not installed on the media host's site: nothing to move"
