"""The sync tools' command lines for the download (rollback): the bucket's objects into MEDIA_ROOT.

Pure: nothing here touches a host.  ``deploy.sync.on_host`` runs these commands, with the retry
policy's flags (``deploy.sync.commands.with_retry_flags``); the words they share with the upload
(the launcher, rclone's root and excludes, s5cmd's global flags) are ``deploy.sync.commands``'.
No secret is ever on them: the tool reads it from its credentials file
(``deploy.sync.tools.credentials_file``).

The download (rollback) copies objects into MEDIA_ROOT, never deleting:

- rclone ``copy`` with ``--size-only --copy-links``: an existing symlinked
  file is compared by its target's size and left alone when equal (without
  ``-L`` rclone skips the link on listing and would rename a downloaded file
  over it); a dangling symlink is a listing error (exit 6), and a same-named
  object is still downloaded over it, unless it is excluded (pass the
  manifest's dangling links); a directory only on disk (a symlink loop) is not
  walked.  Files are written
  to ``name.XXXX.partial`` and renamed into place, mode 0666 and directories
  0777 minus the umask.  With overwrite, ``--backup-dir`` renames the replaced
  file (a symlink: the link itself, its target untouched) into the displaced
  directory under its relative path; a name already there would be deleted
  first, so the displaced directory must be empty.  File modtimes are set from
  the object (rclone's own ``X-Amz-Meta-Mtime``, else LastModified) only on
  files it creates; ``--no-update-dir-modtime`` keeps it off directories that
  belong to other accounts.
- s5cmd ``cp -n``: only missing files; directories follow the umask but files
  are always written 0644, so it is refused unless the umask is 022; no
  backup of replaced files, so no overwrite; it renames a download over a
  dangling symlink, so no excludes (the manifest's dangling links) either.
- s3cmd: refused.  Its ``sync`` sets every downloaded file to 0777 minus the
  umask (executable), and it cannot keep replaced files either.
"""

from __future__ import annotations

import re
import shlex
from typing import Iterable

from ..config.paths import shell_path
from ..config.types import Settings
from ..errors import PreflightError
from ..host_scripts import host_script
from .commands import (check_lists, launcher, rclone_excludes, rclone_list, rclone_root, relative_exclude,
                       s5cmd_global_flags)
from .tools import no_line_breaks, tool_spec

_q = shlex.quote

# Prints what download_media must know about MEDIA_ROOT and the displaced directory, as JSON
# (deploy/remote/scripts/media_root_inspect.py).
_INSPECT = host_script("media_root_inspect.py")


def inspect_command(settings: Settings, displaced_dir: str) -> str:
    """Read-only: MEDIA_ROOT's mode and real path, the displaced directory's real path and use."""
    no_line_breaks("displaced_dir", displaced_dir)
    return (f"{shell_path(settings.remote_python)} -c {_q(_INSPECT)} "
            f"{shell_path(settings.media_root)} {shell_path(displaced_dir)}")


def umask_for(root_mode: int) -> int:
    """The umask that gives new files and directories MEDIA_ROOT's permissions.

    0777 minus MEDIA_ROOT's permission bits (2775 -> 002, 755 -> 022, 750 -> 027),
    but the owner always keeps rwx and others never get write.
    """
    return (~root_mode & 0o077) | 0o002


def check_download_umask(tool: str, umask: int) -> None:
    """s5cmd writes every file 0644 whatever the umask: only right where the site's files are."""
    if tool == "s5cmd" and umask != 0o022:
        raise PreflightError(
            f"s5cmd cannot give downloaded files the mode MEDIA_ROOT calls for (umask {umask:03o}, files "
            f"{0o666 & ~umask:o}): it writes every file 0644. Use SYNC_TOOL=rclone for the download")


def download_command(settings: Settings, config_path: str, *, overwrite: bool, displaced_dir: str,
                     exclude: Iterable[str] = (), files_from: str | None = None) -> str:
    """The tool's command line: copies the bucket's objects into MEDIA_ROOT, never deletes, never a secret.

    Without ``overwrite`` only missing files arrive; with it, files whose size
    differs are replaced after being moved into ``displaced_dir`` (rclone only).
    With ``files_from`` (a file on the media host of paths relative to the
    prefix: a delta pass) only those objects are copied, and neither side is
    listed (rclone only).  Raises PreflightError for what the tool cannot do,
    ValueError for a malformed exclude or path.
    """
    no_line_breaks("MEDIA_ROOT", settings.media_root)
    no_line_breaks("displaced_dir", displaced_dir)
    excluded = [relative_exclude(path) for path in exclude]
    spec = tool_spec(settings.sync_tool)
    if spec.name == "s3cmd":
        raise PreflightError(
            "s3cmd cannot download the media: its sync sets every downloaded file to mode 0777 minus "
            "the umask (executable), and it cannot keep the files it replaces. Use SYNC_TOOL=rclone "
            "for the download")
    if spec.name == "s5cmd" and overwrite:
        raise PreflightError(
            "s5cmd cannot replace files on disk safely: it has no way to move the old file aside "
            "(rclone's --backup-dir). Download with overwrite off, or use SYNC_TOOL=rclone")
    if spec.name == "s5cmd" and excluded:
        raise PreflightError(
            f"s5cmd cannot leave out {len(excluded)} path(s) such as {excluded[0]!r} on download: it "
            "would rename a downloaded file over a dangling symlink. Use SYNC_TOOL=rclone")
    target = shell_path(settings.media_root.rstrip("/") + "/")
    config = shell_path(config_path)
    if spec.name == "rclone":
        words = ["copy", rclone_root(settings), target,
                 "--config", config, "--size-only", "--copy-links",
                 *(["--backup-dir", shell_path(displaced_dir)] if overwrite else ["--ignore-existing"]),
                 "--no-update-dir-modtime",
                 "--transfers", str(settings.sync_concurrency), "--checkers", str(settings.sync_concurrency),
                 "--s3-no-check-bucket",
                 "--stats", "1s", "--stats-one-line", "--stats-log-level", "NOTICE", "--use-json-log",
                 *rclone_excludes(excluded)]
        if files_from is not None:
            words += rclone_list(files_from)
    else:
        if files_from is not None:
            check_lists(spec.name)
        if re.search(r"[*?\[\]{}\\]", settings.media_prefix):
            raise PreflightError(f"s5cmd cannot download from the prefix {settings.media_prefix!r}: it "
                                 "holds wildcard characters. Use SYNC_TOOL=rclone")
        words = s5cmd_global_flags(settings, config) + [
            "cp", "-n", "--source-region", _q(settings.region),
            _q(f"s3://{settings.bucket}/{settings.media_prefix}/*"), target]
    return " ".join([*launcher(settings, spec), *words])
