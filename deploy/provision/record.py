"""The record of what `invoke provision` made: ``runs/provision-<env>.json``.

What was created or changed (with the value before) is written here as it
happens, so that `invoke teardown-provision` (sandboxes and rehearsals)
removes exactly that.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..config.types import Settings


def record_path(settings: Settings) -> Path:
    return settings.project_root / "runs" / f"provision-{settings.env}.json"


def read_record(settings: Settings) -> dict:
    path = record_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_record(settings: Settings, record: dict) -> None:
    path = record_path(settings)
    path.parent.mkdir(exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)
