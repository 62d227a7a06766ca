"""The task boundary: our errors become a clean exit, output is for people."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from invoke.exceptions import Exit

from .config import KNOWN_KEYS, Settings, load_settings
from .errors import CutoverError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def operator_errors() -> Iterator[None]:
    """An operator mistake or a refused step exits 1 with its message, no traceback."""
    try:
        yield
    except CutoverError as error:
        raise Exit(f"error: {error}", code=1) from None


def load(env: str | None) -> Settings:
    if not env:
        from .errors import ConfigError
        raise ConfigError("no environment given: pass --env=NAME (a config/NAME.env file)")
    return load_settings(env, PROJECT_ROOT)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table."""
    cells = [[str(value) for value in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def step_table(outcomes) -> str:
    """The short table printed at the end of a run."""
    return table(("STEP", "RESULT", "SECONDS"), [(o.name, o.result, f"{o.seconds:.1f}") for o in outcomes])


def render_config(settings: Settings) -> str:
    rows = [(key, value, source) for key, (value, source) in settings.effective.items()]
    defaults = [(key, "(default)", "") for key in KNOWN_KEYS if key not in settings.effective]
    return (f"environment {settings.env}\n" + table(("KEY", "VALUE", "FROM"), rows + defaults))


def say(message: str) -> None:
    print(message, flush=True)


def warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
