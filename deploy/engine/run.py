"""What one run carries from step to step: settings, options, journal, connections, and its flow's state.

The engine knows nothing of a flow's state (``state``, of a type the flow chooses: ``deploy.flows.state``);
the flow creates it, and its steps read and write it.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Generic, Protocol, TypeVar

from fabric import Connection

from ..config.types import HostSettings, Settings
from ..errors import HostsFailed, MediaCutoverError
from ..remote.ssh import connect
from ..retry import FaultTally
from .events import HostDone
from .journal import Journal

S = TypeVar("S")


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    checksum: bool = False
    break_lock: bool = False
    sample_limit: int = 10
    # go on although sorl-thumbnail's thumbnails will be made again on first view (the preflight's count)
    accept_thumbnail_regeneration: bool = False
    # reclaim: remove the files proven in the bucket (without it, reclaim is a report)
    delete_local: bool = False
    # reclaim: go on although the site's content still holds old media URLs (a redirect serves them)
    accept_content_urls: bool = False


@dataclass
class Run(Generic[S]):
    """One cutover, rollback or finalize: what it was given, its hosts and connections, and its flow's state."""

    settings: Settings
    options: Options
    journal: Journal
    say: Callable[[str], None]
    run_id: str
    state: S  # the flow's own (deploy.flows.state), made by its entry function; a bench's: the passes alone
    # (alias, why) of the hosts the rollback's preflight could not reach: left alone, named at the end
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    # the store faults retried (deploy.retry), by kind: the store adapters are handed it (``faults=``), the
    # runner takes each step's share when the step ends (a RetryCounts record, a line of its summary)
    faults: FaultTally = field(default_factory=FaultTally)
    _connections: dict[str, Connection] = field(default_factory=dict)
    _closing: list[Closable] = field(default_factory=list)

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

    def close_at_end(self, opened: Closable) -> None:
        """Something a step opened for the rest of the run (the site's database feed): closed by close()."""
        self._closing.append(opened)

    def close(self) -> None:
        for opened in self._closing:  # first: they may run over the connections
            opened.close()
        self._closing.clear()
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()


def _outcome(future: Future) -> object:
    """What an action returned, or the error it raised."""
    error = future.exception()
    return future.result() if error is None else error
