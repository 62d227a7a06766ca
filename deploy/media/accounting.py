"""The first upload's own accounting, as the check before the flip (pure).

rclone's copy lists the bucket itself while it copies, and reports at the end
how many files it transferred (each PUT's ETag checked against the file's MD5;
a multipart upload's completion) and how many it found in the bucket already
with the same size (its "checks"), with its error count.  When those add up to
every file the manifest counted just before the copy, with no error and exit
0, the copy *was* a full comparison of the tree with the bucket: listing both
again before the flip (9 s at 100,000 files, 77 s at 1,000,000, most of the
cutover's overhead) would learn nothing more.  So the verify before the flip
takes that accounting, and the one full comparison of the manifest with the
listing runs after the sites are healthy (``deploy.media.complete``), off the
change-over's critical path, as the scale issue asks.

Anything short of that (another tool: s5cmd exits 0 on failed objects, s3cmd
counts only what it sent; a count short of the tree: a file went between the
scan and the copy; errors; ``--checksum``) takes the full comparison before the
flip, as before.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UploadAccount:
    """What the first copy said of itself, beside the tree it was given."""

    tool: str
    tree_files: int            # the manifest's count, taken just before the copy (excluded paths left out)
    transferred: int | None    # None: the tool did not say
    checked: int | None        # found in the bucket with the same size, not sent again
    errors: int | None


def accounts_for_tree(account: UploadAccount | None) -> bool:
    """True when the copy itself compared every file of the tree with the bucket, without an error."""
    if account is None or account.tool != "rclone":
        return False
    if None in (account.transferred, account.checked, account.errors):
        return False
    # ">=": files that reached the disk during the copy are counted too (the delta passes take them anyway)
    return account.errors == 0 and account.transferred + account.checked >= account.tree_files


def why_not(account: UploadAccount | None, checksum: bool) -> str:
    """Why the verify before the flip lists both sides after all (one line, for the step's summary)."""
    if checksum:
        return "--checksum: every file's MD5 compared"
    if account is None:
        return "no upload in this run to account for"
    if account.tool != "rclone":
        return f"{account.tool} does not account for every file it skips"
    if None in (account.transferred, account.checked, account.errors):
        return "rclone did not report its counts"
    if account.errors:
        return f"rclone reported {account.errors} errors"
    return (f"rclone accounted for {account.transferred + account.checked:,} files of the "
            f"{account.tree_files:,} in the tree")


def summary_lines(account: UploadAccount) -> list[str]:
    """The accounting, for the terminal: what it covers and where the full comparison went."""
    return [f"{account.tool} accounted for every file of the tree: {account.tree_files:,} "
            f"({account.transferred:,} uploaded, {account.checked:,} already there with the same size), "
            f"{account.errors} errors",
            "the whole tree is compared with the whole bucket once, after the health check"]
