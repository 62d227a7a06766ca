"""The task boundary: our errors become a clean exit, output is for people."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

from invoke.exceptions import Exit

from .config.keys import KNOWN_KEYS
from .config.load import load
from .config.types import Settings
from .engine.journal import last_run
from .engine.run import Options
from .engine.runner import Runner
from .errors import ConfigError, MediaCutoverError
from .config.redact import redact
from .text_table import table

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def operator_errors() -> Iterator[None]:
    """An operator mistake or a refused step exits 1 with its message, no traceback."""
    try:
        yield
    except MediaCutoverError as error:
        raise Exit(f"error: {redact(str(error))}", code=1) from None


def load_for_rollback(env: str | None, project_root: Path, only_hosts: list[str] | None = None) -> Settings:
    """The environment given, else the last run's; optionally only some of its hosts (fab -H)."""
    if not env:
        events = last_run(project_root / "runs")
        if not events:
            raise ConfigError("no environment given and no run recorded under runs/: pass --env=NAME")
        env = events[0]["env"]
    settings = load(env, project_root)
    if only_hosts:
        unknown = [alias for alias in only_hosts if alias not in settings.host_aliases]
        if unknown:
            raise ConfigError(f"host {unknown[0]!r} is not in HOSTS of config/{env}.env "
                              f"({', '.join(settings.host_aliases)})")
        settings = replace(settings, hosts=tuple(h for h in settings.hosts if h.alias in only_hosts))
    return settings


def step_table(outcomes) -> str:
    """The short table printed at the end of a run."""
    return table(("STEP", "RESULT", "SECONDS"), [(o.name, o.result, f"{o.seconds:.1f}") for o in outcomes])


def run_flow(name: str, flow: Callable[[Settings, Options, Callable[[str], None]], Runner],
             load_settings: Callable[[], Settings], options: Options, done: str | None = None) -> None:
    """A cutover, rollback or finalize task's body: load the settings, run ``flow``, print its step table,
    then (given ``done``) the line that ends it: "<name> of <env> done: <done>" or, dry, "... previewed"."""
    with operator_errors():
        settings = load_settings()
        runner = flow(settings, options, say)
        say(step_table(runner.outcomes))
        if done is not None:
            say(f"{name} of {settings.env} " + ("previewed: nothing changed" if options.dry_run else f"done: {done}"))


def render_config(settings: Settings) -> str:
    rows = [(key, value, source) for key, (value, source) in settings.effective.items()]
    defaults = [(key, "(default)", "") for key in KNOWN_KEYS if key not in settings.effective]
    return (f"environment {settings.env}\n" + table(("KEY", "VALUE", "FROM"), rows + defaults))


def say(message: str) -> None:
    print(message, flush=True)


def warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
