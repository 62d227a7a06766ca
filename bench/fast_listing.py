"""Candidates for deploy.bucket.listing: the same pages, parsed with ElementTree instead of botocore.

Measured here, botocore's modeled XML parser costs ~150 µs a key (0.7 s for
4,000 keys, 3-4 s for 20,000): most of the verify's time.  These listings sign
each ListObjectsV2 request with botocore's own SigV4 signer and parse the page
with ``xml.etree.ElementTree``: the same entries, ~5x faster.  ``fast_listing``
walks the pages one after another as deploy.bucket.listing does;
``parallel_listing`` also lists sub-prefixes in parallel, as rclone's checkers
do.  The benchmark times the verify with each as a candidate (the project does
not use them yet).

Sandbox only as written: plain HTTP to a path-style endpoint, no retries.
"""

from __future__ import annotations

import http.client
import xml.etree.ElementTree as ElementTree
from typing import Iterator
from urllib.parse import quote, urlencode, urlparse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from deploy.config import Settings
from deploy.verify import Entry

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def fast_listing(settings: Settings) -> Iterator[Entry]:
    """Every object under the media prefix, page by page, as deploy.bucket.listing yields them."""
    client = _Client(settings)
    for page in client.pages(settings.media_prefix + "/"):
        for item in page.iter(NS + "Contents"):
            yield _entry(item)


def parallel_listing(settings: Settings, order: str, workers: int = 8, blocks: int = 16,
                     window: int = 16) -> Iterator[Entry]:
    """The listing split by "directory" and fetched by ``workers`` threads, still yielded in ``order``.

    rclone's checkers list directories in parallel; a flat ListObjectsV2 walk is
    one request after another.  Here the prefix is expanded level by level
    (delimiter "/") until it holds ``blocks`` sub-prefixes; each sub-prefix is
    then listed flat in its own thread.  In byte order and in path order alike,
    the keys under a sub-prefix are contiguous, so the blocks (and the files
    met on the way) sorted with the order's key give the whole listing in that
    order — as long as the store lists each block in that order (AWS: bytes;
    SeaweedFS: path).  At most ``window`` blocks are fetched ahead: memory stays
    bounded by the window, not the bucket.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from deploy.verify import ORDERS

    sort_key = ORDERS[order]
    client = _Client(settings)
    items: list[tuple[str, object]] = [("dir", settings.media_prefix + "/")]
    for _ in range(4):                                  # a few levels are enough to find the blocks
        if sum(kind == "dir" for kind, _ in items) >= blocks:
            break
        expanded: list[tuple[str, object]] = []
        for kind, value in items:
            if kind == "dir":
                files, prefixes = client.level(value)
                expanded += [("file", entry) for entry in files] + [("dir", prefix) for prefix in prefixes]
            else:
                expanded.append((kind, value))
        items = sorted(expanded, key=lambda item: sort_key(item[1] if item[0] == "dir" else item[1].key))
    with ThreadPoolExecutor(workers) as pool:
        ahead: deque = deque()
        pending = iter(items)

        def refill() -> None:
            while len(ahead) < window:
                item = next(pending, None)
                if item is None:
                    return
                kind, value = item
                ahead.append((kind, pool.submit(client.flat, value) if kind == "dir" else value))

        refill()
        while ahead:
            kind, value = ahead.popleft()
            refill()
            if kind == "file":
                yield value
            else:
                yield from value.result()


class _Client:
    """Signed ListObjectsV2 pages over one HTTP connection per thread."""

    def __init__(self, settings: Settings):
        import threading
        self.settings = settings
        self.endpoint = urlparse(settings.endpoint_url or "")
        if self.endpoint.scheme != "http":
            raise ValueError("the candidate listing speaks plain HTTP to a path-style endpoint (the sandbox) only")
        self.signer = S3SigV4Auth(Credentials(settings.access_key_id, settings.secret_access_key.reveal()),
                                  "s3", settings.region)
        self.local = threading.local()

    def pages(self, prefix: str, delimiter: str | None = None) -> Iterator[ElementTree.Element]:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection(
                self.endpoint.hostname, self.endpoint.port or 80, timeout=30)
        params = {"list-type": "2", "prefix": prefix, **({"delimiter": delimiter} if delimiter else {})}
        while True:
            path = f"/{self.settings.bucket}?" + urlencode(sorted(params.items()), quote_via=quote)
            request = AWSRequest(method="GET", url=self.settings.endpoint_url.rstrip("/") + path)
            self.signer.add_auth(request)
            connection.request("GET", path, headers=dict(request.prepare().headers))
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"ListObjectsV2 answered HTTP {response.status}: {body[:200]!r}")
            page = ElementTree.fromstring(body)
            yield page
            token = page.findtext(NS + "NextContinuationToken")
            if page.findtext(NS + "IsTruncated") != "true" or not token:
                return
            params["continuation-token"] = token

    def flat(self, prefix: str) -> list[Entry]:
        return [_entry(item) for page in self.pages(prefix) for item in page.iter(NS + "Contents")]

    def level(self, prefix: str) -> tuple[list[Entry], list[str]]:
        files, prefixes = [], []
        for page in self.pages(prefix, "/"):
            files += [_entry(item) for item in page.iter(NS + "Contents")]
            prefixes += [item.findtext(NS + "Prefix") for item in page.iter(NS + "CommonPrefixes")]
        return files, prefixes


def _entry(item: ElementTree.Element) -> Entry:
    return Entry(item.findtext(NS + "Key"), int(item.findtext(NS + "Size")), item.findtext(NS + "ETag"))
