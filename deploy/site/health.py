"""HTTP checks of the sites: health in the expected storage mode, media URLs that fetch."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import time
from urllib.parse import unquote, urlparse

from ..config.types import HostSettings, Settings
from ..errors import HealthError
from ..store.client import s3_client
from ..store.probe import anonymous_get

URL = re.compile(r"""https?://[^\s"'<>\\]+""")
# Answers in a row that must agree: after a graceful reload old workers drain for a moment.
AGREEING_ANSWERS = 4


def storage_of(host: HostSettings) -> tuple[int, str | None]:
    """(HTTP status, the storage the health URL reports)."""
    status, body, _ = anonymous_get(host.health_url, timeout=5)
    if status != 200:
        return status, None
    try:
        return status, str(json.loads(body).get("storage"))
    except (ValueError, AttributeError):
        return status, "s3" if b"s3" in body.lower() else "disk"


def wait_for_storage(host: HostSettings, storage: str, timeout: float) -> float:
    """Poll until the site answers 200 in ``storage`` mode several times in a row; returns seconds."""
    begin = time.monotonic()
    agreeing, last = 0, (0, None)
    while time.monotonic() - begin < timeout:
        last = storage_of(host)
        agreeing = agreeing + 1 if last == (200, storage) else 0
        if agreeing >= AGREEING_ANSWERS:
            return time.monotonic() - begin
        time.sleep(0.1)
    status, seen = last
    raise HealthError(f"{host.alias}: {host.health_url} did not report storage={storage} within {timeout:.0f} s "
                      f"(last answer: HTTP {status or 'none'}, storage={seen})")


def media_urls(settings: Settings, host: HostSettings) -> list[str]:
    """The media URLs the site renders on MEDIA_LIST_PATH (empty if none is configured)."""
    if not settings.media_list_path:
        return []
    page = host.site_url + settings.media_list_path
    status, body, _ = anonymous_get(page)
    if status != 200:
        raise HealthError(f"{host.alias}: {page} answered HTTP {status or 'nothing'}")
    text = body.decode("utf-8", "replace")
    try:  # a JSON page: take its "url" values, relative ones made absolute
        urls = [_absolute(host, value) for value in _json_urls(json.loads(text))]
    except ValueError:
        urls = URL.findall(text)
    return urls


def check_media_served_from_bucket(settings: Settings, host: HostSettings, limit: int) -> int:
    """A sample of rendered media URLs point at the bucket and fetch anonymously, right bytes and type."""
    bucket_prefix = f"{settings.bucket_url}/{settings.media_prefix}/"
    urls = media_urls(settings, host)
    if settings.media_list_path and not urls:
        raise HealthError(f"{host.alias}: {settings.media_list_path} renders no media URL to check")
    wrong = [url for url in urls if not url.startswith(bucket_prefix)]
    if wrong:
        raise HealthError(f"{host.alias}: the site still renders media URLs outside the bucket, e.g. {wrong[0]}")
    client = s3_client(settings)
    for url in _spread(urls, limit):
        status, body, headers = anonymous_get(url)
        if status != 200:
            raise HealthError(f"{host.alias}: media URL {url} answered HTTP {status or 'nothing'} without credentials")
        key = unquote(url[len(settings.bucket_url) + 1:])
        expected_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        if headers.get("Content-Type", "").split(";")[0] != expected_type:
            raise HealthError(f"{host.alias}: {url} has Content-Type {headers.get('Content-Type')!r}, "
                              f"expected {expected_type!r}")
        head = client.head_object(Bucket=settings.bucket, Key=key)
        etag = head.get("ETag", "").strip('"')
        if len(body) != head["ContentLength"] or (len(etag) == 32 and hashlib.md5(body).hexdigest() != etag):
            raise HealthError(f"{host.alias}: {url} returned other bytes than the bucket holds")
    return min(len(urls), limit)


def check_media_served_by_site(settings: Settings, host: HostSettings, limit: int) -> int:
    """After a rollback: the media URLs the site renders are its own again, and they fetch."""
    urls = media_urls(settings, host)
    in_bucket = [url for url in urls if url.startswith(settings.bucket_url + "/")]
    if in_bucket:
        raise HealthError(f"{host.alias}: the site still renders media URLs in the bucket, e.g. {in_bucket[0]}")
    for url in _spread(urls, limit):
        status, _, _ = anonymous_get(url)
        if status != 200:
            raise HealthError(f"{host.alias}: media URL {url} answered HTTP {status or 'nothing'}")
    return min(len(urls), limit)


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


def _absolute(host: HostSettings, url: str) -> str:
    return url if urlparse(url).scheme else host.site_url + url


def _spread(items: list[str], limit: int) -> list[str]:
    """Up to ``limit`` items taken evenly from the whole list."""
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(index * step)] for index in range(limit)]
