"""The run journal: one JSON-lines file per run under runs/, for machines.

Each line is a header (when, which run) and one event, a typed record (``deploy.engine.events``, what a
step counted ``deploy.engine.counts``): the steps record them, the rehearsal's report and the benches
read them back (``parse``).  `fab rollback` and `invoke status` read the last real (not dry) run from here.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

from ..config.redact import redact
from .counts import counts_class
from .events import (End, Event, Healthy, HostDone, Start, StepFinished, StepStarted, UndoFinished, UndoStarted,
                     Unknown)


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def operator() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


@dataclass(frozen=True)
class Entry:
    """One journal line: when, in which run, what happened."""

    time: float
    run_id: str
    env: str
    kind: str  # the run's: cutover, rollback, finalize
    event: Event

    def line(self) -> dict:
        return {"time": self.time, "run_id": self.run_id, "env": self.env, "kind": self.kind,
                "event": self.event.event_name(), **self.event.fields()}


class Journal:
    """Append-only record of one run."""

    def __init__(self, runs_dir: Path, run_id: str, env: str, kind: str, dry_run: bool = False):
        runs_dir.mkdir(exist_ok=True)
        self.path = runs_dir / f"{run_id}-{env}-{kind}.jsonl"
        self.run_id, self.env, self.kind = run_id, env, kind
        self.record(Start(operator=operator(), pid=os.getpid(), dry_run=dry_run))

    def record(self, event: Event) -> None:
        line = Entry(time.time(), self.run_id, self.env, self.kind, event).line()
        with open(self.path, "a", encoding="utf-8") as journal_file:
            journal_file.write(redact(json.dumps(line, default=str)) + "\n")


def parse(line: Mapping[str, object]) -> Entry:
    """A journal line (as ``read_run`` gives it), as its record."""
    header = {name: line.get(name) for name in ("time", "run_id", "env", "kind")}
    fields = {name: value for name, value in line.items() if name not in header and name != "event"}
    return Entry(**header, event=record_of(str(line.get("event")), fields))


def record_of(event: str, fields: Mapping[str, object]) -> Event:
    """The record of an event named ``event`` with these fields (a line's, after its header)."""
    if event == "counts":
        return counts_class(fields).of_fields(fields)
    if event in ("step", "undo"):
        started = fields.get("result") == "started"
        kind = {("step", True): StepStarted, ("step", False): StepFinished,
                ("undo", True): UndoStarted, ("undo", False): UndoFinished}[(event, started)]
        return kind.of_fields(fields)
    if event == "host":
        return (Healthy if fields.get("step") == "health" else HostDone).of_fields(fields)
    known = {"start": Start, "end": End}.get(event)
    return known.of_fields(fields) if known else Unknown(event=event, undeclared=dict(fields))


def read_run(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_entries(path: Path) -> list[Entry]:
    return [parse(line) for line in read_run(path)]


def last_run(runs_dir: Path, env: str | None = None, kinds: tuple[str, ...] = (),
             where: Callable[[list[dict]], bool] | None = None) -> list[dict] | None:
    """The events of the newest finished-or-not run (dry runs skipped), optionally of one env, of some kinds,
    and for which ``where(events)`` holds."""
    if not runs_dir.is_dir():
        return None
    for path in sorted(runs_dir.glob("*.jsonl"), reverse=True):
        events = read_run(path)
        if not events:
            continue
        first = parse(events[0])
        if isinstance(first.event, Start) and first.event.dry_run:
            continue
        if env and first.env != env:
            continue
        if kinds and first.kind not in kinds:
            continue
        if where is not None and not where(events):
            continue
        return events
    return None


def outcome(events: list[dict]) -> str:
    """'ok', 'failed: ...' or 'unfinished' for a run's events."""
    for line in reversed(events):
        entry = parse(line)
        if isinstance(entry.event, End):
            return entry.event.result
    return "unfinished"
