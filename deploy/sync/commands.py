"""The sync tools' command lines: the upload to the bucket, the retry policy's flags, reclaim's md5sum.

Pure: nothing here touches a host.  ``deploy.sync.on_host`` runs these commands.  No
secret is ever on them: the tool reads it from its credentials file
(``deploy.sync.tools.credentials_file``).  The download (rollback) is ``deploy.sync.download_commands``,
built of the words here that it shares (the launcher, rclone's root, excludes and list, s5cmd's
global flags).

What each tool does (measured with these pins, see the module's tests):

- rclone: ``copy`` never deletes; ``--size-only`` skips same-size objects;
  ``--copy-links`` follows symlinks, and follows a directory loop until the
  kernel's ELOOP (40 levels, uploading 40 copies, then exit 6) unless the loop
  is excluded; a dangling symlink is an error (exit 6) unless excluded;
  Content-Type from the extension (``text/plain; charset=utf-8`` for .txt).
- s5cmd: ``sync`` without ``--delete``; follows symlinks; a symlink loop
  aborts its walk (nothing uploaded) *even when excluded*, a dangling symlink
  is an ERROR (the rest uploads), and either way it exits 0 (peak/s5cmd#869):
  we refuse excludes and treat any ERROR as failure.  Its excludes match the
  source path as given, not the path relative to it.
- s3cmd: ``sync --no-check-md5`` compares size only; ``-F`` follows symlinks;
  it skips directory loops itself (with a warning) and dangling symlinks
  silently; without ``--no-mime-magic`` libmagic sniffs the content (an empty
  .txt became ``inode/x-empty``).  One upload at a time: SYNC_CONCURRENCY does
  not apply.

Without overwrite (the catch-up pass after the switch, when the site already
writes new uploads into the bucket) an existing object is never replaced, even
when its size differs: rclone ``--ignore-existing``; s5cmd ``cp -n`` (its
``sync`` has no no-clobber flag; ``cp -n`` HEADs each destination key);
s3cmd ``sync --skip-existing``.

Every command line of a tool gets the retry policy's flags (:func:`with_retry_flags`, ``deploy.retry``:
STORE_RETRY_ATTEMPTS tries of one request):

- rclone ``--low-level-retries N``: its SDK's attempts at one request (listings, HEADs, GETs, the parts of
  a multipart upload), and its tries of one file: a single-part upload streams the file, so its SDK gets
  one attempt ("exceeded maximum number of attempts, 1"), and on a 503 or a reset rclone opens the file
  again and sends it again ("low level retry 1/N", measured with rclone 1.75.2 against a store answering
  503 SlowDown); ``--retries 1``: rclone never repeats a whole pass (the bucket listed and compared
  again: minutes at 100,000 files).  A file it still failed after N tries is named on its error line,
  and ``deploy.sync.resend`` sends exactly those files again, by list, after a longer backoff.
- s5cmd ``--retry-count N-1`` (retries, a global flag: before the subcommand); its own retryer takes
  SlowDown, InternalError, resets and timeouts.
- s3cmd ``--max-retries=N-1`` (retries; it waits 3 s, 6 s, ... between them, and says each on a WARNING
  line, which ``deploy.sync.output`` counts).
"""

from __future__ import annotations

import re
import shlex
from typing import Iterable

from ..config.paths import shell_path
from ..config.types import Settings
from ..errors import PreflightError
from .tools import PROFILE, binary, no_line_breaks, tool_spec

_q = shlex.quote


# --- the upload command ---------------------------------------------------------------------

def destination_url(settings: Settings) -> str:
    return f"s3://{settings.bucket}/{settings.media_prefix}/"


def rclone_root(settings: Settings) -> str:
    """The prefix as rclone's remote root, with its trailing slash.

    Without it rclone first HEADs the key ``PREFIX`` itself to find out whether
    the root is a file; a key scoped to ``PREFIX/*`` gets 403 there (AWS and
    SeaweedFS alike), and with ``--s3-no-head`` rclone then takes the root for a
    file: "is a file not a directory" on an empty prefix.
    """
    return _q(f"dest:{settings.bucket}/{settings.media_prefix}/")


