"""Reclaim's work on the media host and the bucket: the proof that each file is in the bucket, the removal
of exactly the proven files, and the record of what went (judged in ``deploy.media.proof``).

    snapshot (size, mtime, inode of every file) -> rclone check --one-way --combined (size and MD5 of
    every file against its object: reads every byte of the tree once) -> each identical object's MD5
    from the listing (HEAD for multipart objects) -> proven = identical with an MD5 -> removal of the
    proven files still as the snapshot saw them -> the record (runs/, mode 600)

Nothing here touches the bucket but to read it, nor a path outside MEDIA_ROOT.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..config.paths import shell_path
from ..engine.run import Run
from ..remote.ssh import LineStream, put_script, run_to_end, run_with_input
from ..remote.ssh import run as remote_run
from ..store.listing import listing
from ..store.probe import md5chksums
from ..sync.on_host import check_media
from ..sync.tools import run_dir
from .compare import object_key
from .proof import Kept, Proof, Proven, decide, needs_metadata, object_md5, parse_combined_lines, parse_snapshot_lines


@dataclass
class Removal:
    """What the removal did: the files that went, those it kept (changed since the proof...), directories."""

    removed: list[Proven] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    directories: int = 0

    @property
    def removed_bytes(self) -> int:
        return sum(file.size for file in self.removed)


def prove(run: Run, exclude: list[str]) -> Proof:
    """Which files the bucket holds byte for byte: the snapshot, rclone's check, the objects' MD5s."""
    snapshot = parse_snapshot_lines(_snapshot_stream(run))
    combined = _check(run, exclude)
    identical = {path for path, verdict in combined.items() if verdict == "=" and path in snapshot}
    return decide(snapshot, combined, _bucket_md5s(run, identical))


def remove(run: Run, proof: Proof) -> Removal:
    """Remove the proven files still as the snapshot saw them (``remove_proven.py`` on the media host)."""
    settings = run.settings
    script = put_script(run.media_connection, settings.tools_dir, "remove_proven.py")
    proven = {file.path: file for file in proof.proven}
    lines = "".join(json.dumps({"path": file.path, "size": file.size, "mtime_ns": file.mtime_ns,
                                "inode": file.inode}) + "\n" for file in proof.proven)
    output = run_with_input(run.media_connection,
                            f"{shell_path(settings.remote_python)} {shell_path(script)} {shell_path(settings.media_root)}",
                            lines.encode("utf-8"), f"removing {len(proven):,} proven files under {settings.media_root}",
                            timeout=3600)
    removal = Removal()
    for line in output.splitlines():
        outcome = json.loads(line)
        if "directories" in outcome:
            removal.directories = outcome["directories"]
        elif outcome.get("removed"):
            removal.removed.append(proven[outcome["path"]])
        else:
            removal.kept.append(Kept(outcome["path"], outcome["kept"]))
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


def _check(run: Run, exclude: list[str]) -> dict[str, str]:
    """rclone's combined report, read back from the media host (then removed there)."""
    path = f"{run_dir(run.settings)}/check-{secrets.token_hex(8)}.combined"
    try:
        check_media(run.media_connection, run.settings, path, exclude=exclude,
                    on_progress=lambda line: run.say(f"    {line}"))
        return parse_combined_lines(LineStream(run.media_connection, f"cat {shell_path(path)}",
                                               "reading rclone's check report"))
    finally:
        remote_run(run.media_connection, f"rm -f {shell_path(path)}", "removing rclone's check report")


def _bucket_md5s(run: Run, paths: set[str]) -> dict[str, str | None]:
    """The MD5 of each path's object: its ETag, or rclone's md5chksum for a multipart upload."""
    prefix = run.settings.media_prefix
    start = len(object_key(prefix, ""))
    found: dict[str, str | None] = {}
    multipart: list[str] = []
    for entry in listing(run.settings, faults=run.faults):
        path = entry.key[start:]
        if path in paths:
            found[path] = object_md5(entry.etag)
            if needs_metadata(entry.etag):
                multipart.append(entry.key)
    for key, md5chksum in md5chksums(run.settings, multipart, run.faults).items():
        found[key[start:]] = object_md5(None, md5chksum)
    return found
