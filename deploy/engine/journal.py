"""The run journal: one JSON-lines file per run under runs/, for machines.

`fab rollback` and `invoke status` read the last real (not dry) run from here.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from ..config.redact import redact


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def operator() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


class Journal:
    """Append-only record of one run."""

    def __init__(self, runs_dir: Path, run_id: str, env: str, kind: str, dry_run: bool = False):
        runs_dir.mkdir(exist_ok=True)
        self.path = runs_dir / f"{run_id}-{env}-{kind}.jsonl"
        self.run_id, self.env, self.kind = run_id, env, kind
        self.record("start", operator=operator(), pid=os.getpid(), dry_run=dry_run)

    def record(self, event: str, **fields) -> None:
        line = {"time": time.time(), "run_id": self.run_id, "env": self.env, "kind": self.kind,
                "event": event, **fields}
        with open(self.path, "a", encoding="utf-8") as journal_file:
            journal_file.write(redact(json.dumps(line, default=str)) + "\n")


def read_run(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def last_run(runs_dir: Path, env: str | None = None, kinds: tuple[str, ...] = ()) -> list[dict] | None:
    """The events of the newest finished-or-not run (dry runs skipped), optionally of one env."""
    if not runs_dir.is_dir():
        return None
    for path in sorted(runs_dir.glob("*.jsonl"), reverse=True):
        events = read_run(path)
        if not events or events[0].get("dry_run"):
            continue
        if env and events[0]["env"] != env:
            continue
        if kinds and events[0]["kind"] not in kinds:
            continue
        return events
    return None


def outcome(events: list[dict]) -> str:
    """'ok', 'failed: ...' or 'unfinished' for a run's events."""
    for event in reversed(events):
        if event["event"] == "end":
            return event["result"]
    return "unfinished"
