"""What the copies of one run learn and hand on, pass after pass (``deploy.media.transfer``, ``delta``, ``complete``).

A flow composes it into its own state (``deploy.flows.state``) and hands it to each copy; the media's
functions take it as an argument, so they need to know nothing of the flows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .accounting import UploadAccount

if TYPE_CHECKING:  # a record: the SSH side of the feed is not loaded for its type
    from ..site.ops.reference_feed import ReferenceFeed


@dataclass
class Passes:
    # paths under MEDIA_ROOT the manifest cannot follow (symlink loops, dangling links): no copy touches them
    unreadable: list[str] = field(default_factory=list)
    # the tree as the preflight's scan found it: (files, bytes)
    scanned: tuple[int, int] = (0, 0)
    # the media host's clock when the first upload started: the verify leaves out files changed since
    upload_started: int | None = None
    # what the first upload said of itself (deploy.media.accounting): the verify before the flip takes it
    upload_account: UploadAccount | None = None
    # the media host's clock when the last pass from disk started (deploy.media.delta): the next one
    # copies only what changed on disk since; None until a pass from disk, or a reload, set it
    disk_mark: float | None = None
    # the order the store lists keys in: "bytes" (AWS), or "path" once a comparison found it lists dir by dir
    listing_order: str = "bytes"
    # how many files the last delta pass found to copy (deploy.media.delta); None before one
    last_pass_listed: int | None = None
    # the site's database, open for the passes to disk (deploy.site.ops.reference_feed); the run closes it
    reference_feed: ReferenceFeed | None = None
