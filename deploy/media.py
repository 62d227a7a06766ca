"""The media tree against the bucket: manifest from the media host, streamed, merge-joined."""

from __future__ import annotations

from .bucket import listing
from .context import Run
from .errors import VerifyError
from .hosts import LineStream, put_script, shell_path
from .verify import UnsortedListing, VerifyReport, compare, parse_manifest_lines, plain_md5_etag


def manifest_stream(run: Run, order: str) -> LineStream:
    """``size\\tpath`` lines of every file under MEDIA_ROOT, in ``order``, as they come."""
    settings = run.settings
    script = put_script(run.media_connection, settings.tools_dir, "media_manifest.py")
    command = (f"{shell_path(settings.remote_python)} {shell_path(script)} --order {order} "
               f"{shell_path(settings.media_root)}")
    return LineStream(run.media_connection, command, f"listing {settings.media_root}")


def manifest_problems(stream: LineStream) -> list[str]:
    return [line for line in stream.stderr.splitlines() if line and not line.startswith("problems:")]


def scan(run: Run) -> tuple[int, int, list[str]]:
    """(files, bytes, problems) of the media tree; loops and dangling links are problems."""
    stream = manifest_stream(run, "bytes")
    files = total = 0
    for entry in parse_manifest_lines(stream, run.settings.media_prefix):
        files, total = files + 1, total + entry.size
    return files, total, manifest_problems(stream)


def verify(run: Run) -> VerifyReport:
    """Compare tree and bucket; the listing order is the store's (AWS: bytes; some others: path)."""
    order = run.counts.get("listing order", "bytes")
    try:
        report = _compare(run, order)
    except UnsortedListing as error:
        if error.side != "bucket listing" or order != "bytes":
            raise
        # This store lists directory by directory (SeaweedFS does): compare in that order.
        run.counts["listing order"] = order = "path"
        report = _compare(run, order)
    if not report.ok:
        raise VerifyError("the bucket does not hold every media file intact:\n    "
                          + "\n    ".join(report.summary_lines()))
    return report


def _compare(run: Run, order: str) -> VerifyReport:
    stream = manifest_stream(run, order)
    check_md5 = _md5_checker(run) if run.options.checksum else None
    return compare(parse_manifest_lines(stream, run.settings.media_prefix), listing(run.settings),
                   sample_limit=run.options.sample_limit, check_md5=check_md5, order=order)


def _md5_checker(run: Run):
    """MD5 of a file on the media host vs a plain-MD5 ETag; None where the ETag is not one."""
    from .hosts import run as remote_run

    media_root = run.settings.media_root.rstrip("/")
    prefix_length = len(run.settings.media_prefix) + 1

    def check(local, remote) -> bool | None:
        etag = plain_md5_etag(remote.etag)
        if etag is None:
            return None
        path = f"{media_root}/{local.key[prefix_length:]}"
        digest = remote_run(run.media_connection, f"md5sum -- {shell_path(path)}", f"md5 of {path}").split()[0]
        return digest == etag

    return check
