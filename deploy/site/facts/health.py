"""The media URLs a page renders: read with an HTML parser (or from JSON), resolved, and sorted by storage.

Pure: a page's bytes and URLs in, URLs out.  A stock Django site has no health
endpoint, so the health check reads the pages the operator names
(MEDIA_CHECK_PATHS) the way a browser would: ``img src``/``srcset``, ``source
srcset``, ``a href``, ``link href``, ``video``/``audio`` ``src``/``poster``,
``url(...)`` in style attributes, every value resolved against the page's URL.
Only URLs under the media base count; a footer link to https://example.org does not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

# tag -> attributes that may hold a URL of a file the page shows or links
_URL_ATTRIBUTES = {
    "img": ("src", "srcset", "data-src"), "source": ("src", "srcset"), "a": ("href",), "link": ("href",),
    "video": ("src", "poster"), "audio": ("src",), "track": ("src",), "embed": ("src",),
    "object": ("data",), "image": ("href", "xlink:href"),
}
_STYLE_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag, attrs):
        self._collect(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._collect(tag, attrs)

    def _collect(self, tag, attrs):
        values = dict(attrs)
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        for name in _URL_ATTRIBUTES.get(tag, ()):
            value = values.get(name)
            if value:
                self.found += _srcset(value) if name.endswith("srcset") else [value.strip()]
        style = values.get("style")
        if style:
            self.found += [match.group(2).strip() for match in _STYLE_URL.finditer(style)]


def _srcset(value: str) -> list[str]:
    """The URLs of a srcset: "a.jpg 1x, b.jpg 2x" -> [a.jpg, b.jpg]."""
    return [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]


def urls_on_page(body: bytes, content_type: str, page_url: str) -> list[str]:
    """Every URL a page refers to for a file, absolute, in page order, each once.

    JSON (a health or listing view): every "url" value.  Anything else is read as HTML.
    """
    text = body.decode(_charset(content_type), "replace")
    if "json" in content_type.lower() or text.lstrip().startswith(("{", "[")):
        try:
            found, base = _json_urls(json.loads(text)), page_url
        except ValueError:
            found, base = _html_urls(text, page_url)
    else:
        found, base = _html_urls(text, page_url)
    absolute = [urljoin(base, url) for url in found if not url.startswith(("data:", "javascript:", "#"))]
    return list(dict.fromkeys(url for url in absolute if urlsplit(url).scheme in ("http", "https")))


def media_urls(urls: list[str], media_base: str) -> list[str]:
    """The URLs under ``media_base`` (absolute, ending in "/"): the page's media in that storage."""
    return [url for url in urls if url.startswith(media_base)]


# Where a site on disk serves its media: Django's usual MEDIA_URL, under SITE_URL.  The health check and
# the rehearsal assume it (a site whose MEDIA_URL differs shows no media URL there, which they report as a
# configuration problem, naming this base).
DISK_MEDIA_PATH = "/media/"


@dataclass(frozen=True)
class MediaBases:
    """Where a page's media URLs point in each storage: absolute, each ending in "/"."""

    disk: str    # SITE_URL + /media/
    bucket: str  # the bucket's URL + AWS_LOCATION + /

    @classmethod
    def of(cls, site_url: str, bucket_url: str, prefix: str) -> "MediaBases":
        return cls(site_url.rstrip("/") + DISK_MEDIA_PATH, f"{bucket_url.rstrip('/')}/{prefix.strip('/')}/")

    def storage_of(self, url: str) -> str | None:
        """"s3", "disk", or None for a URL that is no media URL (a stylesheet, a footer link)."""
        if url.startswith(self.bucket):
            return "s3"
        if url.startswith(self.disk):
            return "disk"
        return None

    def name_of(self, url: str) -> str | None:
        """The file's name in the storage (percent-decoded), or None for a URL that is no media URL."""
        storage = self.storage_of(url)
        if storage is None:
            return None
        return unquote(urlsplit(url[len(self.bucket if storage == "s3" else self.disk):]).path)


def page_storage(urls: list[str], bases: MediaBases) -> tuple[str, list[str]]:
    """(the mode a page shows, its media URLs): "s3" when every media URL is in the bucket, "disk" when
    every one is under the disk MEDIA_URL, "mixed" otherwise, "" when the page shows no media URL."""
    media = [url for url in urls if bases.storage_of(url)]
    modes = {bases.storage_of(url) for url in media}
    return ("mixed" if len(modes) > 1 else modes.pop() if modes else ""), media


def _html_urls(text: str, page_url: str) -> tuple[list[str], str]:
    collector = _Collector()
    collector.feed(text)
    collector.close()
    return collector.found, urljoin(page_url, collector.base) if collector.base else page_url


def _json_urls(data) -> list[str]:
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "url" and isinstance(value, str):
                found.append(value)
            else:
                found += _json_urls(value)
    elif isinstance(data, list):
        for item in data:
            found += _json_urls(item)
    return found


def _charset(content_type: str) -> str:
    match = re.search(r"charset=([\w.-]+)", content_type, re.IGNORECASE)
    if match:
        try:
            "".encode(match.group(1))
            return match.group(1)
        except LookupError:
            pass
    return "utf-8"
