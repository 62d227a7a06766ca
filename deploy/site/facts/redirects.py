"""Do the content's old media URLs redirect to the bucket?  What to ask, and how to judge it.

Pure.  `invoke settings-snippet --part=nginx|django-redirect` (``deploy.site.edits.old_media_redirect``)
answers an old media URL with the file from disk while it is there, else ``301`` to the URL the site's
storage gives its name.  Two checks read that (``deploy.site.ops.redirects`` asks, ``deploy.flows.old_urls``
decides):

- before a reclaim the files are still on disk (their URLs answer 200, from disk): a made-up name that
  no disk holds (``media-cutover-probe-<random>.jpg``) under the old media path must answer 301 to the
  storage's URL for it (the bucket has no such object: only the Location is read).  That proves the
  fallback is installed, without touching a file;
- after the removal, a sample of the content's old URLs (the find's examples, up to three a field) must
  answer 301 to the storage's URL for their name, and that URL 200.

Where: a relative URL (``/media/a.png``) is asked of every host, at its SITE_URL's scheme and host; an
absolute one on a host's SITE_URL host of that host (those hosts), one on another old host
(OLD_MEDIA_HOSTS) as it is.  Public media: 301 and 308 are permanent and pass; a temporary redirect (302,
307) does not: browsers and crawlers would keep asking the old URL, and the snippet prints 301.  Private
media (PUBLIC_MEDIA=false, the callers say so: ``signed``): the storage's URL is signed and expires, and the
printed view (the only part printed for them: nginx cannot sign) answers 302 to a freshly signed one; a
temporary (302, 307) or a permanent (301, 308) redirect passes, provided its Location's query is signed
(``X-Amz-Signature=`` or ``Signature=``): an unsigned URL answers 403 for a private file.  A Location is
compared with the storage's URL without its query string (a signed URL's signature changes with each
request), its path %-decoded; the target is fetched as given, its query with it (``ops.redirects``); every
URL a message shows loses its query string (``config.redact.url_shown``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urljoin, urlsplit

from ...config.redact import url_shown
from ...retry import said_of
from .content_urls import ContentReport, UrlForms

PERMANENT = (301, 308)
TEMPORARY = (302, 307)           # pass for private media only, to a signed URL
SIGNATURES = ("X-Amz-Signature", "Signature")   # a signed URL's query names one (SigV4, SigV2)
PROBE_NAME = "media-cutover-probe-{token}.jpg"
PER_FIELD = 3        # the find's examples a field (content_url_tool.EXAMPLES)
SAMPLE_LIMIT = 12    # old URLs asked a place


@dataclass(frozen=True)
class OldUrl:
    """One request: the URL asked, the file's name it stands for, and where (a host's alias, or an old host)."""

    url: str
    name: str
    place: str


def name_of(path: str) -> str | None:
    """The file's name an old URL's path after the media path names (as the program's ``name_of``: HTML
    entities and %-escapes decoded); None when it cannot be one."""
    name = unquote(html.unescape(path.split("?", 1)[0].split("#", 1)[0]))
    if not name or name.startswith("/") or "\x00" in name or ".." in name.split("/"):
        return None
    return name


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path_of(forms: UrlForms, name: str) -> str:
    return forms.path + quote(name, safe="/~!*()'")   # as Django's filepath_to_uri


def places_of(sample_host: str | None, forms: UrlForms, site_urls: dict[str, str]) -> list[tuple[str, str]]:
    """(place, origin) an old URL on ``sample_host`` (None: relative) is asked at."""
    if sample_host is None:
        return [(alias, _origin(url)) for alias, url in site_urls.items()]
    hosts = [(alias, _origin(url)) for alias, url in site_urls.items() if urlsplit(url).netloc.lower() == sample_host]
    return hosts or [(sample_host, f"https://{sample_host}")]


def samples(report: ContentReport, site_urls: dict[str, str], per_field: int = PER_FIELD,
            limit: int = SAMPLE_LIMIT) -> dict[str, list[OldUrl]]:
    """Place -> the old URLs to ask there: the find's examples (``per_field`` a field), each once a place,
    up to ``limit`` a place.  ``site_urls``: each host's alias -> its SITE_URL (those that have one)."""
    forms, asked = report.forms, {}
    for field in report.url_fields:
        for example in field.examples[:per_field]:
            parts = urlsplit(example if "//" in example[:8] else "http://x" + example)
            host = parts.netloc.lower() if "//" in example[:8] else None
            name = name_of(parts.path[len(forms.path):]) if parts.path.startswith(forms.path) else None
            if name is None:
                continue
            for place, origin in places_of(host, forms, site_urls):
                if host is not None and place == host and example.startswith("http"):
                    origin = _origin(example)
                urls = asked.setdefault(place, {})
                if len(urls) < limit:
                    urls.setdefault(name, OldUrl(origin + _path_of(forms, name), name, place))
    return {place: list(urls.values()) for place, urls in asked.items()}


