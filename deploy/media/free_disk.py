"""Reclaim's work on the media host and the bucket: the proof that each file is in the bucket, the removal
of exactly the proven files, and the record of what went (judged in ``deploy.media.proof``).

    snapshot (size, mtime, inode of every file; in reclaim's preflight) -> rclone md5sum on the media host (every byte of the
    tree read once), while the bucket is listed here (each object's size and ETag; HEAD for a multipart
    object's MD5) -> proven = same size and MD5 -> removal of the proven files still as the snapshot
    saw them -> the record (runs/, mode 600)

Nothing here touches the bucket but to read it, nor a path outside MEDIA_ROOT.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..config.paths import shell_path
from ..engine.run import Run
from ..errors import RemoteError
from ..remote.ssh import LineStream, put_script, run_to_end, run_with_input
from ..store.listing import listing
from ..store.probe import md5chksums
from ..remote.ssh import run as remote_run
from ..sync.commands import md5sum_command
from ..sync.tools import prepare_run_dir_command, run_dir
from .compare import object_key
from .manifest import manifest_problems
from .proof import (Kept, Proof, Proven, Seen, Stored, decide, needs_metadata, object_md5, parse_md5sum_lines,
                    parse_snapshot_lines)


@dataclass
class Removal:
    """What the removal did: the files that went, those it kept (changed since the proof...), directories."""

    removed: list[Proven] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    directories: int = 0

    @property
    def removed_bytes(self) -> int:
        return sum(file.size for file in self.removed)


def snapshot(run: Run) -> tuple[dict[str, Seen], list[str]]:
    """Size, mtime and inode of every file under MEDIA_ROOT (the followed file, as the upload reads it),
    and the walk's problems (loops, dangling links).  Taken before any hashing: the removal compares
    each file with it, so that whatever changes after it stays."""
    stream = _snapshot_stream(run)
    return parse_snapshot_lines(stream), manifest_problems(stream)


def prove(run: Run, exclude: list[str], seen: dict[str, Seen]) -> tuple[Proof, ProofTimes]:
    """Which files the bucket holds byte for byte: each file's MD5 from disk while the bucket is listed (the
    two overlap: one reads the media host's disk, the other asks the store), judged against ``seen``, the
    snapshot taken before; and how long each part took."""
    began = time.monotonic()
    with ThreadPoolExecutor(1, thread_name_prefix="proof-listing") as pool:
        listed = pool.submit(_timed, _stored, run)
        local_md5s = _local_md5s(run, exclude)
        hashed = time.monotonic()
        stored, listing_seconds = listed.result()
    waited = time.monotonic()
    proof = decide(seen, local_md5s, stored)
    return proof, ProofTimes(hashing=hashed - began, listing=listing_seconds, waiting=waited - hashed,
                             judging=time.monotonic() - waited)


@dataclass(frozen=True)
class ProofTimes:
    """Seconds of the proof's parts: the hashing on the host (its lines read back included), the listing beside
    it, the wait for the listing after the hashing ended, the judging here."""

    hashing: float
    listing: float
    waiting: float
    judging: float

    def line(self) -> str:
        return (f"rclone md5sum on the host {self.hashing:.1f} s, the bucket listed beside it in {self.listing:.1f} s "
                f"({self.waiting:.1f} s waited for it), judged in {self.judging:.1f} s")


def _timed(function, *args):
    began = time.monotonic()
    return function(*args), time.monotonic() - began


def remove(run: Run, proof: Proof) -> Removal:
    """Remove the proven files still as the snapshot saw them (``remove_proven.py`` on the media host).  Its
    answers come one a file, in the order asked."""
    settings = run.settings
    script = put_script(run.media_connection, settings.tools_dir, "remove_proven.py")
    asked = b"".join(json.dumps({"path": file.path, "size": file.size, "mtime_ns": file.mtime_ns,
                                 "inode": file.inode}).encode() + b"\n" for file in proof.proven)
    output = run_with_input(run.media_connection,
                            f"{shell_path(settings.remote_python)} {shell_path(script)} {shell_path(settings.media_root)}",
                            asked, f"removing {len(proof.proven):,} proven files under {settings.media_root}",
                            timeout=3600)
    del asked
    removal = Removal()
    answers = iter(output.splitlines())
    for file, line in zip(proof.proven, answers):
        outcome = json.loads(line)
        if outcome.get("path") != file.path:
            raise RemoteError(f"{settings.media_host}: remove_proven.py answered for {outcome.get('path')!r} where "
                              f"{file.path!r} was asked: its answers cannot be read")
        if outcome.get("removed"):
            removal.removed.append(file)
        else:
            removal.kept.append(Kept(file.path, outcome["kept"]))
    for line in answers:
        removal.directories = json.loads(line).get("directories", removal.directories)
    return removal


def write_record(run: Run, proof: Proof, removal: Removal) -> Path:
    """``runs/<run id>-<env>-reclaim.removed``, mode 600: a JSON line per removed file (path, size, MD5), then
    one per file kept, with why.  The rollback brings every removed file back; this says what they were."""
    path = run.settings.project_root / "runs" / f"{run.run_id}-{run.settings.env}-reclaim.removed"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as record:
        record.write(json.dumps({"run_id": run.run_id, "env": run.settings.env, "host": run.settings.media_host,
                                 "media_root": run.settings.media_root, "removed": len(removal.removed),
                                 "bytes": removal.removed_bytes}) + "\n")
        for file in removal.removed:
            record.write(json.dumps({"path": file.path, "size": file.size, "md5": file.md5}) + "\n")
        for kept in [*proof.kept, *removal.kept]:
            record.write(json.dumps({"path": kept.path, "kept": kept.why}) + "\n")
    return path


def media_root_refusal(run: Run) -> str | None:
    """Why MEDIA_ROOT must not be reclaimed (it resolves to / or the home directory, or is no directory), or None."""
    settings = run.settings
    script = put_script(run.media_connection, settings.tools_dir, "remove_proven.py")
    result = run_to_end(run.media_connection, f"{shell_path(settings.remote_python)} {shell_path(script)} --check "
                        f"{shell_path(settings.media_root)}", f"checking MEDIA_ROOT {settings.media_root}")
    return None if result.ok else (result.stderr.strip() or f"exit {result.exited}")


# --- the parts of the proof ------------------------------------------------------------------

def _snapshot_stream(run: Run) -> LineStream:
    settings = run.settings
    script = put_script(run.media_connection, settings.tools_dir, "media_manifest.py")
    return LineStream(run.media_connection, f"{shell_path(settings.remote_python)} {shell_path(script)} --stat "
                      f"{shell_path(settings.media_root)}", f"taking a snapshot of {settings.media_root}")


def _local_md5s(run: Run, exclude: list[str]) -> dict[str, str]:
    """``rclone md5sum`` of MEDIA_ROOT on the media host; a file it could not read has no MD5 (kept)."""
    settings = run.settings
    output = f"{run_dir(settings)}/md5sum-{secrets.token_hex(8)}.txt"
    remote_run(run.media_connection, prepare_run_dir_command(settings), f"preparing {run_dir(settings)}")
    try:
        result = run_to_end(run.media_connection, md5sum_command(settings, output, exclude),
                            f"reading every file under {settings.media_root} (rclone md5sum)", timeout=None)
        said = [line for line in result.stdout.splitlines() if line.startswith("rclone-exit ")]
        if not said or said[-1] != "rclone-exit 0":
            problems = " | ".join(result.stderr.strip().splitlines()[-3:])
            run.say(f"    rclone md5sum: {said[-1] if said else 'no exit code'}: the files it could not read stay "
                    f"on disk ({problems})")
        return parse_md5sum_lines(LineStream(run.media_connection, f"cat {shell_path(output)}",
                                             "reading rclone md5sum's lines"))
    finally:
        remote_run(run.media_connection, f"rm -f {shell_path(output)}", "removing rclone md5sum's lines")


def _stored(run: Run) -> dict[str, Stored]:
    """Each object under the prefix: its size and MD5 (its ETag, or rclone's md5chksum for a multipart upload)."""
    start = len(object_key(run.settings.media_prefix, ""))
    found: dict[str, Stored] = {}
    multipart: list[str] = []
    for entry in listing(run.settings, faults=run.faults):
        found[entry.key[start:]] = Stored(entry.size, object_md5(entry.etag))
        if needs_metadata(entry.etag):
            multipart.append(entry.key)
    for key, md5chksum in md5chksums(run.settings, multipart, run.faults).items():
        found[key[start:]] = found[key[start:]]._replace(md5=object_md5(None, md5chksum))
    return found
