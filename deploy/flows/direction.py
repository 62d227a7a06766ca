"""Which way a run moves the sites: to S3 (the cutover) or to disk (the rollback, and the cutover's undo).

One value per direction holds all that differs between the two ways: how media
are copied that way, how a host's settings file is switched, what the sites
then serve from and how that is checked.  The steps (``deploy.flows.steps``)
are written once, over a direction.  Its functions are the media's and the site's, each handed its
part of the flow's state (``deploy.flows.state``) by the hand-overs below.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Callable

from ..media import complete, delta, transfer
from ..site.ops import thumbnails as easy_rows
from ..site.ops import served as served_checks
from ..site.ops import storage
from ..site.ops import switch
from .state import FlowRun


@dataclass(frozen=True)
class Direction:
    storage: str                                  # what a switched site's health URL reports: "s3" or "disk"
    label: str                                    # the same, for people
    copy: Callable[[FlowRun], str]                # what the other side lacks, or holds with another size
    copy_missing: Callable[[FlowRun], str]        # a delta pass: what changed since the last (deploy.media.delta)
    until_complete: Callable[[FlowRun], str]      # compare all, copy what is missing, until nothing is
    complete: str                                 # what until_complete makes sure of, for people
    preview_copy: Callable[[FlowRun], str]
    preview_copy_missing: Callable[[FlowRun], str]
    catching_up: str                              # what copy_missing does, in a preview
    switch: Callable[[FlowRun, str], str]         # one host's settings file to this storage
    staged: Callable[[FlowRun, str], bytes]       # that file's new bytes, before switch writes them
    preview_switch: Callable[[FlowRun, str], str]
    # a sample of the site's media URLs (the store's faults retried, counted into ``faults=``); how many
    check_served: Callable[..., int]
    served: str                                   # what check_served found true of them
    # why the switched settings would not serve media from here (deploy.site.ops.storage), every host's
    settings_problems: Callable[[FlowRun, dict], list[str]]
    selects: str                                  # what the storage check requires, for people
    # easy_thumbnails' rows to this storage's hashes, right before the reload, and their undo (deploy.site.ops.thumbnails)
    thumbnail_rows: Callable[[FlowRun], str]
    undo_thumbnail_rows: Callable[[FlowRun], str]


# --- the media's and the site's functions as the steps call them: each handed its part of run.state ---------

def with_passes(action: Callable[..., str]) -> Callable[..., str]:
    """``action(run, passes, ...)`` (deploy.media) as ``action(run, ...)``: the run's passes handed in."""
    @wraps(action)
    def over_passes(run: FlowRun, *args):
        return action(run, run.state.passes, *args)
    return over_passes


def with_host_facts(action: Callable[..., str | bytes]) -> Callable[..., str | bytes]:
    """``action(run, alias, facts, ...)`` (deploy.site.ops.switch) as ``action(run, alias, ...)``: the host's
    facts handed in."""
    @wraps(action)
    def over_host(run: FlowRun, alias: str, *args):
        return action(run, alias, run.state.switch.hosts[alias], *args)
    return over_host


def with_storage_before(problems: Callable[..., list[str]]) -> Callable[[FlowRun, dict], list[str]]:
    """``problems(run, reports, before)`` (deploy.site.ops.storage) as ``problems(run, reports)``: what the
    sites selected before the switch handed in."""
    @wraps(problems)
    def over_before(run: FlowRun, reports: dict) -> list[str]:
        return problems(run, reports, run.state.switch.storage_before)
    return over_before


def rows_to_bucket(run: FlowRun) -> str:
    return easy_rows.to_bucket(run, run.state.easy_rows, run.state.switch.storage_before)


def rows_back_from_bucket(run: FlowRun) -> str:
    return easy_rows.back_from_bucket(run, run.state.easy_rows)


def rows_to_disk(run: FlowRun) -> str:
    return easy_rows.to_disk(run, run.state.easy_rows, run.state.switch.storage_before)


def rows_back_from_disk(run: FlowRun) -> str:
    return easy_rows.back_from_disk(run, run.state.easy_rows)


def preview_rows(run: FlowRun) -> str:
    return easy_rows.preview(run, run.state.switch.storage_before)


TO_S3 = Direction(
    storage="s3", label="S3",
    copy=with_passes(transfer.upload), copy_missing=with_passes(delta.upload_changed),
    until_complete=with_passes(complete.upload_until_complete), complete="the bucket holds every file on disk",
    preview_copy=transfer.preview_upload, preview_copy_missing=delta.preview_upload_changed,
    catching_up="upload what changed on disk since the last pass",
    switch=with_host_facts(switch.flip), staged=with_host_facts(switch.staged_on),
    preview_switch=with_host_facts(switch.preview_flip),
    check_served=served_checks.check_media_served_from_bucket, served="media URLs fetch from the bucket",
    settings_problems=with_storage_before(storage.s3_problems),
    selects="django-storages' S3Storage with AWS_STORAGE_BUCKET_NAME, AWS_LOCATION and AWS_S3_ENDPOINT_URL",
    thumbnail_rows=rows_to_bucket, undo_thumbnail_rows=rows_back_from_bucket)

TO_DISK = Direction(
    storage="disk", label="disk",
    # The first download replaces a file whose size differs, after moving it aside (TOOLS_DIR/displaced/).
    copy=with_passes(transfer.download), copy_missing=with_passes(delta.download_changed),
    until_complete=with_passes(complete.download_until_complete), complete="every object in the bucket is on disk",
    preview_copy=with_passes(transfer.preview_download),
    preview_copy_missing=with_passes(delta.preview_download_changed),
    catching_up="download what the bucket has and the disk lacks",
    switch=with_host_facts(switch.to_disk), staged=with_host_facts(switch.staged_off),
    preview_switch=with_host_facts(switch.preview_to_disk),
    check_served=served_checks.check_media_served_by_site, served="media URLs served by the site",
    settings_problems=with_storage_before(storage.disk_problems),
    selects="FileSystemStorage at MEDIA_ROOT (compared on the media host)",
    thumbnail_rows=rows_to_disk, undo_thumbnail_rows=rows_back_from_disk)
