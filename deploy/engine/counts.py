"""What a step counted ("counts" in the journal), one record a step: what the steps record, what the
rehearsal's report and the benches read back (``deploy.engine.events``).  Pure."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping

from .events import Counts


@dataclass(frozen=True, kw_only=True)
class ModeCounts(Counts):
    """The change-over's mode, as the preflight chose it (deploy.flows.mode)."""

    step: str = field(default="mode", init=False)
    mode: str  # "copy" or "mirror"


@dataclass(frozen=True, kw_only=True)
class UploadCounts(Counts):
    """The first upload (deploy.media.transfer): the tree, and what the tool said it did."""

    step: str = field(default="upload", init=False)
    files: int
    bytes: int
    problems: int
    transferred: int | None
    transferred_bytes: int | None
    checked: int | None
    errors: int | None
    seconds: float | None


@dataclass(frozen=True, kw_only=True)
class DownloadCounts(Counts):
    """A full download (deploy.media.transfer)."""

    step: str = field(default="download", init=False)
    overwrite: bool
    transferred: int | None
    transferred_bytes: int | None
    seconds: float | None


@dataclass(frozen=True, kw_only=True)
class PassCounts(Counts):
    """A delta pass (deploy.media.delta): the files it found to copy, those copied, and its cost."""

    step: str = field(default="pass", init=False)
    direction: str  # "upload" or "download"
    listed: int
    copied: int | None
    find_seconds: float
    seconds: float
    problems: int


@dataclass(frozen=True, kw_only=True)
class AccountingVerifyCounts(Counts):
    """The verify before the flip from the upload's own accounting (deploy.flows.cutover)."""

    step: str = field(default="verify", init=False)
    method: str = field(default="accounting", init=False)
    local: int
    transferred: int
    checked: int
    errors: int


@dataclass(frozen=True, kw_only=True)
class ListingVerifyCounts(Counts):
    """The verify before the flip from the manifest against the listing (deploy.flows.cutover)."""

    step: str = field(default="verify", init=False)
    method: str = field(default="listing", init=False)  # a journal from before the accounting has none
    local: int
    remote: int
    matched: int
    extra: int
    md5_checked: int
    newer: int


@dataclass(frozen=True, kw_only=True)
class ReferenceCounts(Counts):
    """The database's file references (deploy.flows.cutover)."""

    step: str = field(default="references", init=False)
    references: int              # FileField values and file paths in CharFields
    missing_on_disk: int         # FileField values only: a CharField's path counts only when on disk
    missing_everywhere: int
    # the paths in CharFields, in all and by "app.Model.field"; None in a journal from before them
    path_references: int | None = None
    path_fields: Mapping[str, int] | None = None


@dataclass(frozen=True, kw_only=True)
class SorlCostCounts(Counts):
    """What sorl-thumbnail's first views would make again after the cutover (deploy.flows.preflight)."""

    step: str = field(default="sorl-thumbnail", init=False)
    regenerate: int
    sources: int
    requests: dict
    dead: int
    dead_sample: list
    orphaned_rows: int


@dataclass(frozen=True, kw_only=True)
class EasyRowsCounts(Counts):
    """easy_thumbnails' rows moved or put back (deploy.site.ops.thumbnails), with the script's own counts."""

    FLATTENED = "counts"
    step: str = field(default="easy_thumbnails rows", init=False)
    command: str
    changed: bool
    record: str
    counts: Mapping[str, int]


@dataclass(frozen=True, kw_only=True)
class MirrorRecordCounts(Counts):
    """The mirror's records of failed writes, taken (deploy.flows.mirror); the first 100 names."""

    step: str = field(default="mirror records", init=False)
    failures: int
    unreadable: int
    names: list


@dataclass(frozen=True, kw_only=True)
class FinalVerifyCounts(Counts):
    """The bucket holds every file on disk (deploy.media.complete); what it copied, what it found by name."""

    step: str = field(default="final verify", init=False)
    local: int
    remote: int
    matched: int
    extra: int
    copied: int
    arrived: int


@dataclass(frozen=True, kw_only=True)
class ReverseVerifyCounts(Counts):
    """Every object in the bucket is on disk (deploy.media.complete)."""

    step: str = field(default="reverse verify", init=False)
    on_disk: int
    in_bucket: int
    not_on_disk: int
    copied: int
    arrived: int


@dataclass(frozen=True, kw_only=True)
class RoomCounts(Counts):
    """The rollback's room check (deploy.media.space): what the download brings, needs and finds free."""

    step: str = field(default="room", init=False)
    files: int
    bytes: int
    needed: int
    free: int


@dataclass(frozen=True, kw_only=True)
class ProofCounts(Counts):
    """Reclaim's proof (deploy.media.proof): files proven in the bucket, kept, arrived during the check."""

    step: str = field(default="proof", init=False)
    files: int
    bytes: int
    filesystem_bytes: int
    free_bytes: int
    proven: int
    proven_bytes: int
    kept: int
    newer: int


@dataclass(frozen=True, kw_only=True)
class ReclaimCounts(Counts):
    """Reclaim's removal (deploy.media.free_disk): what went, what stayed, and the record of it."""

    step: str = field(default="reclaim", init=False)
    removed: int
    removed_bytes: int
    kept: int
    directories: int
    record: str


@dataclass(frozen=True, kw_only=True)
class ContentUrlCounts(Counts):
    """Old media URLs found in the site's content (deploy.site.ops.content_urls): in all and by field."""

    step: str = field(default="content urls", init=False)
    host: str
    forms: list
    urls: int
    rows: int
    by_field: Mapping[str, int]   # app.Model.field -> URLs


@dataclass(frozen=True, kw_only=True)
class ContentRewriteCounts(Counts):
    """The content's old media URLs rewritten (deploy.flows.rewrite_urls), or put back (deploy.flows.rollback)."""

    step: str = field(default="content rewrite", init=False)
    action: str        # "rewrite", "restore", or "rewrite again" (the undo of a rollback's restore)
    rows: int          # rows changed (rewrite) or put back (restore)
    skipped: int       # rows left as they are, each named in the step's summary
    record: str


@dataclass(frozen=True, kw_only=True)
class RetryCounts(Counts):
    """The store faults a step (or an undo: "undo <step>") retried, by kind: {"503 SlowDown": 3,
    "ConnectionResetError": 1} (deploy.retry).  The runner records one for every step that retried any,
    from the run's tally (``Run.faults``); read back by its ``retries``, whatever the step."""

    step: str
    retries: Mapping[str, int]


_BY_STEP = {f.default: kind for kind in (ModeCounts, UploadCounts, DownloadCounts, PassCounts, ReferenceCounts,
                                         SorlCostCounts, EasyRowsCounts, MirrorRecordCounts, FinalVerifyCounts,
                                         ReverseVerifyCounts, RoomCounts, ProofCounts, ReclaimCounts, ContentUrlCounts,
                                         ContentRewriteCounts)
            for f in dataclasses.fields(kind) if f.name == "step"}


def counts_class(fields: Mapping[str, object]) -> type[Counts]:
    """The record of a step's counts, by its step (the verify's also by its method); Counts for another."""
    if "retries" in fields:
        return RetryCounts
    if fields.get("step") == "verify":
        return AccountingVerifyCounts if fields.get("method") == "accounting" else ListingVerifyCounts
    return _BY_STEP.get(fields.get("step"), Counts)