def upload_command(settings: Settings, config_path: str, exclude: Iterable[str] = (), *,
                   overwrite: bool = True, files_from: str | None = None) -> str:
    """The tool's command line: copies MEDIA_ROOT to the bucket, never deletes, never a secret.

    With ``overwrite`` an object whose size differs is replaced; without, an
    existing object is never replaced.  With ``files_from`` (a file on the media
    host of paths relative to MEDIA_ROOT, one a line: a delta pass) only those
    are copied, and neither side is listed (rclone only: ``supports_lists``).
    """
    no_line_breaks("CACHE_CONTROL", settings.cache_control or "")
    excluded = [relative_exclude(path) for path in exclude]
    spec = tool_spec(settings.sync_tool)
    source = shell_path(settings.media_root.rstrip("/") + "/")
    config = shell_path(config_path)
    if files_from is not None:
        check_lists(spec.name)
        words = _rclone(settings, config, source, [], overwrite) + rclone_list(files_from)
        return " ".join([*launcher(settings, spec), *words])
    builders = {"rclone": _rclone, "s5cmd": _s5cmd, "s3cmd": _s3cmd}
    words = builders[spec.name](settings, config, source, excluded, overwrite)
    return " ".join([*launcher(settings, spec), *words])


def supports_lists(tool: str) -> bool:
    """Can the tool copy an exact list of files without listing either side?  rclone's
    ``--files-from-raw`` with ``--no-traverse`` can; s5cmd and s3cmd compare whole trees, so a delta
    pass with them falls back to a full pass (``deploy.media.delta``)."""
    return tool_spec(tool).name == "rclone"


def check_lists(tool: str) -> None:
    if not supports_lists(tool):
        raise ValueError(f"{tool} cannot copy a list of files: check supports_lists first")


def rclone_list(files_from: str) -> list[str]:
    # --no-traverse: each listed file is looked up on the other side by name, no listing of it;
    # --files-from-raw: the lines are paths as they are (no comments, no trimming).
    no_line_breaks("files_from", files_from)
    return ["--files-from-raw", shell_path(files_from), "--no-traverse"]


def _rclone(settings: Settings, config: str, source: str, excluded: list[str], overwrite: bool) -> list[str]:
    words = ["copy", source, rclone_root(settings),
             "--config", config, "--size-only", "--copy-links",
             *([] if overwrite else ["--ignore-existing"]),
             "--transfers", str(settings.sync_concurrency), "--checkers", str(settings.sync_concurrency),
             # No HEAD after each PUT (-30 % on small files, measured): the PUT's ETag is still
             # checked, and the cutover compares every key and size once the sites are healthy.  No --fast-list:
             # it holds the whole listing in memory (~1 KB an object) for no gain measured here.
             "--s3-no-check-bucket", "--s3-no-head",
             "--stats", "1s", "--stats-one-line", "--stats-log-level", "NOTICE", "--use-json-log"]
    if settings.cache_control:
        words += ["--header-upload", _q(f"Cache-Control: {settings.cache_control}")]
    return words + rclone_excludes(excluded)


def rclone_excludes(excluded: list[str]) -> list[str]:
    words = []
    for path in excluded:
        # Anchored at the root; the /** form keeps rclone from walking into the directory at all.
        words += ["--exclude", _q("/" + _rclone_glob_escape(path)),
                  "--exclude", _q("/" + _rclone_glob_escape(path) + "/**")]
    return words


def _s5cmd(settings: Settings, config: str, source: str, excluded: list[str], overwrite: bool) -> list[str]:
    if excluded:
        raise PreflightError(
            f"s5cmd cannot leave out {len(excluded)} path(s) such as {excluded[0]!r}: it follows "
            "symlinks, and a symlink loop aborts its walk even when excluded (and it still exits 0). "
            "Use SYNC_TOOL=rclone or s3cmd, or remove the loops")
    # `sync` has no no-clobber flag; `cp -n` walks the same way but skips every existing key.
    copy = ["sync", "--size-only"] if overwrite else ["cp", "-n"]
    words = s5cmd_global_flags(settings, config) + [*copy, "--destination-region", _q(settings.region)]
    if settings.cache_control:
        words += ["--cache-control", _q(settings.cache_control)]
    return words + [source, _q(destination_url(settings))]


def s5cmd_global_flags(settings: Settings, config: str) -> list[str]:
    words = ["--credentials-file", config, "--profile", PROFILE]
    if settings.endpoint_url:
        words += ["--endpoint-url", _q(settings.endpoint_url)]
    return words + ["--numworkers", str(settings.sync_concurrency), "--json"]


