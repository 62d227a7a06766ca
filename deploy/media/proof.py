"""Reclaim's proof, judged: which files on disk the bucket holds byte for byte, and why each other one stays.

Pure.  Three readings meet here, each keyed by the path below MEDIA_ROOT:

- the snapshot taken before the check (``media_manifest.py --stat``): size, mtime and inode of each
  file, which the removal compares again, so that nothing written since the proof goes;
- rclone's ``check --one-way --combined`` report: ``= path`` identical (size, and MD5 where both
  sides have one), ``* path`` differs, ``- path`` missing in the bucket, ``! path`` an error;
- the bucket's MD5 of each object: a single-part ETag is the content's MD5; a multipart object has
  one only where rclone stored it (``X-Amz-Meta-Md5chksum``).  rclone reports a file it could
  compare by size only as identical too, so a file whose object has no MD5 is kept and named here.

A file is proven when all three agree; the record of what reclaim removed gives each file's MD5.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from ..errors import VerifyError
from .compare import plain_md5_etag

# rclone's combined report: the first character of each line, a space, the path.
WHY_KEPT = {
    "*": "differs from its object in the bucket (size or MD5)",
    "-": "not in the bucket",
    "!": "could not be checked (rclone reported an error reading it or its object)",
}
NO_MD5 = ("its object has no MD5 to compare (a multipart upload without rclone's X-Amz-Meta-Md5chksum): "
          "compared by size only")
NOT_CHECKED = "not in rclone's report (left out of the check)"


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


@dataclass
class Proof:
    proven: list[Proven] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    newer: int = 0  # in the check, not in the snapshot: arrived between them, left alone

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
            lines.append(f"{self.newer:,} files arrived during the check: left alone")
        return lines


def parse_snapshot_lines(lines: Iterable[bytes | str]) -> dict[str, Seen]:
    """``<size>\\t<mtime_ns>\\t<inode>\\t<path>`` lines (``media_manifest.py --stat``) by path."""
    found: dict[str, Seen] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        line = line[:-1] if line.endswith("\n") else line
        if not line:
            continue
        fields = line.split("\t", 3)
        if len(fields) != 4 or not all(value.isdigit() for value in fields[:3]) or not fields[3]:
            raise VerifyError(f"snapshot line {number}: expected '<size>\\t<mtime_ns>\\t<inode>\\t<path>', "
                              f"got {line[:80]!r}")
        found[fields[3]] = Seen(int(fields[0]), int(fields[1]), int(fields[2]))
    return found


def parse_combined_lines(lines: Iterable[bytes | str]) -> dict[str, str]:
    """rclone's ``--combined`` report by path: ``=``, ``*``, ``-``, ``+`` or ``!``."""
    found: dict[str, str] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        line = line[:-1] if line.endswith("\n") else line
        if not line:
            continue
        if len(line) < 3 or line[0] not in "=*-+!" or line[1] != " ":
            raise VerifyError(f"rclone's combined report, line {number}: expected '<=|*|-|+|!> path', "
                              f"got {line[:80]!r}")
        found[line[2:]] = line[0]
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


def decide(snapshot: dict[str, Seen], combined: dict[str, str], md5s: dict[str, str | None]) -> Proof:
    """Proven: in the snapshot, identical in rclone's report, and with an MD5 in the bucket; every other
    file of the snapshot kept with its reason, in path order."""
    proof = Proof()
    for path in sorted(snapshot):
        seen, verdict = snapshot[path], combined.get(path)
        if verdict is None:
            proof.kept.append(Kept(path, NOT_CHECKED))
        elif verdict != "=":
            proof.kept.append(Kept(path, WHY_KEPT.get(verdict, f"rclone reported {verdict!r}")))
        elif md5s.get(path) is None:
            proof.kept.append(Kept(path, NO_MD5))
        else:
            proof.proven.append(Proven(path, seen.size, seen.mtime_ns, seen.inode, md5s[path]))
    proof.newer = sum(1 for path in combined if path not in snapshot)
    return proof
