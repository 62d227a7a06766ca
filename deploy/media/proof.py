"""Reclaim's proof, judged: which files on disk the bucket holds byte for byte, and why each other one stays.

Pure.  Three readings meet here, each keyed by the path below MEDIA_ROOT:

- the snapshot taken before the hashing (``media_manifest.py --stat``): size, mtime and inode of each
  file, which the removal compares again, so that nothing written since the proof goes;
- the MD5 of each file's content as ``rclone md5sum`` read it on the media host (``<md5>  <path>``
  lines: every byte of the tree once, on every core);
- each object in the bucket, from the listing: its size and its MD5.  A single-part ETag is the
  content's MD5; a multipart object has one only where rclone stored it (``X-Amz-Meta-Md5chksum``).
  A file whose object has no MD5 is kept and named: a size alone proves nothing.

A file is proven when its object has the snapshot's size and the file's MD5; the record of what reclaim
removed gives each file's MD5.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Iterable, Iterator, NamedTuple

from ..errors import VerifyError
from .compare import plain_md5_etag

NO_LOCAL_MD5 = "could not be read on disk (no MD5 from rclone md5sum)"
MISSING = "not in the bucket"
OTHER_SIZE = "its object in the bucket has another size"
OTHER_MD5 = "its object in the bucket has other bytes (another MD5)"
NO_MD5 = ("its object has no MD5 to compare (a multipart upload without rclone's X-Amz-Meta-Md5chksum): "
          "its size alone proves nothing")


class Seen(NamedTuple):
    """One file as the snapshot before the check saw it (the followed file, as the sync tool reads it)."""

    size: int
    mtime_ns: int
    inode: int


class Proven(NamedTuple):
    path: str
    size: int
    mtime_ns: int
    inode: int
    md5: str


class Kept(NamedTuple):
    path: str
    why: str


class Stored(NamedTuple):
    """One object as the bucket has it: its size and its content's MD5 (None: the store gives none)."""

    size: int
    md5: str | None


@dataclass
class Proof:
    proven: list[Proven] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    newer: int = 0  # hashed, not in the snapshot: arrived between them, left alone

    @property
    def proven_bytes(self) -> int:
        return sum(file.size for file in self.proven)

    def summary_lines(self, limit: int = 20) -> list[str]:
        lines = [f"proven in the bucket (same size and MD5): {len(self.proven):,} files, "
                 f"{self.proven_bytes / 1e6:,.1f} MB"]
        if self.kept:
            lines.append(f"kept on disk: {len(self.kept):,} files")
            lines += [f"  - {kept.path}: {kept.why}" for kept in self.kept[:limit]]
            if len(self.kept) > limit:
                lines.append(f"  ... and {len(self.kept) - limit:,} more (every one in the record under runs/)")
        if self.newer:
            lines.append(f"{self.newer:,} files arrived during the proof: left alone")
        return lines


def _numbered(lines: Iterable[bytes | str]) -> Iterator[tuple[int, str]]:
    """(number, line) of each line that is not empty, its newline off; split on "\\n" only (a file name
    may hold other line breaks)."""
    for number, raw in enumerate(lines, 1):
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        line = line[:-1] if line.endswith("\n") else line
        if line:
            yield number, line


def parse_snapshot_lines(lines: Iterable[bytes | str]) -> dict[str, Seen]:
    """``<size>\\t<mtime_ns>\\t<inode>\\t<path>`` lines (``media_manifest.py --stat``) by path."""
    found: dict[str, Seen] = {}
    for number, line in _numbered(lines):
        fields = line.split("\t", 3)
        if len(fields) != 4 or not all(value.isdigit() for value in fields[:3]) or not fields[3]:
            raise VerifyError(f"snapshot line {number}: expected '<size>\\t<mtime_ns>\\t<inode>\\t<path>', "
                              f"got {line[:80]!r}")
        found[fields[3]] = Seen(int(fields[0]), int(fields[1]), int(fields[2]))
    return found


def parse_md5sum_lines(lines: Iterable[bytes | str]) -> dict[str, str]:
    """``rclone md5sum``'s ``<md5>  <path>`` lines by path; other lines (none expected) are refused."""
    found: dict[str, str] = {}
    for number, line in _numbered(lines):
        digest, gap, path = line[:32], line[32:34], line[34:]
        if gap != "  " or not path or not all(char in "0123456789abcdef" for char in digest) or len(digest) != 32:
            raise VerifyError(f"rclone md5sum, line {number}: expected '<md5>  <path>', got {line[:80]!r}")
        found[path] = digest
    return found


def object_md5(etag: str | None, md5chksum: str | None = None) -> str | None:
    """The hex MD5 of an object's content: its plain ETag, else rclone's base64 ``md5chksum``; else None."""
    plain = plain_md5_etag(etag)
    if plain is not None:
        return plain
    if not md5chksum:
        return None
    try:
        digest = base64.b64decode(md5chksum, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 16 else None


def needs_metadata(etag: str | None) -> bool:
    """A multipart (or otherwise non-MD5) ETag: the object's own MD5 can only be in its metadata."""
    return plain_md5_etag(etag) is None


def decide(snapshot: dict[str, Seen], local_md5s: dict[str, str], stored: dict[str, Stored]) -> Proof:
    """Proven: in the snapshot, hashed on disk, and in the bucket with the snapshot's size and the same MD5;
    every other file of the snapshot kept with its reason, in path order."""
    proof = Proof()
    for path in sorted(snapshot):
        seen, md5, found = snapshot[path], local_md5s.get(path), stored.get(path)
        why = (NO_LOCAL_MD5 if md5 is None else MISSING if found is None else OTHER_SIZE if found.size != seen.size
               else NO_MD5 if found.md5 is None else OTHER_MD5 if found.md5 != md5 else None)
        if why is None:
            proof.proven.append(Proven(path, seen.size, seen.mtime_ns, seen.inode, md5))
        else:
            proof.kept.append(Kept(path, why))
    proof.newer = sum(1 for path in local_md5s if path not in snapshot)
    return proof
