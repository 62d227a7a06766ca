"""The site's thumbnail libraries (easy_thumbnails, sorl-thumbnail): the script's command lines, its reports, their judging.

Pure: this module builds the command lines and reads and judges what the script prints; the
SSH adapter runs them.  The script (``deploy/remote/scripts/thumbnails.py`` with the rows' part,
``thumbnail_rows.py``) runs inside the site through ``manage.py shell -c`` under its settings
module (``commands.manage_shell``), so it sees the storages, the database and the library versions
the running site sees.

- easy_thumbnails keys its rows by ``storage_hash``, the md5 of the storage's class path
  (``easy_thumbnails.utils.get_storage_hash``; :func:`storage_hash` is the same computation):
  moved to the new storage's hash at the switch (:func:`easy_migration`), nothing regenerates.
- sorl-thumbnail names its files after the source storage's class path: every name changes at a
  switch and each thumbnail is made again on first view; :func:`sorl_cost_problem` states what that
  costs before anything changes.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..config.types import HostSettings
from ..errors import PreflightError, RemoteError
from .commands import site_shell

MARKER = "MEDIA-CUTOVER-THUMBNAILS "
S3_BACKEND = "storages.backends.s3.S3Storage"
SCRIPTS = Path(__file__).resolve().parent.parent / "remote" / "scripts"
SCRIPT_FILES = ("thumbnail_rows.py", "thumbnails.py")  # in this order: thumbnails.py uses the rows' part
ACCEPT_FLAG = "--accept-thumbnail-regeneration"


def storage_hash(backend: str) -> str:
    """easy_thumbnails' ``storage_hash`` of a storage class path: ``md5('module.ClassName')``."""
    return hashlib.md5(backend.encode("utf-8"), usedforsecurity=False).hexdigest()


S3_HASH = storage_hash(S3_BACKEND)


# --- command lines -------------------------------------------------------------------------------

def script_text() -> str:
    """Both parts of the script, the rows' first (the storage probe runs ``detect`` from this text)."""
    return "\n".join((SCRIPTS / name).read_text(encoding="utf-8") for name in SCRIPT_FILES)


def script(arguments: Sequence[str]) -> str:
    """The text ``manage.py shell -c`` runs: both parts of the script, then ``main(arguments)``."""
    return f"{script_text()}\nraise SystemExit(main({[str(argument) for argument in arguments]!r}))\n"


def command(host: HostSettings, arguments: Sequence[str], env_file: str | None = None,
            switch_name: str = "USE_S3") -> str:
    """The script under the site's settings module; with ``env_file``, loaded first as the storage probe does."""
    return site_shell(host, script(arguments), switch_name, env_file)


def record_path(tools_dir: str, run_id: str) -> str:
    """Where a run keeps, on the host, the record of the easy_thumbnails rows it changed."""
    return f"{tools_dir.rstrip('/')}/thumbnails/{run_id}-easy-rows.json"


@dataclass(frozen=True)
class EasyMigration:
    """easy_thumbnails' rows from one storage's hashes to another's: sources, then their thumbnails."""

    from_hash: str
    to_hash: str
    thumbnails_from_hash: str
    thumbnails_to_hash: str

    @property
    def noop(self) -> bool:
        return self.from_hash == self.to_hash and self.thumbnails_from_hash == self.thumbnails_to_hash

    def reversed(self) -> EasyMigration:
        return EasyMigration(self.to_hash, self.from_hash, self.thumbnails_to_hash, self.thumbnails_from_hash)

    def arguments(self, record: str) -> list[str]:
        return ["migrate-easy", "--from-hash", self.from_hash, "--to-hash", self.to_hash,
                "--thumbnails-from-hash", self.thumbnails_from_hash, "--thumbnails-to-hash",
                self.thumbnails_to_hash, "--record", record]


def detect_command(host: HostSettings, env_file: str | None = None, switch_name: str = "USE_S3") -> str:
    return command(host, ["detect"], env_file, switch_name)


def migrate_command(host: HostSettings, migration: EasyMigration, record: str, env_file: str | None = None,
                    switch_name: str = "USE_S3") -> str:
    return command(host, migration.arguments(record), env_file, switch_name)


