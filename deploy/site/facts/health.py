"""The media URLs a page renders: read with an HTML parser (or from JSON), resolved, and sorted by storage.

Pure: a page's bytes and URLs in, URLs out.  A stock Django site has no health
endpoint, so the health check reads the pages the operator names
(MEDIA_CHECK_PATHS) the way a browser would: ``img src``/``srcset``, ``source
srcset``, ``a href``, ``link href``, ``video``/``audio`` ``src``/``poster``,
``url(...)`` in style attributes, every value resolved against the page's URL.
Only URLs under a media base count; a footer link to https://example.org does not.

The two bases: S3's (``Settings.media_base_url``: the custom domain's, a CDN, or else the bucket's URL,
+ AWS_LOCATION + /; a URL under it is in the bucket, whichever host serves it) and the disk's, the site's
own MEDIA_URL while it served from disk (``disk_media_url``: DISK_MEDIA_URL where the config sets it, else
the MEDIA_URL the settings probe read from the site on disk; Django's usual /media/ only where neither
says), under SITE_URL when it is a path.

Content references.  Rich text and JSON store media URLs literally (``<img src="/media/a.png">``): after a
switch to S3 they still point at the old location, while every FileField renders its URL from the storage,
in the bucket.  In HTML the two cannot be told apart, so the rule is by page:

- a page with bucket URLs shows "s3", and its disk-form URLs are *content references* (the content's, not
  the storage's): reported, never a failed switch;
- a page with disk-form URLs only shows "disk": it cannot prove a reload to S3 (its URLs may all be the
  content's), so a check page must render at least one FileField;
- on the way back to disk (``expected="disk"``) a page with bucket URLs beside disk ones shows "mixed": bucket
  URLs on a site on disk are a failed rollback (or content rewritten to the bucket and not restored).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

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


# Django's usual MEDIA_URL: the disk's base only where neither DISK_MEDIA_URL nor a probe of the site on
# disk tells its own (a host without MANAGE_PY and SITE_PYTHON, a site already on S3 when it was probed).
USUAL_MEDIA_URL = "/media/"


def disk_media_url(configured: str | None, seen: list[tuple[str, bool]]) -> tuple[str, str]:
    """(the disk's MEDIA_URL, where it comes from for people): DISK_MEDIA_URL when ``configured``, else the first
    MEDIA_URL a probe ``seen`` (media_url, the site served from disk) read from a site on disk, else /media/."""
    if configured:
        return configured, "DISK_MEDIA_URL"
    on_disk = [media_url for media_url, disk in seen if disk and media_url]
    if on_disk:
        return on_disk[0], "the site's MEDIA_URL"
    return USUAL_MEDIA_URL, "Django's usual MEDIA_URL (no probe of the site on disk; DISK_MEDIA_URL sets it)"


@dataclass(frozen=True)
class MediaBases:
    """Where a page's media URLs point in each storage: absolute, each ending in "/"."""

    disk: str    # SITE_URL + the disk MEDIA_URL (or that MEDIA_URL, when absolute)
    bucket: str  # S3's: Settings.media_base_url (the custom domain's or the bucket's URL, + AWS_LOCATION + /)

    @classmethod
    def of(cls, site_url: str, media_base_url: str, disk_media_url: str) -> "MediaBases":
        absolute = urlsplit(disk_media_url).scheme in ("http", "https")
        disk = disk_media_url if absolute else site_url.rstrip("/") + "/" + disk_media_url.lstrip("/")
        return cls(disk.rstrip("/") + "/", media_base_url.rstrip("/") + "/")

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

    def key_of(self, url: str, prefix: str) -> str | None:
        """The object's key in the bucket (AWS_LOCATION/name) of a URL under S3's base, or None for any other:
        from the base, so a custom domain's URL names its object as the bucket's own does."""
        if self.storage_of(url) != "s3":
            return None
        return f"{prefix.strip('/')}/{self.name_of(url)}"


# The query fields that sign a URL: SigV4's and SigV2's (django-storages' querystring_auth, private media).
SIGNATURE_FIELDS = ("x-amz-signature", "signature")


def signed(url: str) -> bool:
    """Whether ``url``'s query carries a signature (X-Amz-Signature= or Signature=): a bearer token, never shown."""
    return any(name.lower() in SIGNATURE_FIELDS for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True))


