"""The media tree against the bucket: manifest from the media host, streamed, merge-joined."""

from __future__ import annotations

import json
import shlex

from ..config.paths import shell_path
from ..engine.run import Run
from ..errors import RemoteError, VerifyError
from ..host_scripts import host_script
from ..remote.ssh import LineStream, put_script, run_with_input
from ..remote.ssh import run as remote_run
from ..store.listing import listing
from .compare import UnsortedListing, VerifyReport, compare, parse_manifest_lines, same_md5
from .passes import Passes


def manifest_stream(run: Run, order: str, before: int | None = None, md5: bool = False) -> LineStream:
    """``size\\tpath`` lines of every file under MEDIA_ROOT, in ``order``, as they come.

    With ``before`` (the host's epoch seconds), files changed since are left out.
    """
    settings = run.settings
    script = put_script(run.media_connection, settings.tools_dir, "media_manifest.py")
    since = f" --before {int(before)}" if before is not None else ""
    command = (f"{shell_path(settings.remote_python)} {shell_path(script)}{' --md5' if md5 else ''} "
               f"--order {order}{since} "
               f"{shell_path(settings.media_root)}")
    return LineStream(run.media_connection, command, f"listing {settings.media_root}")


def manifest_problems(stream: LineStream) -> list[str]:
    return [line for line in stream.stderr.splitlines()
            if line and not line.startswith(("problems:", "newer:"))]


def unreadable(problems: list[str]) -> list[str]:
    """Paths the sync tool must leave out: symlink loops and dangling links (the manifest skips them)."""
    kinds = ("symlink loop: ", "dangling symlink: ")
    return [problem.split(": ", 1)[1] for problem in problems if problem.startswith(kinds)]


def newer_count(stream: LineStream) -> int:
    for line in stream.stderr.splitlines():
        if line.startswith("newer: "):
            return int(line.split()[1])
    return 0


# On the media host with REMOTE_PYTHON: which of the names on stdin (one JSON list) are under MEDIA_ROOT
# (deploy/remote/scripts/names_on_disk.py).
_EXISTING = host_script("names_on_disk.py")


def existing(run: Run, names: list[str]) -> list[str]:
    """The names (paths below MEDIA_ROOT) that are on the media host's disk now."""
    settings = run.settings
    command = (f"{shell_path(settings.remote_python)} -c {shlex.quote(_EXISTING)} "
               f"{shlex.quote(settings.media_root)}")
    output = run_with_input(run.media_connection, command, json.dumps(names).encode(),
                            f"looking up {len(names)} files under {settings.media_root}")
    return json.loads(output.strip().splitlines()[-1])


def filesystem(run: Run) -> tuple[int, int]:
    """(size, free) in bytes of the media host's filesystem that holds MEDIA_ROOT (``df -Pk``)."""
    output = remote_run(run.media_connection, f"df -Pk {shell_path(run.settings.media_root)} | tail -n 1",
                        f"reading the free space of {run.settings.media_root}")
    try:
        fields = output.split()
        return int(fields[1]) * 1024, int(fields[3]) * 1024
    except (IndexError, ValueError):
        raise RemoteError(f"{run.settings.media_host}: cannot read the free space of {run.settings.media_root} "
                          f"from df: {output.strip()!r}") from None


def host_clock(run: Run) -> int:
    """The media host's epoch seconds: file times there are compared with its own clock."""
    return int(remote_run(run.media_connection, "date +%s", "reading the media host's clock").strip())


def scan(run: Run) -> tuple[int, int, list[str]]:
    """(files, bytes, problems) of the media tree; loops and dangling links are problems."""
    stream = manifest_stream(run, "bytes")
    files = total = 0
    for entry in parse_manifest_lines(stream, run.settings.media_prefix):
        files, total = files + 1, total + entry.size
    return files, total, manifest_problems(stream)


def compare_tree(run: Run, passes: Passes, before: int | None = None,
                 collect: bool = False) -> tuple[VerifyReport, int]:
    """Tree against bucket; returns the report and how many files were newer than ``before``.

    The listing order is the store's (AWS: bytes; SeaweedFS: path by path), learned once for the run's
    passes.  With ``collect`` the report keeps every missing and extra key.
    """
    order = passes.listing_order
    try:
        return _compare(run, order, before, collect)
    except UnsortedListing as error:
        if error.side != "bucket listing" or order != "bytes":
            raise
        # This store lists directory by directory (SeaweedFS does): compare in that order.
        passes.listing_order = "path"
        return _compare(run, "path", before, collect)


def verify_bucket(run: Run, passes: Passes, before: int | None = None) -> tuple[VerifyReport, int]:
    """The cutover's verify: every file on disk (older than ``before``) is in the bucket, same size; else
    VerifyError."""
    report, newer = compare_tree(run, passes, before)
    if not report.ok:
        raise VerifyError("the bucket does not hold every media file intact:\n    "
                          + "\n    ".join(report.summary_lines()))
    return report, newer


def _compare(run: Run, order: str, before: int | None, collect: bool = False) -> tuple[VerifyReport, int]:
    checksum = run.options.checksum
    stream = manifest_stream(run, order, before, md5=checksum)
    report = compare(parse_manifest_lines(stream, run.settings.media_prefix, with_md5=checksum),
                     listing(run.settings, order, faults=run.faults), sample_limit=run.options.sample_limit,
                     check_md5=same_md5 if checksum else None, order=order, collect=collect)
    return report, newer_count(stream)
