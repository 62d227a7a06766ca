"""What a cutover, a rollback or a finalize learns and hands on from step to step: the flow's state.

The engine's ``Run`` carries it without knowing its type (``Run.state``); the flow's entry function
creates it (``FlowState()``), and its steps read and write it as ``run.state.<part>``.  Each part is a
small record: the copy passes (``deploy.media.passes``: the media's functions take them as an argument),
the switch of the sites' settings, easy_thumbnails' rows (``deploy.site.ops.thumbnails``), the mirror and
the content's old media URLs.
The site's and the media's functions know nothing of this module: the steps hand each its part
(``deploy.flows.direction`` holds most of those hand-overs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config.types import Settings
from ..engine.run import Run
from ..media.passes import Passes
from ..site.edits.content_urls import PlannedRow, RewritePlan, RowChange
from ..site.edits.dry_run_plan import SavedPlan
from ..site.facts.content_urls import ContentReport, StorageUrls, UrlForms
from ..site.facts.health import disk_media_url
from ..site.facts.mirror_records import MirrorFailure
from ..site.facts.storage import DISK_BACKEND, StorageReport
from ..site.host_facts import HostFacts
from ..site.ops.thumbnails import EasyRows


@dataclass
class SwitchState:
    """The sites across the switch: their settings files and what their settings select, before and after."""

    # alias -> what preflight read from the host's settings file, and what the run did to it
    hosts: dict[str, HostFacts] = field(default_factory=dict)
    # alias -> what the site's settings selected when the preflight probed them (deploy.site.ops.storage):
    # the check after the switch compares with it (the staticfiles backend must stay as it was)
    storage_before: dict[str, StorageReport] = field(default_factory=dict)
    # the new settings as checked before any reload (deploy.flows.new_settings): each probed host's
    # report, and the hosts whose site did not read the staged file (checked once it is written)
    settings_checked: dict[str, StorageReport] = field(default_factory=dict)
    check_after_flip: list[str] = field(default_factory=list)
    # alias -> (storage, time.time() of its reload command) of sites reloaded but not yet seen
    # answering in their new mode (deploy.flows.reload.after_reload waits for them)
    switching: dict[str, tuple[str, float]] = field(default_factory=dict)
    # time.monotonic() when the last reloaded site answered in its new mode: from then on,
    # only old workers finishing their last requests still write to the storage it left
    reloaded_at: float | None = None


@dataclass
class MirrorState:
    # the change-over's mode, as the preflight chose it (deploy.flows.mode): "copy" or "mirror"
    mode: str = "copy"
    # the mirror's failed writes the run took from the hosts' records (deploy.site.facts.mirror_records)
    failures: list[MirrorFailure] = field(default_factory=list)


@dataclass
class PutBack:
    """One rewrite record a rollback put back: the record, its ``.restored`` marker, and exactly the rows this
    run put back (not those that held their old value already, nor those named): what its undo rewrites again."""

    record: Path
    marker: Path
    rows: list[RowChange] = field(default_factory=list)


@dataclass
class RedirectCheck:
    """What reclaim's preflight decided of the content's old media URLs (``deploy.flows.old_urls``):
    "redirected" (the front end answers a name not on disk with a 301 to the bucket, checked at each place),
    "accepted" (--accept-content-urls, the redirect not seen), or "" (none found, or not looked at).  The
    check after the removal asks a sample of them only then."""

    decided: str = ""
    places: list[str] = field(default_factory=list)   # where the redirect was seen: hosts, old media hosts
    not_seen: str = ""                                # why not, when accepted


@dataclass
class ContentState:
    """The content's old media URLs (deploy.site.ops.content_urls): what the find saw, which of its files
    the bucket holds and their URLs now, the rewrite's plan, the rows it changed and their record; the
    records a rollback put back."""

    forms: UrlForms | None = None
    report: ContentReport | None = None
    in_bucket: set[str] = field(default_factory=set)
    urls: StorageUrls | None = None
    plan: RewritePlan | None = None
    planned: list[PlannedRow] = field(default_factory=list)   # the dry run's: every row it would change, key and hash
    shown: list[RowChange] = field(default_factory=list)      # the dry run's first rows whole (its diffs)
    held_to: tuple[Path, SavedPlan] | None = None   # the operator's dry run the rewrite holds each row to
    record: Path | None = None            # the rows this run changed, before and after (its undo puts them back)
    remains: ContentReport | None = None  # what the rewrite left, as it counted it
    restored: list[PutBack] = field(default_factory=list)   # by this run, in order (its undo: the other way)
    redirect: RedirectCheck = field(default_factory=RedirectCheck)


@dataclass
class FlowState:
    passes: Passes = field(default_factory=Passes)
    switch: SwitchState = field(default_factory=SwitchState)
    easy_rows: EasyRows = field(default_factory=EasyRows)
    mirror: MirrorState = field(default_factory=MirrorState)
    content: ContentState = field(default_factory=ContentState)


FlowRun = Run[FlowState]  # a run of one of the flows: what their steps take


def disk_media(run: FlowRun) -> tuple[str, str]:
    """(the disk's MEDIA_URL, where it comes from): DISK_MEDIA_URL, else the site's own MEDIA_URL as a probe
    read it from the media host's site (then the others') while its settings selected the disk: before the
    switch (the preflight's), or the staged settings of a way back to disk; else Django's usual /media/."""
    switch, first = run.state.switch, run.settings.media_host
    reports = [switch.storage_before, switch.settings_checked]
    seen = [(report.media_url, DISK_BACKEND in report.default_classes)
            for reports_ in reports for alias, report in sorted(reports_.items(), key=lambda item: item[0] != first)]
    return disk_media_url(run.settings.disk_media_url, seen)


def health_settings(run: FlowRun) -> Settings:
    """``run.settings`` with ``disk_media_url`` filled (:func:`disk_media`): what the health check reads the
    sites' pages by (``deploy.site.ops.health``)."""
    url, _ = disk_media(run)
    return run.settings if url == run.settings.disk_media_url else replace(run.settings, disk_media_url=url)
