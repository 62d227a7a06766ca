"""HTTP checks that the media URLs a site renders fetch: from the bucket on S3, from the site on disk.

The pages are read as ``deploy.site.ops.health`` reads them; a URL is in the bucket when it is under
``Settings.media_base_url`` (the custom domain's, a CDN, or the bucket's own URL, + AWS_LOCATION + /), and
it is fetched as the site rendered it, through whichever host that is; its object's key comes from that
base (the name after it, percent-decoded, the query dropped) and AWS_LOCATION.

Private media (PUBLIC_MEDIA=false): every media URL in the bucket must be signed (django-storages'
querystring_auth), the signed URL must fetch the bucket's bytes, and the same URL without its query must be
refused (401 or 403); one answered 200 means the bucket's objects are public.  A signed URL is a bearer
token: a message shows a URL only through ``url_shown`` (its query replaced whole).

The media URLs in the bucket and the bucket's HEADs are store traffic: their transient faults are retried
as ``deploy.retry`` says and counted in the run's tally; one that does not pass is a StoreUnavailable.
"""

from __future__ import annotations

import hashlib

from ...config.redact import url_shown
from ...config.types import HostSettings, Settings
from ...errors import HealthError
from ...retry import FaultTally, said_of
from ...store.client import s3_client, store_call
from ...store.probe import anonymous_get, fetch_anonymously
from ..facts.health import MediaBases, Served, signed, unsigned
from .health import checked_pages, media_bases

# What an unsigned GET of a private object may answer: refused.
REFUSED = (401, 403)


def check_media_served_from_bucket(settings: Settings, host: HostSettings, limit: int,
                                   faults: FaultTally | None = None) -> Served:
    """Every check page renders media URLs in the bucket, and a sample of them fetch anonymously: 200, not
    HTML, the bytes the bucket holds; on a private site each is signed and its unsigned form refused.  A
    page's disk-form URLs beside them are content references: counted and said, not fetched
    (``deploy.site.facts.health``).  The store's transient faults are retried (and counted in ``faults``)."""
    bases = media_bases(settings, host)
    pages = checked_pages(settings, host, "s3")
    wrong = [page for page in pages if page.storage != "s3"]
    if wrong:
        raise HealthError(f"{host.alias}: the site still renders media URLs outside the bucket ({bases.bucket}), "
                          f"e.g. {url_shown(wrong[0].media[0])} on {wrong[0].url}, and none in it there")
    urls = list(dict.fromkeys(url for page in pages for url in page.found.served("s3")))
    content = tuple((page.path, len(page.found.bucket), len(page.found.content_references("s3")))
                    for page in pages if page.found.content_references("s3"))
    if not settings.public_media:
        _refuse_unsigned(host, urls)
    client = s3_client(settings, faults=faults) if urls else None
    refused = []
    for url in _spread(urls, limit):
        _check_object(settings, host, bases, client, url, faults)
        if not settings.public_media:
            refused.append(_refused_unsigned(settings, host, url, faults))
    checked = min(len(urls), limit)
    return Served(checked, content, checked if refused else 0, tuple(refused), through=settings.custom_domain)


def _check_object(settings: Settings, host: HostSettings, bases: MediaBases, client, url: str,
                  faults: FaultTally | None) -> None:
    """``url`` fetches without credentials (but its signature): 200, not HTML, the bytes its object holds."""
    shown = url_shown(url)
    status, body, headers = fetch_anonymously(url, settings, faults, what=f"{host.alias}: media URL {shown}")
    if status != 200:
        raise HealthError(f"{host.alias}: media URL {shown} answered {said_of(status, body)} without credentials")
    _refuse_html(host, url, headers)
    key = bases.key_of(url, settings.media_prefix)
    head = store_call(lambda: client.head_object(Bucket=settings.bucket, Key=key),
                      f"{host.alias}: HEAD s3://{settings.bucket}/{key}", settings, faults)
    etag = head.get("ETag", "").strip('"')
    if len(body) != head["ContentLength"] or (len(etag) == 32 and hashlib.md5(body).hexdigest() != etag):
        raise HealthError(f"{host.alias}: {shown} returned other bytes than the bucket holds "
                          f"(s3://{settings.bucket}/{key})")


def _refuse_unsigned(host: HostSettings, urls: list[str]) -> None:
    """PUBLIC_MEDIA=false: a media URL in the bucket without a signature would be refused to every visitor."""
    plain = [url for url in urls if not signed(url)]
    if plain:
        raise HealthError(f"{host.alias}: the site renders unsigned media URLs though PUBLIC_MEDIA=false "
                          f"({len(plain)} of {len(urls)}, e.g. {url_shown(plain[0])}): its storage must sign them "
                          "(django-storages' querystring_auth=True, AWS_QUERYSTRING_AUTH)")


def _refused_unsigned(settings: Settings, host: HostSettings, url: str, faults: FaultTally | None) -> int:
    """The status the unsigned form of a signed ``url`` was refused with (401 or 403); HealthError otherwise."""
    bare = unsigned(url)
    status, body, _ = fetch_anonymously(bare, settings, faults, what=f"{host.alias}: unsigned media URL {bare}")
    if status in REFUSED:
        return status
    if status == 200:
        raise HealthError(f"{host.alias}: {bare} is readable without a signature (HTTP 200): the bucket's objects "
                          "are public though PUBLIC_MEDIA=false; remove the public read policy (invoke provision)")
    raise HealthError(f"{host.alias}: {bare}, the unsigned form of a signed media URL, answered "
                      f"{said_of(status, body)}; expected HTTP 401 or 403 (refused without a signature)")


def check_media_served_by_site(settings: Settings, host: HostSettings, limit: int,
                               faults: FaultTally | None = None) -> Served:
    """After a rollback: the media URLs the site renders are under its MEDIA_URL again, and they fetch (from
    the site: no store traffic, ``faults`` has nothing to count).  A bucket URL on a page is a failure."""
    bases = media_bases(settings, host)
    urls = list(dict.fromkeys(url for page in checked_pages(settings, host, "disk") for url in page.media))
    in_bucket = [url for url in urls if bases.storage_of(url) != "disk"]
    if in_bucket:
        raise HealthError(f"{host.alias}: the site still renders media URLs in the bucket, e.g. "
                          f"{url_shown(in_bucket[0])} (expected them under {bases.disk})")
    for url in _spread(urls, limit):
        status, body, headers = anonymous_get(url)
        if status != 200:
            raise HealthError(f"{host.alias}: media URL {url_shown(url)} answered {said_of(status, body)}")
        _refuse_html(host, url, headers)
    return Served(min(len(urls), limit))


def _refuse_html(host: HostSettings, url: str, headers) -> None:
    """A media URL answering an HTML page (a catch-all view, a login page) is not the file."""
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "text/html":
        raise HealthError(f"{host.alias}: media URL {url_shown(url)} answered an HTML page (Content-Type "
                          "text/html), not the file")


def _spread(items: list[str], limit: int) -> list[str]:
    """Up to ``limit`` items taken evenly from the whole list."""
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(index * step)] for index in range(limit)]


__all__ = ["REFUSED", "check_media_served_by_site", "check_media_served_from_bucket"]
