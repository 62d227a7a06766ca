"""Will the media host's disk hold what a download brings?  Judged before anything changes.

Pure.  A rollback downloads every object the disk lacks (after a reclaim: the whole tree), and each
file it replaces is moved aside, not deleted: both need room.  rclone preallocates each file and,
on a full disk, fails file after file ("preallocate: file too big for remaining disk space") and
retries the whole copy, without saying how much was needed.  So the rollback's preflight compares
first: the bytes to bring, each file's last block counted whole, and a margin, against the free
space ``df`` reports for MEDIA_ROOT (what the deploy user may use: blocks reserved for root are
not in it).
"""

from __future__ import annotations

BLOCK = 4096              # a file's last block is taken whole on ext4, xfs and tmpfs
MARGIN_FRACTION = 50      # 2 % of what arrives ...
MARGIN_FLOOR = 1 << 20    # ... and at least 1 MiB: directories, rclone's partial files, the site's own writes


def needed(files: int, size: int) -> int:
    """The bytes ``files`` files of ``size`` bytes in all take on disk, with the margin."""
    on_disk = size + files * BLOCK
    return on_disk + max(MARGIN_FLOOR, on_disk // MARGIN_FRACTION)


def room_problem(host: str, directory: str, files: int, size: int, free: int) -> str | None:
    """One line naming the host, the directory, the bytes needed and the bytes free; None if it fits."""
    if files == 0 or needed(files, size) <= free:
        return None
    return (f"{host}: the download needs {needed(files, size):,} bytes in {directory} ({files:,} files, "
            f"{size:,} bytes, with a margin) but its filesystem has {free:,} bytes free: free some space or grow "
            "the filesystem, then run the rollback again; nothing was changed")


def human(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"
