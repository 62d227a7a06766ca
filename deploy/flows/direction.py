"""Which way a run moves the sites: to S3 (the cutover) or to disk (the rollback, and the cutover's undo).

One value per direction holds all that differs between the two ways: how media
are copied that way, how a host's settings file is switched, what the sites
then serve from and how that is checked.  The steps (``deploy.flows.steps``)
are written once, over a direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config.types import HostSettings, Settings
from ..engine.run import Run
from ..media import complete, delta, transfer
from ..site.ops import thumbnails as easy_rows
from ..site.ops import health
from ..site.ops import storage
from ..site.ops import switch


@dataclass(frozen=True)
class Direction:
    storage: str                              # what a switched site's health URL reports: "s3" or "disk"
    label: str                                # the same, for people
    copy: Callable[[Run], str]                # what the other side lacks, or holds with another size
    copy_missing: Callable[[Run], str]        # a delta pass: what changed since the last (deploy.media.delta)
    until_complete: Callable[[Run], str]      # compare all, copy what is missing, until nothing is
    complete: str                             # what until_complete makes sure of, for people
    preview_copy: Callable[[Run], str]
    preview_copy_missing: Callable[[Run], str]
    catching_up: str                          # what copy_missing does, in a preview
    switch: Callable[[Run, str], str]         # one host's settings file to this storage
    staged: Callable[[Run, str], bytes]       # that file's new bytes, before switch writes them
    preview_switch: Callable[[Run, str], str]
    check_served: Callable[[Settings, HostSettings, int], int]  # a sample of the site's media URLs; how many
    served: str                               # what check_served found true of them
    # why the switched settings would not serve media from here (deploy.site.ops.storage), every host's
    settings_problems: Callable[[Run, dict], list[str]]
    selects: str                              # what the storage check requires, for people
    # easy_thumbnails' rows to this storage's hashes, right before the reload, and their undo (deploy.site.ops.thumbnails)
    thumbnail_rows: Callable[[Run], str]
    undo_thumbnail_rows: Callable[[Run], str]


TO_S3 = Direction(
    storage="s3", label="S3",
    copy=transfer.upload, copy_missing=delta.upload_changed, until_complete=complete.upload_until_complete,
    complete="the bucket holds every file on disk",
    preview_copy=transfer.preview_upload, preview_copy_missing=delta.preview_upload_changed,
    catching_up="upload what changed on disk since the last pass",
    switch=switch.flip, staged=switch.staged_on, preview_switch=switch.preview_flip,
    check_served=health.check_media_served_from_bucket, served="media URLs fetch from the bucket",
    settings_problems=storage.s3_problems,
    selects="django-storages' S3Storage with AWS_STORAGE_BUCKET_NAME, AWS_LOCATION and AWS_S3_ENDPOINT_URL",
    thumbnail_rows=easy_rows.to_bucket, undo_thumbnail_rows=easy_rows.back_from_bucket)

TO_DISK = Direction(
    storage="disk", label="disk",
    # The first download replaces a file whose size differs, after moving it aside (TOOLS_DIR/displaced/).
    copy=transfer.download, copy_missing=delta.download_changed,
    until_complete=complete.download_until_complete, complete="every object in the bucket is on disk",
    preview_copy=transfer.preview_download, preview_copy_missing=delta.preview_download_changed,
    catching_up="download what the bucket has and the disk lacks",
    switch=switch.to_disk, staged=switch.staged_off, preview_switch=switch.preview_to_disk,
    check_served=health.check_media_served_by_site, served="media URLs served by the site",
    settings_problems=storage.disk_problems, selects="FileSystemStorage at MEDIA_ROOT (compared on the media host)",
    thumbnail_rows=easy_rows.to_disk, undo_thumbnail_rows=easy_rows.back_from_disk)
