"""HTTP checks of the sites: health in the expected storage mode (the media URLs that fetch: ``served``).

Two sources tell which storage a site serves from:

- its health URL (HEALTH_URL, or SITE_URL/healthz when no check pages are configured), a JSON view
  saying ``{"storage": "s3"|"disk"}``;
- the pages it renders (MEDIA_CHECK_PATHS, or MEDIA_LIST_PATH, its alias): HTML or JSON, read with
  ``deploy.site.facts.health``.  A URL is media when it is under the disk MEDIA_URL (SITE_URL + the site's
  own MEDIA_URL on disk: ``settings.disk_media_url``, which the flows fill from the settings probe where
  DISK_MEDIA_URL does not set it) or under ``settings.media_base_url`` (the custom domain's or the bucket's
  URL, + AWS_LOCATION + /); every other URL (a
  stylesheet, a footer link) is ignored.  A page with bucket URLs shows "s3", its disk-form URLs counted
  as content references (rich text and JSON store URLs literally); one with disk URLs only shows "disk";
  while waiting for disk, one with both shows "mixed".  A page with no media URL at all is a
  configuration problem, not health.

The health URL, when there is one, answers the wait (it is quicker); the pages, when there are any,
are what the media checks (``deploy.site.ops.served``) fetch from.  An answer is said as it came ("HTTP 403
AccessDenied: Access Denied", "nothing (ConnectionRefusedError: ...)"); a media URL only through
``url_shown`` (a private site's are signed: bearer tokens).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ...config.types import HostSettings, Settings
from ...errors import HealthError
from ...retry import said_of
from ...store.probe import anonymous_get
from ..facts.health import USUAL_MEDIA_URL, MediaBases, PageMedia, urls_on_page

# Answers in a row that must agree: after a graceful reload old workers drain for a moment.
AGREEING_ANSWERS = 4
OTHER_MODE = {"s3": "disk", "disk": "s3"}
NOT_RELOADED = ("the site did not pick up the new settings: likely gunicorn runs with --preload (a HUP keeps "
                "the settings its master loaded) or the switch is read from the environment at start (an env "
                "file, a systemd EnvironmentFile); RELOAD_COMMAND must restart the site, not HUP it")


@dataclass(frozen=True)
class PageAnswer:
    """One check page as fetched: its status, the mode it shows and its media URLs."""

    url: str
    status: int
    storage: str = ""                     # "s3", "disk", "mixed", or "" (no media URL)
    media: list[str] = field(default_factory=list)
    said: str = ""                        # the answer for people: "HTTP 404", "nothing (ConnectionRefusedError...)"
    found: PageMedia = field(default_factory=PageMedia)  # its media URLs by storage
    path: str = ""


def media_bases(settings: Settings, host: HostSettings) -> MediaBases:
    """The site's media bases: S3's is ``settings.media_base_url`` (a custom domain's URLs are in the bucket)."""
    return MediaBases.of(host.site_url, settings.media_base_url, settings.disk_media_url or USUAL_MEDIA_URL)


def read_page(settings: Settings, host: HostSettings, path: str, timeout: float = 10,
              expected: str | None = None) -> PageAnswer:
    url = host.site_url + path
    status, body, headers = anonymous_get(url, timeout=timeout)
    if status != 200:
        return PageAnswer(url, status, said=said_of(status, body), path=path)
    bases = media_bases(settings, host)
    urls = urls_on_page(body, headers.get("Content-Type", ""), url)
    found = PageMedia.of(urls, bases)
    media = [url for url in urls if bases.storage_of(url)]
    return PageAnswer(url, status, found.storage(expected), media, found=found, path=path)


def no_media_problem(settings: Settings, host: HostSettings, page: PageAnswer) -> str:
    bases = media_bases(settings, host)
    return (f"{host.alias}: configuration problem, not health: {page.url} shows no media URL (expected URLs "
            f"under {bases.disk} on disk or {bases.bucket} on S3); MEDIA_CHECK_PATHS must name pages that "
            "show media")


def storage_of(host: HostSettings, settings: Settings | None = None,
               expected: str | None = None) -> tuple[int, str | None]:
    """(HTTP status, the storage the site shows): from its health URL, or else from its check pages
    (the first page that does not answer 200 gives the status; pages that disagree show "mixed";
    ``expected`` "disk": a page with bucket URLs beside disk ones shows "mixed")."""
    status, storage, _ = _storage_said(host, settings, expected)
    return status, storage


def _storage_said(host: HostSettings, settings: Settings | None,
                  expected: str | None = None) -> tuple[int, str | None, str]:
    """:func:`storage_of`, and the answer that decided it for people (a status other than 200, by name)."""
    if host.health_url:
        status, body, _ = anonymous_get(host.health_url, timeout=5)
        if status != 200:
            return status, None, said_of(status, body)
        try:
            return status, str(json.loads(body).get("storage")), "HTTP 200"
        except (ValueError, AttributeError):
            return status, "s3" if b"s3" in body.lower() else "disk", "HTTP 200"
    pages = _pages(settings, host, expected)
    if not pages:
        return 0, None, "nothing (no page to read)"
    seen = set()
    for page in pages:
        if page.status != 200:
            return page.status, None, page.said
        seen.add(page.storage)
    if "" in seen:  # a page without media URLs shows no mode at all
        return 200, "", "HTTP 200"
    return 200, ("mixed" if len(seen) > 1 else seen.pop()), "HTTP 200"


def wait_for_storage(host: HostSettings, storage: str, timeout: float, settings: Settings | None = None) -> float:
    """Poll until the site answers 200 in ``storage`` mode several times in a row; returns seconds.

    Without a health URL the site's check pages answer (``settings`` gives the bucket's URL).  A site still
    in the other mode at the end did not pick up its new settings, and the error says why that happens."""
    _source(host, settings)  # neither a health URL nor pages: a configuration problem, said at once
    begin = time.monotonic()
    agreeing, last, said = 0, (0, None), "nothing yet"
    while time.monotonic() - begin < timeout:
        status, seen, said = _storage_said(host, settings, storage)
        last = (status, seen)
        agreeing = agreeing + 1 if last == (200, storage) else 0
        if agreeing >= AGREEING_ANSWERS:
            return time.monotonic() - begin
        time.sleep(0.1)
    raise HealthError(timeout_message(host, storage, timeout, last, settings, said))


def mirror_of(host: HostSettings) -> bool | None:
    """Whether the site says it mirrors (its health URL's ``"mirror": true|false``); None when it does not say."""
    if not host.health_url:
        return None
    status, body, _ = anonymous_get(host.health_url, timeout=5)
    try:
        said = json.loads(body).get("mirror") if status == 200 else None
    except (ValueError, AttributeError):
        return None
    return said if isinstance(said, bool) else None


def wait_for_mirror(host: HostSettings, on: bool, timeout: float) -> bool:
    """Poll until the site's health says it mirrors as ``on`` several times in a row: True; False at once
    when it does not say (no health URL, or no "mirror" in its answer); HealthError when it says otherwise
    until ``timeout``."""
    begin, agreeing, said = time.monotonic(), 0, None
    while time.monotonic() - begin < timeout:
        said = mirror_of(host)
        if said is None and agreeing == 0:
            return False
        agreeing = agreeing + 1 if said is on else 0
        if agreeing >= AGREEING_ANSWERS:
            return True
        time.sleep(0.1)
    raise HealthError(f"{host.alias}: {host.health_url} still said mirror={said} {timeout:.0f} s after the reload, "
                      f"never {str(on).lower()}: {NOT_RELOADED}")


def timeout_message(host: HostSettings, storage: str, timeout: float, last: tuple[int, str | None],
                    settings: Settings | None = None, said: str = "") -> str:
    """Why a wait for ``storage`` ended: the last answer decides what to say (``said``: that answer for people,
    when it was no 200: "HTTP 503", "nothing (ConnectionRefusedError: ...)")."""
    status, seen = last
    where = host.health_url or ", ".join(host.site_url + path for path in host.media_check_paths)
    if status == 200 and seen == OTHER_MODE.get(storage):
        return (f"{host.alias}: {where} still showed storage={seen} (the old mode) {timeout:.0f} s after the "
                f"reload, never {storage}: {NOT_RELOADED}")
    if status == 200 and seen == "" and settings is not None:
        page = next((page for page in _pages(settings, host, storage) if page.status == 200 and not page.media),
                    None)
        if page is not None:
            return no_media_problem(settings, host, page)
    shown = {"mixed": "mixed (media URLs both on disk and in the bucket)"}.get(seen or "", seen)
    answer = said if said and status != 200 else f"HTTP {status}" if status else "nothing"
    return (f"{host.alias}: {where} did not report storage={storage} within {timeout:.0f} s "
            f"(last answer: {answer}, storage={shown})")


def health_problem(settings: Settings, host: HostSettings) -> str | None:
    """A preflight's look at where health comes from, before anything changes: None when there is a health
    URL or the check pages answer and show media URLs; else one line naming the configuration to fix."""
    if not host.health_url and not host.media_check_paths:
        return (f"{host.alias}: configuration problem: no HEALTH_URL and no MEDIA_CHECK_PATHS, so nothing can "
                "tell which storage the site serves from; set MEDIA_CHECK_PATHS to pages that show media")
    # A health URL is not probed here: one that does not answer fails the wait after the switch, and the
    # undo says what it restored and what it could not confirm (deploy.flows.reload).
    for page in _pages(settings, host):
        if page.status != 200:
            return (f"{host.alias}: configuration problem: the check page {page.url} answered {page.said}; "
                    "MEDIA_CHECK_PATHS must name pages the site serves")
        if not page.media:
            return no_media_problem(settings, host, page)
    return None


def media_urls(settings: Settings, host: HostSettings) -> list[str]:
    """The media URLs the site renders on its check pages, each once (empty if none are configured).

    A page that does not answer is a HealthError; one with no media URL a configuration problem."""
    return list(dict.fromkeys(url for page in checked_pages(settings, host) for url in page.media))


def checked_pages(settings: Settings, host: HostSettings, expected: str | None = None) -> list[PageAnswer]:
    pages = _pages(settings, host, expected)
    for page in pages:
        if page.status != 200:
            raise HealthError(f"{host.alias}: {page.url} answered {page.said}")
        if not page.media:
            raise HealthError(no_media_problem(settings, host, page))
    return pages


def _source(host: HostSettings, settings: Settings | None) -> None:
    if host.health_url:
        return
    if not host.media_check_paths:
        raise HealthError(f"{host.alias}: configuration problem: no HEALTH_URL and no MEDIA_CHECK_PATHS, so "
                          "nothing can tell which storage the site serves from")


def _pages(settings: Settings | None, host: HostSettings, expected: str | None = None) -> list[PageAnswer]:
    if host.media_check_paths and settings is None:
        raise HealthError(f"{host.alias}: reading the check pages needs the environment's settings (the "
                          "bucket's URL); this is a bug of the caller")
    return [read_page(settings, host, path, expected=expected) for path in host.media_check_paths]


__all__ = ["AGREEING_ANSWERS", "PageAnswer", "checked_pages", "health_problem", "media_bases", "media_urls",
           "storage_of", "timeout_message", "wait_for_storage"]
