"""What `invoke rewrite-urls --dry-run` showed, kept for the rewrite that follows it: pure.

The operator reads the dry run's diffs, then runs the rewrite.  A row an editor saves in between must not be
rewritten unseen: the dry run keeps, under runs/, the URL each name would get and every row's key and the
hash of its value as read (``SavedPlan``); the next rewrite of the environment holds each row to it (a row
changed since, or not in it, is skipped and named) and marks it used.  A rewrite with no dry run before it
rewrites each row as it reads it; either way, a row changed between its reading and its write is skipped
and named (the program's compare-and-set).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...errors import PreflightError
from ...text_table import counted

SHOWN_CONFLICTS = 3


@dataclass(frozen=True)
class SavedPlan:
    """A dry run's plan: its run, the URL each name would get, and field -> str(pk) -> hash of each row."""

    run_id: str
    urls: dict[str, str]
    expected: dict[str, dict[str, str]]

    def to_json(self) -> str:
        return json.dumps({"run": self.run_id, "urls": self.urls, "expected": self.expected}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> "SavedPlan":
        try:
            data = json.loads(text)
            expected = {field: dict(rows) for field, rows in data["expected"].items()}
            return cls(str(data["run"]), dict(data["urls"]), expected)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise PreflightError(f"{where}: not a dry run's plan ({error}); move it aside, or run "
                                 "`invoke rewrite-urls --dry-run` again") from None

    def rows(self) -> int:
        return sum(len(rows) for rows in self.expected.values())


def check_same_urls(saved: SavedPlan, urls: dict[str, str], where: str, env: str) -> None:
    """The rewrite would write the URLs the dry run showed, for every name both know; else PreflightError."""
    differ = sorted(name for name in saved.urls.keys() & urls.keys() if saved.urls[name] != urls[name])
    if differ:
        examples = "; ".join(f"{name}: shown {saved.urls[name]}, now {urls[name]}" for name in differ[:SHOWN_CONFLICTS])
        raise PreflightError(f"the dry run {saved.run_id} ({where}) showed other URLs for "
                             f"{counted(len(differ), 'file')} than the storage gives now ({examples}): run "
                             f"`invoke rewrite-urls --env={env} --dry-run` again and read its diffs")