def _s3cmd(settings: Settings, config: str, source: str, excluded: list[str], overwrite: bool) -> list[str]:
    words = ["-c", config, "sync", "--follow-symlinks", "--no-check-md5", "--no-delete-removed",
             *([] if overwrite else ["--skip-existing"]),
             "--no-preserve", "--guess-mime-type", "--no-mime-magic", "--no-progress", "--stats"]
    if settings.cache_control:
        words.append(_q(f"--add-header=Cache-Control:{settings.cache_control}"))
    for path in excluded:
        words.append(_q(f"--rexclude=^{re.escape(path)}(/|$)"))
    return words + [source, _q(destination_url(settings))]


# --- the retry policy's flags ----------------------------------------------------------------

def retry_flags(settings: Settings) -> list[str]:
    """The tool's flags for the retry policy (``deploy.retry``): how often it tries one request."""
    attempts = settings.store_retry_attempts
    return {"rclone": ["--low-level-retries", str(attempts), "--retries", "1"],
            "s5cmd": ["--retry-count", str(attempts - 1)],
            "s3cmd": [f"--max-retries={attempts - 1}"]}[tool_spec(settings.sync_tool).name]


def with_retry_flags(settings: Settings, command: str) -> str:
    """``command`` (one of the command lines of this module or of ``deploy.sync.download_commands``, for the
    configured tool) with :func:`retry_flags`: after the binary for s5cmd (its global flags come before the
    subcommand), at the end for rclone and s3cmd (they read options anywhere)."""
    spec = tool_spec(settings.sync_tool)
    flags = " ".join(retry_flags(settings))
    if spec.name != "s5cmd":
        return f"{command} {flags}"
    executable = binary(settings, spec) + " "
    if executable not in command:
        raise ValueError("not an s5cmd command line of deploy.sync.commands or download_commands: "
                         "no retry flags for it")
    return command.replace(executable, executable + flags + " ", 1)


# --- reclaim's proof -------------------------------------------------------------------------

def md5sum_command(settings: Settings, output_path: str, exclude: Iterable[str] = ()) -> str:
    """``rclone md5sum`` of every file under MEDIA_ROOT, on the media host: ``<md5>  <path>`` lines, every
    byte read once on every core (``--checkers``).  ``--copy-links`` as the upload: a symlinked file is
    hashed as the content it was uploaded with.  Local only: no credentials, no request to the store.
    Always rclone, whatever SYNC_TOOL says.  The lines go to ``output_path`` on the host (read back once
    it is done: streamed over SSH they cost the operator's side as much CPU as the hashing); the exit
    code is printed, ``rclone-exit N``: a file it could not read is named on stderr and has no line,
    which keeps it on disk."""
    spec = tool_spec("rclone")
    words = ["md5sum", shell_path(settings.media_root.rstrip("/") + "/"), "--config", "/dev/null", "--copy-links",
             "--checkers", str(max(2, settings.sync_concurrency // 8)),
             *rclone_excludes([relative_exclude(path) for path in exclude])]
    no_line_breaks("md5sum output", output_path)
    return " ".join([*launcher(settings, spec), *words]) + f" > {shell_path(output_path)}; echo rclone-exit $?"


# --- small helpers ---------------------------------------------------------------------------

def launcher(settings: Settings, spec) -> list[str]:
    """The tool's executable, at a lower CPU priority; s5cmd with its region in the environment (not a secret).

    ``nice``: the copies run beside the live site on its own cores, and the site's
    new workers must start at once after a reload while the catch-up runs (at
    100,000 files the sites took 12-30 s to answer while full passes ran).

    Without a region in its session, s5cmd asks the bucket for it first (HEAD
    bucket), whatever --destination-region says; a key scoped to the prefix gets
    403 there, and s5cmd logs an ERROR (and goes on), which we must count as a
    failure, since s5cmd exits 0 on real errors too.
    """
    if spec.name == "s5cmd":
        return [*NICE, "env", f"AWS_REGION={_q(settings.region)}", binary(settings, spec)]
    return [*NICE, binary(settings, spec)]


NICE = ["nice", "--adjustment=10"]


def relative_exclude(path: str) -> str:
    """An exclude: a relative path below MEDIA_ROOT, as the manifest reports it."""
    clean = path.strip("/")
    if (not clean or path.startswith("/") or any(part in ("", ".", "..") for part in clean.split("/"))
            or "\n" in clean or "\0" in clean):
        raise ValueError(f"exclude {path!r} is not a relative path below MEDIA_ROOT (like a/b/loop)")
    return clean


def _rclone_glob_escape(path: str) -> str:
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", path)
