"""The dry runs' plans on the operator's machine: ``runs/<run id>-<env>-content-urls.plan`` (mode 600, created
once), the newest not used yet held to by the next rewrite (``deploy.site.edits.dry_run_plan``), then marked
used by a sibling ``<plan>.used``.  Nothing of it is on a host."""

from __future__ import annotations

import os
from pathlib import Path

from ...config.types import Settings
from ...engine.run import Run
from ...errors import ConfigError
from ..edits.dry_run_plan import SavedPlan

PLAN_SUFFIX = "-content-urls.plan"
USED = ".used"


def save(run: Run, plan: SavedPlan) -> Path:
    path = run.settings.project_root / "runs" / f"{run.run_id}-{run.settings.env}{PLAN_SUFFIX}"
    path.parent.mkdir(exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as written:
        written.write(plan.to_json() + "\n")
    return path


def latest(settings: Settings) -> tuple[Path, SavedPlan] | None:
    """The environment's newest dry run's plan not used yet (run ids sort by time), or None."""
    runs = settings.project_root / "runs"
    found = sorted(runs.glob(f"*-{settings.env}{PLAN_SUFFIX}"), reverse=True) if runs.is_dir() else []
    for path in found:
        if path.with_name(path.name + USED).exists():
            return None   # an older one than the newest used is stale: the rewrite it was for has run
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as problem:
            raise ConfigError(f"{path}: cannot read the dry run's plan ({problem}); move it aside to go on "
                              "without it") from None
        return path, SavedPlan.from_json(text, str(path))
    return None


def mark_used(path: Path, run_id: str) -> None:
    used = path.with_name(path.name + USED)
    descriptor = os.open(used, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as written:
        written.write(run_id + "\n")
