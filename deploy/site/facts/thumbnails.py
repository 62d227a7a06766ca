"""The site's thumbnail libraries (easy_thumbnails, sorl-thumbnail, django-filer): the script's command lines
and its reports (``deploy.site.facts.thumbnail_plan`` judges them).

Pure: this module builds the command lines and reads what the script prints; the
SSH adapter runs them.  The script (``deploy/site/programs/thumbnail_tool.py`` with the rows' part,
``thumbnail_rows.py``) runs inside the site through ``manage.py shell -c`` under its settings
module (``site_python.manage_shell``), so it sees the storages, the database and the library versions
the running site sees.

- easy_thumbnails keys its rows by ``storage_hash``, the md5 of the storage's class path
  (``easy_thumbnails.utils.get_storage_hash``; :func:`storage_hash` is the same computation):
  moved to the new storage's hash at the switch (``thumbnail_plan.easy_migration``), nothing regenerates.
- sorl-thumbnail names its files after the source storage's class path: every name changes at a
  switch and each thumbnail is made again on first view; ``thumbnail_plan.sorl_cost_problem`` states what that
  costs before anything changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Sequence

from ...config.types import HostSettings
from ...errors import PreflightError, RemoteError
from ..site_python import program, site_shell

MARKER = "MEDIA-CUTOVER-THUMBNAILS "
S3_BACKEND = "storages.backends.s3.S3Storage"
SCRIPT_FILES = ("thumbnail_rows.py", "thumbnail_tool.py")  # in this order: the tool uses the rows' part
ACCEPT_FLAG = "--accept-thumbnail-regeneration"


def storage_hash(backend: str) -> str:
    """easy_thumbnails' ``storage_hash`` of a storage class path: ``md5('module.ClassName')``."""
    return hashlib.md5(backend.encode("utf-8"), usedforsecurity=False).hexdigest()


S3_HASH = storage_hash(S3_BACKEND)


# --- command lines -------------------------------------------------------------------------------

def script_text() -> str:
    """Both parts of the script, the rows' first (the storage probe runs ``detect`` from this text)."""
    return "\n".join(program(name) for name in SCRIPT_FILES)


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
