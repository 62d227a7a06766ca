"""The switched settings checked before any reload: staged before the flip, and once written where need be.

Each probed host (MANAGE_PY and SITE_PYTHON) starts Django once with the settings file as the switch
will write it, read from stdin (``deploy.site.site_python.STAGED_SETTINGS``), while the file on disk and
the running site are untouched: `manage.py check` passes, the default storage is the direction's
(this bucket and prefix, or MEDIA_ROOT), staticfiles is as before, and the thumbnail libraries
follow the media.  A refusal then changes nothing at all, and the change-over (flip to healthy)
does not wait for a Django start-up.

A site may read its settings some other way than by importing the file (``exec`` of it, a loader of
its own, an env file it reads with override): the probe says whether it saw the staged settings
(``StorageReport.saw_staged``), and for a host where it did not, the same checks run on the written
file after the flip, before any reload, as the only way to know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import PreflightError, StorageCheckError
from ..site.ops import thumbnails as easy_rows
from ..site.ops import storage
from ..site.facts import thumbnail_plan
from ..site.facts import thumbnails
from ..site.facts.storage import StorageReport
from .direction import Direction
from .state import FlowRun


@dataclass(frozen=True)
class Change:
    """One change of the settings file, as its checks see it: the file's new bytes (``staged``), whether
    a probe of them saw them (``saw``), what the settings must then select (``problems``: every host's),
    and how a probe that did not see them read the switch (``read_as``, for the line that says so)."""

    staged: Callable[[FlowRun, str], bytes]
    saw: Callable[[FlowRun, str, StorageReport], bool]
    problems: Callable[[FlowRun, dict], list[str]]
    read_as: Callable[[StorageReport], str]


def of_direction(to: Direction) -> Change:
    """USE_S3 flipped ``to`` a storage; thumbnails must follow the media into the bucket (the way back is
    the site's own settings of before)."""
    return Change(staged=to.staged, saw=lambda run, alias, report: report.saw_staged(to.storage == "s3"),
                  problems=lambda run, reports: to.settings_problems(run, reports)
                  + (thumbnail_problems(reports) if to.storage == "s3" else []),
                  read_as=lambda report: report.switch)


def check_staged(run: FlowRun, to: Direction) -> str:
    return check_change_staged(run, of_direction(to))


def check_written(run: FlowRun, to: Direction) -> str:
    """After the flip, before any reload: the hosts the staged check could not judge; then the move of
    easy_thumbnails' rows that the new settings call for (``deploy.site.ops.thumbnails``)."""
    return check_change_written(run, of_direction(to))


def check_change_staged(run: FlowRun, change: Change) -> str:
    aliases = storage.probed(run)
    reports = storage.probe_sites(run, aliases, system_check=True, staged=change.staged)
    seen = {alias: report for alias, report in reports.items() if change.saw(run, alias, report)}
    state = run.state.switch
    state.check_after_flip = [alias for alias in aliases if alias not in seen]
    lines = judge(run, change, seen)
    state.settings_checked = dict(seen)
    if state.check_after_flip:
        lines.append(f"{', '.join(state.check_after_flip)}: the site did not read the staged settings (its switch "
                     "read as " + ", ".join(change.read_as(reports[alias]) for alias in state.check_after_flip)
                     + "): checked once written, before any reload")
    skipped = [alias for alias in run.aliases if alias not in aliases]
    if skipped:
        lines.append(f"not checked: {', '.join(skipped)} (no MANAGE_PY and SITE_PYTHON)")
    return "\n".join(lines) or "no MANAGE_PY configured: skipped"


def check_change_written(run: FlowRun, change: Change) -> str:
    lines, state = [], run.state.switch
    if state.check_after_flip:
        reports = storage.probe_sites(run, state.check_after_flip, system_check=True)
        lines = judge(run, change, reports)
        state.settings_checked.update(reports)
    run.state.easy_rows.migration = easy_rows.plan(run, state.storage_before, state.settings_checked)
    return "\n".join(lines) or "every probed host's new settings were checked before the flip"


def judge(run: FlowRun, change: Change, reports: dict) -> list[str]:
    """StorageCheckError naming each host whose new settings fail; else one line a host, and its summary."""
    refused = [problem for report in reports.values() if (problem := report.check_problem())]
    if refused:
        raise StorageCheckError("\n".join(refused))
    passed = [f"{alias}: manage.py check passed" for alias in reports]
    found = change.problems(run, reports)
    if found:
        run.say("    " + "\n    ".join(passed))  # said before the refusal: the check itself passed
        raise StorageCheckError("\n".join(found))
    return passed + [report.summary() for report in reports.values()]


def thumbnail_problems(reports: dict) -> list[str]:
    """Why the thumbnails would not follow the media under the switched settings (written to one storage,
    linked at the other; a library that does not load), every host's."""
    found = []
    for alias, report in reports.items():
        if not report.thumbnails:
            continue
        try:
            found += thumbnail_plan.problems(thumbnails.report_of(report.thumbnails, alias))
        except PreflightError as error:
            found.append(str(error))
    return found


def preview_check(run: FlowRun, to: Direction) -> str:
    aliases = storage.probed(run)
    if not aliases:
        return "no MANAGE_PY configured: skipped"
    return (f"would run `manage.py check` on {', '.join(aliases)} under their settings modules with the new "
            f"settings staged (nothing written yet) and require {to.selects}, the staticfiles backend unchanged "
            "(one Django start-up a host)")


def preview_written(run: FlowRun, to: Direction) -> str:
    return "would check the written settings of any host whose site did not read the staged ones"
