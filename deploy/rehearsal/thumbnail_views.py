"""Thumbnails on the first views after a change-over: how many each library made again, and the bucket's writes.

After each phase of the rehearsal, every host's THUMBNAIL_PAGES (pages that render thumbnails) are
viewed once, and what that made is counted:

- regenerations, from the site's database through the media host's site (the storage probe, which
  reads easy_thumbnails' Thumbnail rows and sorl-thumbnail's key-value store): rows made by the views;
- bucket writes (PUT), from the bucket: objects under the prefix written since the views began that
  are not the traffic's uploads.  HEADs and GETs are not counted: no store says, only its logs.

A library not installed is None; 0 made is the goal, and easy_thumbnails must make 0.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urljoin

from ..config.redact import url_shown
from ..config.types import Settings
from ..remote.ssh import connect
from ..remote.ssh import run as remote_run
from ..site.facts import thumbnails
from ..site.ops.storage import command_for
from ..site.facts.storage import parse_report
from ..store.client import s3_client
from ..store.probe import anonymous_get
from ..media.compare import object_key

IMAGE = re.compile(r"""<img\b[^>]*\bsrc=["']([^"']+)["']""", re.I)


@dataclass
class FirstViews:
    phase: str
    pages: int = 0
    linked: int = 0                      # thumbnail URLs the pages rendered
    failed: list[str] = field(default_factory=list)  # of them, those that did not answer 200
    easy_made: int | None = None         # easy_thumbnails' Thumbnail rows the views made
    sorl_made: int | None = None         # sorl-thumbnail's thumbnails the views made
    bucket_writes: int | None = None     # objects the views wrote to the bucket (PUT)

    def summary(self) -> str:
        made = ", ".join(f"{name} made {count}" for name, count in (("easy_thumbnails", self.easy_made),
                                                                   ("sorl-thumbnail", self.sorl_made))
                         if count is not None) or "no thumbnail library"
        writes = "" if self.bucket_writes is None else f", {self.bucket_writes} bucket writes (PUT)"
        return (f"{self.phase}: {self.pages} pages viewed, {self.linked} thumbnails linked "
                f"({len(self.failed)} failed); {made}{writes}")


def thumbnail_checks(views: list[FirstViews]) -> list[dict]:
    """The report's checks: every thumbnail the pages link answers; easy_thumbnails makes none again."""
    checks = []
    for seen in views:
        checks.append({"name": f"thumbnails answer on the first views after the {seen.phase}", "ok": not seen.failed,
                       "detail": f"{seen.linked} linked on {seen.pages} pages, {len(seen.failed)} failed"
                                 + (f" ({', '.join(seen.failed[:3])})" if seen.failed else "")})
        if seen.easy_made is not None:
            checks.append({"name": f"easy_thumbnails makes no thumbnail again after the {seen.phase}",
                           "ok": seen.easy_made == 0, "detail": seen.summary()})
    return checks


def configured(settings: Settings) -> bool:
    return any(host.thumbnail_pages for host in settings.hosts) and bool(settings.host(settings.media_host).manage_py)


def first_views(settings: Settings, phase: str, uploaded: Callable[[], set[str]], marker: str) -> FirstViews:
    """View every host's THUMBNAIL_PAGES once and count what that made; ``uploaded``: the traffic's names
    so far (asked after the views: the traffic goes on meanwhile), ``marker``: in every name it uploads
    (the rehearsal's run id), for the uploads still on their way when the bucket is listed."""
    seen = FirstViews(phase)
    before = _made_so_far(settings)
    began = time.time()
    for host in settings.hosts:
        for path in host.thumbnail_pages:
            seen.pages += 1
            status, body = _get(host.site_url + path)
            if status != 200:
                seen.failed.append(f"{host.alias} {path}: {status}")
                continue
            for src in IMAGE.findall(body.decode("utf-8", "replace")):
                seen.linked += 1
                url = urljoin(host.site_url + path, src)
                if _get(url)[0] != 200:
                    seen.failed.append(url_shown(url))   # a private storage's thumbnails are signed
    after = _made_so_far(settings)
    seen.easy_made = None if before[0] is None else after[0] - before[0]
    seen.sorl_made = None if before[1] is None else after[1] - before[1]
    seen.bucket_writes = _written_since(settings, began - 1, uploaded(), marker)  # LastModified: whole seconds
    return seen


def _made_so_far(settings: Settings) -> tuple[int | None, int | None]:
    host = settings.host(settings.media_host)
    with connect(settings, host.alias) as connection:
        output = remote_run(connection, command_for(settings, host), "counting the site's thumbnails", timeout=120)
    report = thumbnails.report_of(parse_report(output, host.alias).thumbnails or {}, host.alias)
    return (report.easy.thumbnail_rows if report.easy.installed else None,
            report.sorl.thumbnails if report.sorl.installed else None)


def _written_since(settings: Settings, since: float, uploaded: set[str], marker: str) -> int:
    client, prefix = s3_client(settings), settings.media_prefix + "/"
    uploads = {object_key(settings.media_prefix, name) for name in uploaded}
    written = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=prefix):
        written += sum(1 for item in page.get("Contents", []) if item["LastModified"].timestamp() >= since
                       and item["Key"] not in uploads and marker not in item["Key"])
    return written


def _get(url: str) -> tuple[int, bytes]:
    status, body, _ = anonymous_get(url, timeout=60)  # a page may make its thumbnails: it takes a while
    return status, body
