"""Runs an ordered list of steps; on failure undoes the completed ones in reverse.

A step's ``apply`` returns a one-line summary; its ``undo`` (if it changed
anything) must cope with a partly applied step, since a step that fails half
way is undone too.  Ctrl-C is a failure like any other.  The store faults a step
(or an undo) retried are taken from the run's tally when it ends: journaled
(``RetryCounts``) and said under its summary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import MediaCutoverError, StepFailed, UndoUnconfirmed
from ..retry import retried_line
from . import memory
from .counts import RetryCounts
from .events import End, StepFinished, StepStarted, UndoFinished
from .journal import Journal, new_run_id
from .run import Run

Action = Callable[["object"], "str | None"]


@dataclass(frozen=True)
class Step:
    name: str
    apply: Action
    undo: Action | None = None
    preview: Action | None = None  # --dry-run: says what apply would do; required if apply changes anything


@dataclass
class StepOutcome:
    name: str
    result: str
    seconds: float
    summary: str = ""


@dataclass
class UndoOutcome:
    """What the undo of a failed run did: steps undone, failures, and what it put back but could not confirm."""

    undone: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)  # what could not be seen, and why
    restored: list[str] = field(default_factory=list)     # what those undos did


@dataclass
class Runner:
    journal: "object"
    say: Callable[[str], None]
    outcomes: list[StepOutcome] = field(default_factory=list)

    def execute(self, steps: list[Step], run, dry_run: bool = False) -> None:
        started: list[Step] = []
        for step in steps:
            started.append(step)
            begin = time.monotonic()
            memory.reset_peak()
            self.journal.record(StepStarted(step=step.name))
            self.say(f"==> {step.name}")
            # A step that changes anything has a preview; read-only steps run as they are.
            action = (step.preview or step.apply) if dry_run else step.apply
            try:
                summary = action(run) or ""
            except (MediaCutoverError, KeyboardInterrupt) as error:
                reason = "interrupted (Ctrl-C)" if isinstance(error, KeyboardInterrupt) else str(error)
                if faults := self._faults(run, step.name):
                    self.say(f"    {faults}")
                self._finish(step, "failed", begin, reason)
                undo = self._undo(reversed(started), run)
                raise StepFailed(step.name, reason, undo.undone, undo.failures, undo.unconfirmed,
                                 undo.restored) from None
            except Exception:
                # Our own bug: still leave the hosts as they were, then show the traceback.
                self._faults(run, step.name)
                self._finish(step, "crashed", begin, "internal error")
                self._undo(reversed(started), run)
                raise
            summary = "\n".join(filter(None, [summary, self._faults(run, step.name)]))
            self._finish(step, "previewed" if dry_run and step.preview else "ok", begin, summary)
            if summary:
                self.say("    " + summary.replace("\n", "\n    "))

    def _undo(self, steps, run) -> "UndoOutcome":
        outcome = UndoOutcome()
        for step in steps:
            if step.undo is None:
                continue
            begin = time.monotonic()
            self.say(f"<== undo {step.name}")
            try:
                summary = step.undo(run) or ""
                summary = "\n".join(filter(None, [summary, self._faults(run, f"undo {step.name}")]))
            except UndoUnconfirmed as error:  # put back, but not all of it seen to take effect: not a failure
                outcome.undone.append(step.name)
                outcome.restored += error.done
                outcome.unconfirmed += error.unconfirmed
                summary = "\n".join(filter(None, [*error.done, f"not confirmed: {'; '.join(error.unconfirmed)}",
                                                   self._faults(run, f"undo {step.name}")]))
                self._finish(step, "undone", begin, summary, kind="undo", unconfirmed=error.unconfirmed)
                self.say("    " + summary.replace("\n", "\n    "))
                continue
            except (Exception, KeyboardInterrupt) as error:  # keep undoing the rest
                if faults := self._faults(run, f"undo {step.name}"):
                    self.say(f"    {faults}")
                outcome.failures.append(f"{step.name}: {error}")
                self._finish(step, "undo failed", begin, str(error), kind="undo")
                continue
            outcome.undone.append(step.name)
            self._finish(step, "undone", begin, summary, kind="undo")
            if summary:
                self.say("    " + summary.replace("\n", "\n    "))
        return outcome

    def _faults(self, run, name: str) -> str:
        """The store faults retried since the last step ended: journaled for step ``name``; their line."""
        tally = getattr(run, "faults", None)
        retries = tally.take() if tally is not None else {}
        if not retries:
            return ""
        self.journal.record(RetryCounts(step=name, retries=retries))
        return retried_line(retries)

    def _finish(self, step: Step, result: str, begin: float, summary: str, kind: str = "step",
                unconfirmed: list[str] | None = None) -> None:
        seconds = time.monotonic() - begin
        self.outcomes.append(StepOutcome(step.name if kind == "step" else f"undo {step.name}",
                                         result, seconds, summary))
        finished = UndoFinished if kind == "undo" else StepFinished
        self.journal.record(finished(step=step.name, result=result, seconds=round(seconds, 3), summary=summary,
                                     peak_mb=memory.peak_mb(), unconfirmed=unconfirmed))


def execute_run(kind: str, steps: list[Step], settings, options, say: Callable[[str], None],
                release_lock: Action, finish: Action | None = None,
                then: Callable[[Run], list[Step]] | None = None, *, state: object) -> Runner:
    """One cutover or rollback: journal, preflight and steps, the lock released at the end.

    ``state`` is the flow's own, new: the run carries it (``Run.state``) without knowing its type.
    ``then``, given, picks the steps that follow ``steps`` (the preflight) from what it found: the
    change-over's mode (copy or mirror).  ``finish`` runs last, after the lock is released (the
    rollback names the hosts it could not reach there).  Raises StepFailed after undoing.
    """
    run_id = new_run_id()
    journal = Journal(settings.project_root / "runs", run_id, settings.env, kind, options.dry_run)
    run = Run(settings, options, journal, say, run_id, state)
    runner = Runner(journal, say)
    say(f"{kind} of {settings.env} ({', '.join(settings.host_aliases)}), run {run_id}"
        + (" -- DRY RUN, nothing will change" if options.dry_run else ""))
    try:
        runner.execute(steps, run, dry_run=options.dry_run)
        if then is not None:
            runner.execute(then(run), run, dry_run=options.dry_run)
        if not options.dry_run:
            release_lock(run)
        if finish is not None:
            finish(run)
        journal.record(End(result="ok"))
    except MediaCutoverError as error:
        journal.record(End(result=f"failed: {error}".splitlines()[0]))
        raise
    except BaseException as error:
        journal.record(End(result=f"crashed: {type(error).__name__}"))
        raise
    finally:
        run.close()
    return runner