def unsigned(url: str) -> str:
    """``url`` without its query (and fragment): what anyone could ask for without the signature."""
    return url.split("#", 1)[0].split("?", 1)[0]


@dataclass(frozen=True)
class PageMedia:
    """A page's media URLs by where they point, in page order; judged by the module's rule."""

    bucket: tuple[str, ...] = ()
    disk: tuple[str, ...] = ()

    @classmethod
    def of(cls, urls: list[str], bases: MediaBases) -> "PageMedia":
        return cls(tuple(url for url in urls if bases.storage_of(url) == "s3"),
                   tuple(url for url in urls if bases.storage_of(url) == "disk"))

    def storage(self, expected: str | None = None) -> str:
        """"s3", "disk", "mixed" (bucket and disk URLs while ``expected`` is "disk"), or "" (no media URL)."""
        if self.bucket and self.disk:
            return "mixed" if expected == "disk" else "s3"
        return "s3" if self.bucket else "disk" if self.disk else ""

    def content_references(self, expected: str | None = None) -> tuple[str, ...]:
        """The disk-form URLs of a page that shows "s3": the content's, pointing at the old location."""
        return self.disk if self.storage(expected) == "s3" else ()

    def served(self, expected: str | None = None) -> tuple[str, ...]:
        """The URLs the storage renders: the bucket's on a page showing "s3", every media URL otherwise."""
        return self.bucket if self.storage(expected) == "s3" else self.bucket + self.disk


def page_storage(urls: list[str], bases: MediaBases, expected: str | None = None) -> tuple[str, list[str]]:
    """(the mode a page shows by the module's rule, its media URLs in page order): "s3", "disk", "mixed" (only
    while ``expected`` is "disk"), or "" when the page shows no media URL."""
    media = [url for url in urls if bases.storage_of(url)]
    return PageMedia.of(urls, bases).storage(expected), media


@dataclass(frozen=True)
class Served:
    """A check of the media URLs the sites render: how many were fetched, and each page's content
    references to the old location (path, media URLs in the bucket, content references); on a private
    site, how many signed URLs fetched 200 and the statuses their unsigned forms were refused with."""

    checked: int
    content: tuple[tuple[str, int, int], ...] = ()
    signed: int = 0                # PUBLIC_MEDIA=false: signed media URLs fetched 200 with the bucket's bytes
    refused: tuple[int, ...] = ()  # and each one's unsigned form refused: 401 or 403
    through: str | None = None     # MEDIA_CUSTOM_DOMAIN: the host they were fetched through (a CDN)

    def summary(self, what: str) -> str:
        """The check in a phrase: "2 media URLs fetch from the bucket" (``what``: what was found true of them);
        on a private site "12 signed media URLs fetched 200; their unsigned form refused 12 times (HTTP 403)"."""
        if self.through:
            return f"{_count(self.checked, 'media URL')} fetched through {self.through}, the bucket's bytes"
        if not self.signed:
            return f"{self.checked} {what}"
        statuses = ", ".join(str(status) for status in sorted(set(self.refused)))
        return (f"{_count(self.signed, 'signed media URL')} fetched 200; their unsigned form refused "
                f"{_count(len(self.refused), 'time')} (HTTP {statuses})")

    def lines(self, alias: str) -> list[str]:
        return [f"{alias}: {path} {_count(bucket, 'media URL')} in the bucket, "
                f"{_count(references, 'content reference')} to the old location (the content's own URLs)"
                for path, bucket, references in self.content]


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


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
