"""What one run carries from step to step: settings, options, connections, facts."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from fabric import Connection

from ..config.types import HostSettings, Settings
from ..errors import HostsFailed, MediaCutoverError
from ..remote.ssh import connect
from .events import HostDone
from .journal import Journal

if TYPE_CHECKING:
    from ..media.accounting import UploadAccount
    from ..site.mirror_failures import MirrorFailure
    from ..site.ops.reference_feed import ReferenceFeed
    from ..site.facts.storage import StorageReport
    from ..site.facts.thumbnails import EasyMigration


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    checksum: bool = False
    break_lock: bool = False
    sample_limit: int = 10
    # go on although sorl-thumbnail's thumbnails will be made again on first view (the preflight's count)
    accept_thumbnail_regeneration: bool = False


@dataclass
class HostFacts:
    """What preflight read from a host, and what the run did to it."""

    original: bytes = b""          # the settings file as preflight read it
    original_use_s3: bool = False
    original_mirror: bool | None = None  # the mirror's switch (MIRROR_SWITCH_NAME); None: the file has none
    backup_path: str | None = None  # set once the flip wrote a backup: the file as preflight read it
    written: bytes | None = None    # what this run wrote last (a mirror-mode run writes the file twice)
    writes: int = 0
    settings_written: bool = False  # this run replaced the settings file (undo restores it)
    reloaded: bool = False


@dataclass
class Run:
    """One cutover or rollback: what it was given, and what its steps learn and hand on, by name."""

    settings: Settings
    options: Options
    journal: Journal
    say: Callable[[str], None]
    run_id: str
    hosts: dict[str, HostFacts] = field(default_factory=dict)
    # (alias, why) of the hosts the rollback's preflight could not reach: left alone, named at the end
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    # paths under MEDIA_ROOT the manifest cannot follow (symlink loops, dangling links): no copy touches them
    unreadable: list[str] = field(default_factory=list)
    # the media host's clock when the first upload started: the verify leaves out files changed since
    upload_started: int | None = None
    # what the first upload said of itself (deploy.media.accounting): the verify before the flip takes it
    upload_account: "UploadAccount | None" = None
    # the media host's clock when the last pass from disk started (deploy.media.delta): the next one
    # copies only what changed on disk since; None until a pass from disk, or a reload, set it
    disk_mark: float | None = None
    # the order the store lists keys in: "bytes" (AWS), or "path" once a comparison found it lists dir by dir
    listing_order: str = "bytes"
    # alias -> (storage, time.time() of its reload command) of sites reloaded but not yet seen
    # answering in their new mode (deploy.flows.reload.after_reload waits for them)
    switching: dict[str, tuple[str, float]] = field(default_factory=dict)
    # time.monotonic() when the last reloaded site answered in its new mode: from then on,
    # only old workers finishing their last requests still write to the storage it left
    reloaded_at: float | None = None
    # alias -> what the site's settings selected when the preflight probed them (deploy.site.ops.storage):
    # the check after the switch compares with it (the staticfiles backend must stay as it was)
    storage_before: dict[str, "StorageReport"] = field(default_factory=dict)
    # the new settings as checked before any reload (deploy.flows.new_settings): each probed host's
    # report, and the hosts whose site did not read the staged file (checked once it is written)
    settings_checked: dict[str, "StorageReport"] = field(default_factory=dict)
    check_after_flip: list[str] = field(default_factory=list)
    # easy_thumbnails' rows (deploy.site.ops.thumbnails): the move the flipped settings call for, the record
    # this run wrote (its undo puts it back), the record it restored (its undo moves the rows again)
    easy_migration: "EasyMigration | None" = None
    easy_record: str | None = None
    easy_restored: str | None = None
    # the site's database, open for the rollback's passes (deploy.site.ops.reference_feed)
    reference_feed: "ReferenceFeed | None" = None
    # how many files the last delta pass found to copy (deploy.media.delta); None before one
    last_pass_listed: int | None = None
    # the change-over's mode, as the preflight chose it (deploy.flows.mode): "copy" or "mirror"
    mode: str = "copy"
    # the mirror's failed writes the run took from the hosts' records (deploy.site.mirror_failures)
    mirror_failures: list["MirrorFailure"] = field(default_factory=list)
    _connections: dict[str, Connection] = field(default_factory=dict)

    @property
    def targets(self) -> tuple[HostSettings, ...]:
        """The hosts this run works on: every host, but those the rollback's preflight set aside."""
        away = {alias for alias, _ in self.unreachable}
        return tuple(host for host in self.settings.hosts if host.alias not in away)

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(host.alias for host in self.targets)

    def connection(self, alias: str) -> Connection:
        if alias not in self._connections:
            self._connections[alias] = connect(self.settings, alias)
        return self._connections[alias]

    def on_host(self, step: str, alias: str, action: Callable[["Run", str], str | None]) -> str:
        """``action(run, alias)``, with the host's start, end and result in the journal."""
        begin = time.time()
        try:
            summary = action(self, alias) or ""
        except MediaCutoverError as error:
            self.journal.record(HostDone(step=step, host=alias, start=begin, result="failed", summary=str(error)))
            raise
        self.journal.record(HostDone(step=step, host=alias, start=begin, result="ok", summary=summary))
        return summary

    def on_every_host(self, action: Callable[["Run", str], object], aliases=None) -> list:
        """``action(run, alias)`` on the hosts (default: the targets) at once, each on its own SSH
        connection; results in order.

        Every host runs to the end; if any failed, HostsFailed carries every host's
        result or error.  Anything but our own errors is a bug and keeps its traceback.
        """
        aliases = list(self.aliases if aliases is None else aliases)
        for alias in aliases:  # opened here, one by one: the threads only use them
            self.connection(alias)
        with ThreadPoolExecutor(max(1, len(aliases))) as pool:
            futures = {alias: pool.submit(action, self, alias) for alias in aliases}
        results = {alias: _outcome(future) for alias, future in futures.items()}
        failures = [result for result in results.values() if isinstance(result, BaseException)]
        bugs = [error for error in failures if not isinstance(error, MediaCutoverError)]
        if bugs:
            raise bugs[0]  # our bug: its traceback
        if failures:
            raise HostsFailed(results)
        return list(results.values())

    @property
    def media_connection(self) -> Connection:
        return self.connection(self.settings.media_host)

    def close(self) -> None:
        if self.reference_feed is not None:
            self.reference_feed.close()
            self.reference_feed = None
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()


def _outcome(future: Future) -> object:
    """What an action returned, or the error it raised."""
    error = future.exception()
    return future.result() if error is None else error