def restore_command(host: HostSettings, record: str, env_file: str | None = None, switch_name: str = "USE_S3") -> str:
    return command(host, ["restore-easy", "--record", record], env_file, switch_name)


def sorl_cost_command(host: HostSettings, sample: int = 20) -> str:
    return command(host, ["sorl-cost", "--sample", str(sample)])


# --- reports -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Storage:
    backend: str
    local: bool
    location: str | None = None
    bucket: str | None = None
    url: str | None = None
    hash: str | None = None

    @classmethod
    def read(cls, data: dict | None) -> Storage | None:
        return None if data is None else cls(**{name: data.get(name) for name in cls.__dataclass_fields__})

    @property
    def short(self) -> str:
        return self.backend.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class EasyThumbnails:
    installed: bool
    version: str | None = None
    error: str | None = None
    alias: str | None = None
    alias_in_storages: bool = False
    storage: Storage | None = None       # where it writes thumbnails, with its storage_hash
    source_hash: str | None = None       # the default storage's hash: the sources' rows
    legacy_setting: str | None = None    # THUMBNAIL_DEFAULT_STORAGE, read by nothing since 2.10
    check_cache_miss: bool = False
    sources: dict[str, int] = field(default_factory=dict)      # rows per storage_hash
    thumbnails: dict[str, int] = field(default_factory=dict)
    dimensions: int | None = None
    mismatch: str | None = None

    @property
    def source_rows(self) -> int:
        return sum(self.sources.values())

    @property
    def thumbnail_rows(self) -> int:
        return sum(self.thumbnails.values())


@dataclass(frozen=True)
class Sorl:
    installed: bool
    version: str | None = None
    error: str | None = None
    setting: str | None = None           # THUMBNAIL_STORAGE: an alias or a class path
    storage: Storage | None = None
    kvstore: str | None = None
    prefix: str | None = None
    rows: int = 0
    images: int = 0
    thumbnails: int = 0
    live_thumbnails: int = 0             # made under the storage class in force now
    thumbnail_files: int | None = None   # files under the prefix, where the storage is on disk
    mismatch: str | None = None


@dataclass(frozen=True)
class Filer:
    """django-filer (it makes thumbnails with easy_thumbnails): its public files' and thumbnails' storages."""

    installed: bool
    version: str | None = None
    error: str | None = None
    files: Storage | None = None
    thumbnails: Storage | None = None
    mismatch: str | None = None


@dataclass(frozen=True)
class ThumbnailReport:
    host: str
    django: str
    settings_module: str | None
    default: Storage
    easy: EasyThumbnails
    sorl: Sorl
    filer: Filer = Filer(installed=False)


def _marked(output: str, host: str, what: str, error: type[Exception]) -> dict:
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            if data.get("error"):
                raise error(f"{host}: {what} failed: {data['error']}")
            return data
    tail = " | ".join(output.strip().splitlines()[-3:]) or "no output"
    raise error(f"{host}: {what} printed no report ({tail})")


def _library(cls, data: dict):
    values = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
    for name in ("files", "thumbnails") if cls is Filer else ("storage",):  # easy's and sorl's thumbnails: counts
        if name in values:
            values[name] = Storage.read(values[name])
    return cls(**values)


def parse_report(output: str, host: str) -> ThumbnailReport:
    return report_of(_marked(output, host, "the thumbnail check", PreflightError), host)


def report_of(data: dict, host: str) -> ThumbnailReport:
    """The report from ``detect``'s data (its own line, or the storage probe's "thumbnails")."""
    if data.get("error"):
        raise PreflightError(f"{host}: the thumbnail check failed: {data['error']}")
    return ThumbnailReport(host=host, django=data["django"], settings_module=data.get("settings_module"),
                           default=Storage.read(data["default"]), easy=_library(EasyThumbnails, data["easy_thumbnails"]),
                           sorl=_library(Sorl, data["sorl"]), filer=_library(Filer, data.get("filer") or {"installed": False}))


