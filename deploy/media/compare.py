"""Compare the media tree's manifest with the bucket's listing, streaming.

Both sides arrive sorted by the UTF-8 bytes of the key (``media_manifest.py``
and S3 ListObjectsV2 both produce that order), so a merge-join compares them in
constant memory however many files there are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, NamedTuple, Optional

from deploy.errors import VerifyError

_SIZE = re.compile(r"[0-9]+")
_PLAIN_MD5 = re.compile(r"[0-9a-fA-F]{32}")


class Entry(NamedTuple):
    """One file or object: its full key, its size, and the bucket's ETag if known."""

    key: str
    size: int
    etag: Optional[str] = None


class SizeMismatch(NamedTuple):
    key: str
    local_size: int
    remote_size: int


@dataclass
class Sampled:
    """A count plus the first few examples."""

    limit: int
    count: int = 0
    samples: list = field(default_factory=list)
    every: list | None = None  # every one, when the caller copies them next (a delta pass's list)

    def add(self, sample) -> None:
        self.count += 1
        if len(self.samples) < self.limit:
            self.samples.append(sample)
        if self.every is not None:
            self.every.append(sample)


@dataclass
class VerifyReport:
    """What a comparison found. ``matched`` counts keys on both sides with equal size."""

    sample_limit: int = 20
    collect: bool = False  # keep every missing and extra key, not only samples
    local_count: int = 0
    local_bytes: int = 0
    remote_count: int = 0
    remote_bytes: int = 0
    matched: int = 0
    md5_checked: int = 0
    md5_not_comparable: int = 0
    extra_bytes: int = 0          # the bucket's objects the disk lacks: what a download brings
    size_mismatch_bytes: int = 0  # the bucket's sizes of the keys whose sizes differ (a download replaces them)
    missing: Sampled = field(init=False)
    extra: Sampled = field(init=False)
    size_mismatch: Sampled = field(init=False)
    md5_mismatch: Sampled = field(init=False)

    def __post_init__(self) -> None:
        for name in ("missing", "extra", "size_mismatch", "md5_mismatch"):
            setattr(self, name, Sampled(self.sample_limit))
        if self.collect:
            self.missing.every, self.extra.every = [], []

    @property
    def ok(self) -> bool:
        """True when every local file is in the bucket with the same size (and MD5, if checked)."""
        return not (self.missing.count or self.size_mismatch.count or self.md5_mismatch.count)

    def summary_lines(self) -> list[str]:
        """Short lines for the terminal, failures first-class, samples indented."""
        lines = [f"local:  {self.local_count:,} files, {_human(self.local_bytes)}",
                 f"bucket: {self.remote_count:,} objects, {_human(self.remote_bytes)}",
                 f"matched: {self.matched:,}"]
        lines += _sampled_lines("missing from bucket", self.missing, str)
        lines += _sampled_lines("size mismatch", self.size_mismatch,
                                lambda s: f"{s.key}: local {s.local_size:,} B, bucket {s.remote_size:,} B")
        if self.md5_checked or self.md5_not_comparable:
            lines.append(f"md5: {self.md5_checked:,} checked, {self.md5_mismatch.count:,} mismatched, "
                         f"{self.md5_not_comparable:,} not comparable (multipart or no plain ETag)")
            lines += _sampled_lines("md5 mismatch", self.md5_mismatch, str)
        lines += _sampled_lines("extra in bucket (not a failure)", self.extra, str)
        lines.append("OK: the bucket holds every local file" if self.ok
                     else "FAILED: the bucket does not hold every local file intact")
        return lines


class UnsortedListing(VerifyError):
    """One side is not in the order asked for; ``side`` names it."""

    def __init__(self, message: str, side: str):
        super().__init__(message)
        self.side = side


# How keys are ordered: "bytes" as AWS lists them; "path" component by component,
# as stores that list directory by directory do (SeaweedFS: "a/x" before "a b").
ORDERS: dict[str, Callable[[str], object]] = {
    "bytes": lambda key: key,
    "path": lambda key: key.split("/"),
}


def compare(local: Iterable[Entry], remote: Iterable[Entry], *, sample_limit: int = 20,
            check_md5: Callable[[Entry, Entry], Optional[bool]] | None = None,
            order: str = "bytes", collect: bool = False) -> VerifyReport:
    """Merge-join two key-sorted listings; raise VerifyError if either is unsorted or repeats a key.

    ``check_md5(local, remote)`` is called for keys whose sizes match; it returns
    True (same), False (different) or None (cannot tell, e.g. multipart ETag).
    With ``collect`` the report keeps every missing and extra key (``.missing.every``, ``.extra.every``).
    """
    sort_key = ORDERS[order]
    report = VerifyReport(sample_limit=sample_limit, collect=collect)
    lefts = _in_order(local, "local manifest", sort_key)
    rights = _in_order(remote, "bucket listing", sort_key)
    # The bucket side first: its listing gets going while the manifest's remote command starts up.
    right = next(rights, None)
    left = next(lefts, None)
    while left is not None or right is not None:
        left_key = sort_key(left.key) if left is not None else None
        right_key = sort_key(right.key) if right is not None else None
        if right is None or (left is not None and left_key < right_key):
            _count_local(report, left)
            report.missing.add(left.key)
            left = next(lefts, None)
        elif left is None or right_key < left_key:
            _count_remote(report, right)
            report.extra.add(right.key)
            report.extra_bytes += right.size
            right = next(rights, None)
        else:
            _count_local(report, left)
            _count_remote(report, right)
            _compare_pair(report, left, right, check_md5)
            left, right = next(lefts, None), next(rights, None)
    return report


