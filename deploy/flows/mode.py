"""Which change-over a run makes: copy (upload, flip, catch up) or mirror (every write to both first).

The operator asks with CHANGEOVER; the sites decide whether they can: mirror mode needs the mirror's
switch (MIRROR_SWITCH_NAME) in every host's settings file, beside USE_S3.  A cutover asked for mirror
on a site without it falls back to copy and says what that leaves (the residual window).  A rollback
is a mirror rollback when the mirror is on on every host (the disk then holds every file already),
whatever CHANGEOVER says: that is the state the hosts are in.
"""

from __future__ import annotations

from ..engine.counts import ModeCounts
from ..engine.runner import Step
from .state import FlowRun


def residual_window(run: FlowRun) -> str:
    return ("a file stored on disk in the moment between the last pass and the new workers, or by an old "
            f"worker within RELOAD_GRACE_SECONDS ({run.settings.reload_grace:g} s), has a bucket URL before the "
            "catch-up passes after the reload upload it (every 0.5 s until the sites have switched)")


def cutover_mode(asked: str, mirrors: dict[str, bool | None], name: str) -> tuple[str, str]:
    """(mode, why) from CHANGEOVER and each host's mirror's switch (None: the file has none)."""
    without = [alias for alias, state in mirrors.items() if state is None]
    if asked == "mirror" and not without:
        already = [alias for alias, state in mirrors.items() if state]
        return "mirror", ("mirror (CHANGEOVER=mirror): " + name + " on first, then every new file is written "
                          "to both storages, and the upload before the flip covers everything older"
                          + (f"; already on: {', '.join(already)}" if already else ""))
    if asked == "mirror":
        return "copy", (f"copy, not mirror: no {name} switch in the settings of {', '.join(without)} (add the "
                        "mirror block of `invoke settings-snippet` and media_mirror.py, `--part=mirror`)")
    hint = (f"; every site has {name}: CHANGEOVER=mirror closes the window" if not without else "")
    return "copy", "copy (CHANGEOVER=copy)" + hint


def rollback_mode(mirrors: dict[str, bool | None], name: str) -> tuple[str, str]:
    if mirrors and all(mirrors.values()):
        return "mirror", (f"mirror: {name} is on on every host, the disk has every file the sites stored; "
                          "nothing to download but what a failed write missed (the verify finds it)")
    on = [alias for alias, state in mirrors.items() if state]
    return "copy", "copy" + (f" ({name} on only on {', '.join(on)})" if on else "")


def choose_cutover(run: FlowRun) -> str:
    mirrors = {alias: facts.original_mirror for alias, facts in run.state.switch.hosts.items()}
    state = run.state.mirror
    state.mode, why = cutover_mode(run.settings.changeover, mirrors, run.settings.mirror_switch_name)
    run.journal.record(ModeCounts(mode=state.mode))
    if state.mode == "copy":
        why += "; the window left: " + residual_window(run)
    return why


def choose_rollback(run: FlowRun) -> str:
    mirrors = {alias: run.state.switch.hosts[alias].original_mirror for alias in run.aliases}
    state = run.state.mirror
    state.mode, why = rollback_mode(mirrors, run.settings.mirror_switch_name)
    run.journal.record(ModeCounts(mode=state.mode))
    return why


MODE_STEP = "preflight: the change-over's mode"
CUTOVER_MODE = Step(MODE_STEP, choose_cutover)
ROLLBACK_MODE = Step(MODE_STEP, choose_rollback)