@dataclass(frozen=True)
class RowsChange:
    """What ``migrate-easy`` or ``restore-easy`` changed on one host."""

    host: str
    command: str
    changed: bool
    counts: dict[str, int]
    record: str

    def summary(self) -> str:
        if not self.changed:
            return f"{self.host}: easy_thumbnails rows: nothing to change"
        words = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in self.counts.items() if count)
        return f"{self.host}: easy_thumbnails rows {'moved' if self.command == 'migrate-easy' else 'put back'}: " \
               f"{words} (record {self.record})"


def parse_rows_change(output: str, host: str) -> RowsChange:
    data = _marked(output, host, "moving easy_thumbnails' rows", RemoteError)
    return RowsChange(host, data["command"], data["changed"], data["counts"], data["record"])


@dataclass(frozen=True)
class SorlCost:
    host: str
    regenerate: int
    sources: int
    requests: dict[str, int]
    orphaned_rows: int
    dead_count: int
    dead_sample: list[str]
    prefix: str | None


def parse_sorl_cost(output: str, host: str) -> SorlCost:
    return sorl_cost_of(_marked(output, host, "the sorl-thumbnail count", PreflightError), host)


def sorl_cost_of(data: dict, host: str) -> SorlCost:
    return SorlCost(host, data["regenerate"], data["sources"], data["requests"], data["orphaned_rows"],
                    data["dead"]["count"], data["dead"]["sample"], data["sorl"].get("prefix"))


# --- judging -------------------------------------------------------------------------------------

def problems(report: ThumbnailReport, media_root: str | None = None) -> list[str]:
    """Why the thumbnails would not follow the media; [] when they do.  Each line names the host."""
    host, easy, sorl, found = report.host, report.easy, report.sorl, []
    for name, library in (("easy_thumbnails", easy), ("sorl-thumbnail", sorl), ("django-filer", report.filer)):
        if library.error:
            found.append(f"{host}: {name} is in INSTALLED_APPS but does not load ({library.error}): fix the "
                         "site's environment first")
        if library.mismatch:
            found.append(f"{host}: {library.mismatch}")
    filer = report.filer
    for part, storage in (("main", filer.files), ("thumbnails", filer.thumbnails)):
        if filer.installed and storage and not storage.local and storage.bucket is None:
            found.append(f"{host}: django-filer's FILER_STORAGES['public'][{part!r}] is a {storage.short} without a bucket: "
                         "filer builds its storages from STORAGES['default']['BACKEND'] but not its OPTIONS, so every "
                         "filer upload and thumbnail would fail; set the AWS_* settings (AWS_STORAGE_BUCKET_NAME, "
                         "AWS_LOCATION, ...) inside the switch's block, or FILER_STORAGES' OPTIONS")
            break
    if easy.installed and easy.legacy_setting and easy.storage and easy.legacy_setting != easy.storage.backend:
        found.append(f"{host}: THUMBNAIL_DEFAULT_STORAGE = {easy.legacy_setting!r} is read by nothing in "
                     f"easy-thumbnails 2.10 and later: thumbnails go to {easy.storage.backend} (alias "
                     f"{easy.alias!r}); set STORAGES[{easy.alias!r}] instead, or drop the line")
    if (easy.installed and easy.storage and easy.storage.local and media_root and media_root.startswith("/")
            and not _under(easy.storage.location or "", media_root)):
        found.append(f"{host}: easy_thumbnails keeps its thumbnails in {easy.storage.location}, outside MEDIA_ROOT "
                     f"({media_root}): the upload would not carry them and their moved rows would point at nothing; "
                     "set THUMBNAIL_MEDIA_ROOT to '' (MEDIA_ROOT) or upload that directory too")
    return found


def _under(path: str, root: str) -> bool:
    path, root = posixpath.normpath(path), posixpath.normpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def sorl_cost_problem(cost: SorlCost, accepted: bool, flag: str = ACCEPT_FLAG) -> str | None:
    """The cost of sorl's first views after a switch, stated before anything changes; None when accepted or nil."""
    if not cost.regenerate or accepted:
        return None
    requests = cost.requests
    return (f"{cost.host}: sorl-thumbnail: {cost.regenerate} thumbnails of {cost.sources} images will be made again "
            f"on first view after the switch, about {requests['total']} requests to the bucket ({requests['HEAD']} "
            f"HEAD, {requests['PUT']} PUT, {requests['GET']} GET), and their {cost.dead_count} old files under "
            f"{cost.prefix} are left unused (never deleted); run again with {flag} to go on")