def parse_manifest_lines(lines: Iterable[bytes | str], prefix: str, with_md5: bool = False) -> Iterator[Entry]:
    """Turn ``media_manifest.py`` output (``size\\tpath`` lines) into Entries keyed ``prefix/path``.

    With ``with_md5`` the lines are ``size\\tmd5\\tpath`` and the MD5 goes in ``Entry.etag``.

    Split the output on "\\n" only (iterate a binary stream or use
    ``.split("\\n")``): ``str.splitlines`` also splits on characters that are
    legal in file names.  Empty lines are skipped.
    """
    for number, raw in enumerate(lines, 1):
        line = _decode(raw, number)
        if line.endswith("\n"):
            line = line[:-1]
        if not line:
            continue
        size, tab, path = line.partition("\t")
        md5 = None
        if with_md5:
            md5, _, path = path.partition("\t")
            if not _PLAIN_MD5.fullmatch(md5):
                path = ""
        if not tab or not path or not _SIZE.fullmatch(size):
            raise VerifyError(f"media manifest line {number}: expected '<size>\\t<path>', got {line[:80]!r}")
        yield Entry(object_key(prefix, path), int(size), md5)


def object_key(prefix: str, relpath: str) -> str:
    """The bucket key for a media-relative path: ``prefix/relpath``, or ``relpath`` if no prefix."""
    if prefix.endswith("/"):
        raise ValueError(f"key prefix must not end with '/': {prefix!r}")
    return f"{prefix}/{relpath}" if prefix else relpath


def plain_md5_etag(etag: str | None) -> str | None:
    """The hex MD5 an ETag carries, or None for multipart (``...-N``) and other ETags.

    A 32-hex ETag is only an MD5 for unencrypted or SSE-S3 objects; with SSE-KMS
    or SSE-C the caller must not compare it.
    """
    if etag is None:
        return None
    value = etag.strip().strip('"')
    return value.lower() if _PLAIN_MD5.fullmatch(value) else None



def same_md5(local: Entry, remote: Entry) -> bool | None:
    """The file's MD5 (from the manifest) against a plain-MD5 ETag; None when the ETag is not one."""
    etag = plain_md5_etag(remote.etag)
    return None if etag is None or local.etag is None else local.etag == etag


def _in_order(entries: Iterable[Entry], side: str, sort_key: Callable[[str], object]) -> Iterator[Entry]:
    # For valid Unicode, comparing str compares code points, which is the same
    # order as comparing UTF-8 bytes, so no encoding is needed per key.
    previous = previous_key = None
    for number, entry in enumerate(entries, 1):
        key = sort_key(entry.key)
        if previous is not None and entry.key == previous:
            raise VerifyError(f"{side} repeats key {entry.key!r} at entry {number}")
        if previous is not None and key < previous_key:
            raise UnsortedListing(f"{side} is not sorted: {entry.key!r} at entry {number} comes after "
                                  f"{previous!r}", side)
        previous, previous_key = entry.key, key
        yield entry


def _count_local(report: VerifyReport, entry: Entry) -> None:
    report.local_count += 1
    report.local_bytes += entry.size


def _count_remote(report: VerifyReport, entry: Entry) -> None:
    report.remote_count += 1
    report.remote_bytes += entry.size


def _compare_pair(report: VerifyReport, left: Entry, right: Entry,
                  check_md5: Callable[[Entry, Entry], Optional[bool]] | None) -> None:
    if left.size != right.size:
        report.size_mismatch.add(SizeMismatch(left.key, left.size, right.size))
        report.size_mismatch_bytes += right.size
        return
    report.matched += 1
    if check_md5 is None:
        return
    same = check_md5(left, right)
    if same is None:
        report.md5_not_comparable += 1
        return
    report.md5_checked += 1
    if not same:
        report.md5_mismatch.add(left.key)


def _decode(raw: bytes | str, number: int) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerifyError(f"media manifest line {number}: not valid UTF-8 ({exc.reason})") from exc


def _sampled_lines(label: str, sampled: Sampled, show: Callable) -> list[str]:
    if not sampled.count:
        return []
    lines = [f"{label}: {sampled.count:,}"] + [f"  - {show(s)}" for s in sampled.samples]
    if sampled.count > len(sampled.samples):
        lines.append(f"  ... and {sampled.count - len(sampled.samples):,} more")
    return lines


def _human(size: int) -> str:
    if size < 1024:
        return f"{size:,} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit} ({size:,} B)"
