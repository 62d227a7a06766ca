"""The journal's events as typed records: what a run's steps record, and what the readers (the rehearsal's
report, `invoke status`, the benches) read back.  Pure.

A journal line (``deploy.engine.journal``) is a header (time, run_id, env, kind), the event's name
(``"event"``) and its record's fields, in the order the record declares them; what a step counted is
``deploy.engine.counts``.  A line of an older (or newer) journal still reads: a field its record does
not declare is kept (``undeclared``), one it declares that the line lacks reads as None and is left out
again when written (``absent``), so every line reads back as it was written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Mapping

_OWN = ("undeclared", "absent")  # the base's bookkeeping, never a field of the line


@dataclass(frozen=True, kw_only=True)
class Event:
    """One event of a run; a line's fields after the header."""

    EVENT: ClassVar[str] = ""
    OMITTED_WHEN_NONE: ClassVar[tuple[str, ...]] = ()  # written only when set
    FLATTENED: ClassVar[str | None] = None  # a mapping written inline, that takes what is undeclared on reading

    # what a line read back held beyond the record's fields; the record's fields it lacked (they read None and
    # are left out again when written: how it was written, not what it says, so not compared)
    undeclared: Mapping[str, object] = field(default_factory=dict, repr=False)
    absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def event_name(self) -> str:
        return self.EVENT

    def fields(self) -> dict:
        """The line's fields after the header and the name, in order."""
        line: dict = {}
        for declared in dataclasses.fields(self):
            name, value = declared.name, getattr(self, declared.name)
            if name in _OWN or name in self.absent or (value is None and name in self.OMITTED_WHEN_NONE):
                continue
            if name == self.FLATTENED:
                line.update(value)
            else:
                line[name] = value
        return {**line, **self.undeclared}

    @classmethod
    def of_fields(cls, fields: Mapping[str, object]) -> "Event":
        """The record of a line's fields (after the header and the name), as read back."""
        declared = [f for f in dataclasses.fields(cls) if f.name not in _OWN]
        names = {f.name for f in declared}
        given = {f.name: fields.get(f.name) for f in declared if f.init and f.name != cls.FLATTENED}
        rest = {name: value for name, value in fields.items() if name not in names}
        absent = frozenset(f.name for f in declared if f.name not in fields and f.name != cls.FLATTENED)
        if cls.FLATTENED:
            return cls(**given, **{cls.FLATTENED: rest}, absent=absent)
        return cls(**given, undeclared=rest, absent=absent)


@dataclass(frozen=True, kw_only=True)
class Unknown(Event):
    """An event this version does not know (a newer journal's): its fields kept as they are."""

    event: str

    def event_name(self) -> str:
        return self.event

    def fields(self) -> dict:
        return dict(self.undeclared)


# --- the run and its steps (deploy.engine.runner, deploy.engine.journal) -------------------------------

@dataclass(frozen=True, kw_only=True)
class Start(Event):
    EVENT = "start"
    operator: str
    pid: int
    dry_run: bool


@dataclass(frozen=True, kw_only=True)
class End(Event):
    EVENT = "end"
    result: str  # "ok", "failed: <the first line of the error>", "crashed: <the exception's type>"


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    """A step (or an undo) begins."""

    step: str
    result: str = field(default="started", init=False)


@dataclass(frozen=True, kw_only=True)
class StepStarted(Started):
    EVENT = "step"


@dataclass(frozen=True, kw_only=True)
class UndoStarted(Started):
    EVENT = "undo"


@dataclass(frozen=True, kw_only=True)
class Finished(Event):
    """A step (or an undo) ended: how, after how long, its summary, the operator's peak memory during it."""

    OMITTED_WHEN_NONE = ("unconfirmed",)
    step: str
    result: str  # ok, previewed, failed, crashed; undone, undo failed
    seconds: float
    summary: str
    peak_mb: float | None
    unconfirmed: list[str] | None = None  # an undo's: what it put back but could not see take effect


@dataclass(frozen=True, kw_only=True)
class StepFinished(Finished):
    EVENT = "step"


@dataclass(frozen=True, kw_only=True)
class UndoFinished(Finished):
    EVENT = "undo"


# --- one host's part (deploy.engine.run.Run.on_host, the health waits after a reload) ---------------------

@dataclass(frozen=True, kw_only=True)
class HostDone(Event):
    EVENT = "host"
    step: str
    host: str
    start: float
    result: str  # "ok" or "failed"
    summary: str


@dataclass(frozen=True, kw_only=True)
class Healthy(Event):
    """A reloaded site answers in its new mode; ``healthy_at`` (Unix time) after a switch, ``mirror`` after
    the mirror's switch was set."""

    EVENT = "host"
    OMITTED_WHEN_NONE = ("healthy_at", "mirror")
    step: str = field(default="health", init=False)
    host: str
    seconds_to_healthy: float
    healthy_at: float | None = None
    mirror: bool | None = None


# --- what a step counted: the base of deploy.engine.counts's records, one a step ----------------------

@dataclass(frozen=True, kw_only=True)
class Counts(Event):
    """A step's figures; this class itself reads those of a step this version does not know."""

    EVENT = "counts"
    step: str