def sorl_cost_lines(cost: SorlCost) -> list[str]:
    """What sorl-thumbnail's first views will cost, once accepted; the dead names counted, never deleted."""
    if not cost.regenerate:
        return [f"{cost.host}: sorl-thumbnail: no thumbnail in use to make again"]
    sample = ", ".join(cost.dead_sample[:3]) + (", ..." if cost.dead_count > 3 else "")
    return [f"{cost.host}: sorl-thumbnail: {cost.regenerate} thumbnails of {cost.sources} images will be made "
            f"again on first view after the switch, about {cost.requests['total']} requests to the bucket "
            f"(accepted: {ACCEPT_FLAG})",
            f"{cost.host}: sorl-thumbnail: {cost.dead_count} old thumbnail files under {cost.prefix} go out of use "
            f"and are left as they are, never deleted ({sample}; the first 20 names in the run's journal)"]


def easy_migration(before: ThumbnailReport, after: ThumbnailReport) -> EasyMigration | None:
    """The move from what the site selected before the flip to what it selects after; None when nothing moves."""
    if not (before.easy.installed and after.easy.installed and before.easy.storage and after.easy.storage):
        return None
    migration = EasyMigration(before.easy.source_hash, after.easy.source_hash,
                              before.easy.storage.hash, after.easy.storage.hash)
    return None if migration.noop else migration


def planned_migration(before: ThumbnailReport, to_backend: str = S3_BACKEND) -> EasyMigration | None:
    """For the dry run, before any flip: both hashes to ``to_backend``'s (the snippet's alias follows the default)."""
    if not (before.easy.installed and before.easy.storage):
        return None
    migration = EasyMigration(before.easy.source_hash, storage_hash(to_backend), before.easy.storage.hash,
                              storage_hash(to_backend))
    return None if migration.noop else migration


def summary_lines(report: ThumbnailReport, to_backend: str = S3_BACKEND) -> list[str]:
    """One line a library, for the preflight and the dry run."""
    host, easy, sorl, lines = report.host, report.easy, report.sorl, []
    if easy.installed and easy.storage:
        where = (f"alias {easy.alias!r}" if easy.alias_in_storages else
                 f"alias {easy.alias!r} (not in STORAGES: the default storage)")
        line = (f"{host}: easy_thumbnails {easy.version}: {where} -> {easy.storage.backend}, "
                f"{easy.source_rows} sources, {easy.thumbnail_rows} thumbnails")
        others = sum(count for hash_, count in easy.sources.items() if hash_ != easy.source_hash)
        line += f" ({others} source rows of other storages)" if others else ""
        migration = planned_migration(report, to_backend)
        if migration and easy.sources.get(easy.source_hash):
            line += f"; rows will be moved to the hash of {to_backend.rsplit('.', 1)[-1]} at the switch"
        lines.append(line)
    if sorl.installed and sorl.storage:
        files = f", {sorl.thumbnail_files} files under {sorl.prefix}" if sorl.thumbnail_files is not None else ""
        lines.append(f"{host}: sorl-thumbnail {sorl.version}: THUMBNAIL_STORAGE {sorl.setting!r} -> "
                     f"{sorl.storage.backend}, {sorl.rows} key-value rows ({sorl.images} images, {sorl.thumbnails} "
                     f"thumbnails, {sorl.live_thumbnails} in use){files}"
                     + ("; every thumbnail name changes at the switch" if sorl.live_thumbnails else ""))
    filer = report.filer
    if filer.installed and filer.files and filer.thumbnails:
        lines.append(f"{host}: django-filer {filer.version}: files -> {filer.files.backend}"
                     + (f" (bucket {filer.files.bucket})" if not filer.files.local else "")
                     + f", thumbnails (easy_thumbnails) -> {filer.thumbnails.backend}: FILER_STORAGES follows "
                       "STORAGES['default']'s backend, with OPTIONS of its own")
    if not lines:
        lines.append(f"{host}: no thumbnail library (easy_thumbnails, sorl-thumbnail) in INSTALLED_APPS")
    return lines
