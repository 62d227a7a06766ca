"""What the site's thumbnail libraries mean for a switch: what refuses it, what sorl-thumbnail's first views
cost, how easy_thumbnails' rows move, and the lines people read.

Pure: plain functions over the reports ``deploy.site.facts.thumbnails`` reads from the script.
"""

from __future__ import annotations

import posixpath

from .thumbnails import (ACCEPT_FLAG, S3_BACKEND, EasyMigration, SorlCost, ThumbnailReport, storage_hash)


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