def probes(report: ContentReport, site_urls: dict[str, str], name: str) -> list[OldUrl]:
    """The made-up name asked at each place the content's old URLs are asked at (every host when relative
    URLs count), before a reclaim."""
    places = dict(places_of(None, report.forms, site_urls)) if report.forms.relative else {}
    for place, urls in samples(report, site_urls).items():
        places.setdefault(place, _origin(urls[0].url))
    return [OldUrl(origin + _path_of(report.forms, name), name, place) for place, origin in places.items()]


def _same(location: str, expected: str) -> bool:
    one, two = urlsplit(location), urlsplit(expected)
    return ((one.scheme.lower(), one.netloc.lower(), unquote(one.path))
            == (two.scheme.lower(), two.netloc.lower(), unquote(two.path)))


def is_signed(url: str) -> bool:
    """Whether ``url``'s query carries a signature (``X-Amz-Signature=``, ``Signature=``)."""
    return any(key in SIGNATURES for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True))


def redirect_problem(old: OldUrl, status: int, body: bytes, location: str | None, expected: str | None, *,
                     signed: bool) -> str | None:
    """None when ``old`` answered a redirect to ``expected`` (the storage's URL for its name): permanent, or
    with ``signed`` (private media) permanent or temporary to a signed URL; else what it did, in one line,
    every URL without its query string."""
    asked = url_shown(old.url)
    if expected is None:
        return f"{old.place}: the site's storage gives no URL for {old.name}"
    storage = url_shown(expected.split("?", 1)[0] if signed else expected)   # signed: its query is no news
    wanted = f"302 to a signed URL of {storage}" if signed else f"301 to {storage}"
    if status not in PERMANENT + (TEMPORARY if signed else ()):
        what = said_of(status, body) + (" (a temporary redirect)" if status in (302, 303, 307) else "")
        return f"{old.place}: {asked} answered {what}, expected {wanted}"
    target = urljoin(old.url, location or "")
    if not location or not _same(target, expected):
        return (f"{old.place}: {asked} answered {status} to {url_shown(target) if location else 'no Location'}, "
                f"not to the storage's URL {storage}")
    if signed and not is_signed(target):
        return (f"{old.place}: {asked} answered {status} to {url_shown(target)}, unsigned: private media "
                f"(PUBLIC_MEDIA=false) need a signed URL, expected {wanted}")
    return None


def target_problem(old: OldUrl, target: str, status: int, body: bytes) -> str | None:
    if status == 200:
        return None
    return f"{old.place}: {url_shown(old.url)} redirects to {url_shown(target)}, which answered {said_of(status, body)}"


def answered_line(place: str, count: int, statuses: set[int]) -> str:
    """``web1: 6 old URLs answer 301 to the bucket, each target 200``."""
    said = "/".join(str(status) for status in sorted(statuses)) or "301"
    return f"{place}: {count} old URLs answer {said} to the bucket, each target 200"
