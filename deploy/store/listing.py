"""The bucket's listing under the media prefix, fast: the verify's other half.

boto3's paginator parses each ListObjectsV2 page with botocore's modeled XML
parser, ~150 µs a key: most of a verify's time (bench/RESULTS.md).  Here
botocore still builds and signs every request (a presigned URL: any endpoint,
addressing style, region or HTTPS that the client handles), urllib3 sends it,
and ``xml.etree.ElementTree`` reads the page, ~5x faster.  A page the store
answers with a transient fault (5xx, SlowDown, a reset, a body cut short, a
timeout) is asked again as ``deploy.retry`` says, and counted in the run's tally.  Keys
come URL-encoded (EncodingType=url), so a key with characters XML cannot carry
still lists.

Big trees are listed as rclone's checkers do, "directory" by "directory" in
parallel: the prefix is expanded level by level until it has enough
sub-prefixes, each is listed flat in its own thread, and the blocks are yielded
in the order the comparison needs.  Under a sub-prefix the keys are contiguous
in byte order and in path order alike, so sorting the blocks gives the whole
listing in that order, as long as the store lists each block in it.  At most
WINDOW blocks are listed ahead, each at most PAGES_AHEAD pages ahead of the
comparison, and a prefix too wide to open stays one block: memory follows these
bounds, not the bucket.
"""

from __future__ import annotations

import os
import queue
import threading
import xml.etree.ElementTree as ElementTree
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator
from urllib.parse import unquote_plus

import urllib3
from botocore.httpsession import get_cert_path

from ..config.types import Settings
from ..errors import RemoteError
from ..config.redact import redact
from ..retry import FaultTally, fault_of_response, policy_of, with_retries
from .client import s3_client
from ..media.compare import ORDERS, Entry

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
WORKERS = 8       # threads listing sub-prefixes
BLOCKS = 16       # open the prefix level by level until it has this many sub-prefixes to list flat,
MAX_BLOCKS = 64   # but not into a level with more than this many (small directories: requests cost more)
LEVELS = 4        # nor deeper than this
WINDOW = 16       # blocks fetched ahead of the comparison
PAGES_AHEAD = 4      # pages a block's thread may hold before the comparison reads them
LEVEL_LIMIT = 5000   # files and sub-prefixes right under a prefix, beyond which it is listed flat


# --- pure: one page, and the order of blocks ------------------------------------------------

def parse_page(body: bytes) -> tuple[list[Entry], list[str], str | None]:
    """(objects, common prefixes, next continuation token or None) of one ListObjectsV2 page.

    Folder markers (keys ending in "/") are no files and are left out: some stores
    (SeaweedFS) list an empty directory as one when it is the prefix listed.
    """
    page = ElementTree.fromstring(body)
    url_encoded = page.findtext(NS + "EncodingType") == "url"
    decode = unquote_plus if url_encoded else (lambda text: text)
    entries = [Entry(key, int(item.findtext(NS + "Size")), item.findtext(NS + "ETag"))
               for item in page.iter(NS + "Contents") if not (key := decode(item.findtext(NS + "Key"))).endswith("/")]
    prefixes = [decode(item.findtext(NS + "Prefix")) for item in page.iter(NS + "CommonPrefixes")]
    token = page.findtext(NS + "NextContinuationToken")
    return entries, prefixes, token if page.findtext(NS + "IsTruncated") == "true" and token else None


Item = tuple[str, object]  # ("file", Entry), ("dir", prefix to open further) or ("block", prefix to list flat)


def expand(items: list[Item], level: Callable[[str], tuple[list[Entry], list[str]] | None],
           order: str, map_=map) -> list[Item]:
    """Open every "dir" one level (``map_`` may open them in parallel), sorted in ``order``.

    ``level(prefix)`` gives the files and sub-prefixes right under it, or None when
    there are too many to hold: such a prefix stays one block, listed flat later.
    """
    dirs = [value for kind, value in items if kind == "dir"]
    found = dict(zip(dirs, map_(level, dirs)))
    opened: list[Item] = []
    for kind, value in items:
        if kind != "dir":
            opened.append((kind, value))
        elif found[value] is None:
            opened.append(("block", value))
        else:
            files, prefixes = found[value]
            opened += [("file", entry) for entry in files] + [("dir", prefix) for prefix in prefixes]
    sort_key = ORDERS[order]
    return sorted(opened, key=lambda item: sort_key(item[1].key if item[0] == "file" else item[1]))


def blocks(items: list[Item]) -> int:
    return sum(kind != "file" for kind, _ in items)


# --- the listing ----------------------------------------------------------------------------

def listing(settings: Settings, order: str = "bytes", pages: "_Pages | None" = None,
            faults: FaultTally | None = None) -> Iterator[Entry]:
    """Every object under the media prefix, in ``order`` if the store lists in it (else the comparison says so);
    the store's transient faults retried and counted in ``faults``."""
    pages = pages or _Pages(settings, faults)
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="listing")
    stop = threading.Event()
    try:
        items: list[Item] = [("dir", settings.media_prefix + "/")]
        for _ in range(LEVELS):
            if blocks(items) >= BLOCKS or all(kind != "dir" for kind, _ in items):
                break
            deeper = expand(items, pages.level, order, pool.map)
            if blocks(deeper) > MAX_BLOCKS:  # many small directories: a request each costs more than it saves
                break
            items = deeper
        ahead: deque[tuple[str, object]] = deque()
        pending = iter(items)
        while True:
            while len(ahead) < WINDOW and (item := next(pending, None)) is not None:
                kind, value = item
                if kind != "file":
                    out: queue.Queue = queue.Queue(maxsize=PAGES_AHEAD)
                    pool.submit(pages.stream, value, out, stop)
                    value = out
                ahead.append((kind, value))
            if not ahead:
                return
            kind, value = ahead.popleft()
            if kind == "file":
                yield value
                continue
            while (page := value.get()) is not None:
                if isinstance(page, BaseException):
                    raise page
                yield from page
    finally:
        stop.set()  # a comparison that stops early (or an error) leaves no thread listing on
        pool.shutdown(wait=False, cancel_futures=True)


class _Pages:
    """ListObjectsV2 pages: signed by botocore, sent by urllib3 (each retried by the policy), parsed by
    ``parse_page``."""

    def __init__(self, settings: Settings, faults: FaultTally | None = None):
        self.settings, self.faults, self.policy = settings, faults, policy_of(settings)
        self.client = s3_client(settings)
        # retries=False: urllib3 raises what happened, and the policy decides (deploy.retry).
        self.http = urllib3.PoolManager(maxsize=WORKERS, retries=False, timeout=urllib3.Timeout(30),
                                        ca_certs=os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True))
        self.lock = threading.Lock()  # the client's presigner is shared by the threads

    def walk(self, prefix: str, delimiter: str | None = None) -> Iterator[tuple[list[Entry], list[str]]]:
        params = {"Bucket": self.settings.bucket, "Prefix": prefix, "EncodingType": "url"}
        if delimiter:
            params["Delimiter"] = delimiter
        while True:
            with self.lock:
                url = self.client.generate_presigned_url("list_objects_v2", Params=params, ExpiresIn=900)
            try:
                response = with_retries(lambda: self.http.request("GET", url), f"listing s3://{self.settings.bucket}/"
                                        f"{prefix}", self.policy, self.faults,
                                        judge=lambda answer: fault_of_response(answer.status, answer.data)).value
            except urllib3.exceptions.HTTPError as error:
                # urllib3 names the URL it gave up on: a presigned one, valid for 15 minutes.
                raise RemoteError(f"listing s3://{self.settings.bucket}/{prefix} failed: "
                                  f"{redact(str(error))}") from None
            if response.status != 200:
                raise RemoteError(f"listing s3://{self.settings.bucket}/{prefix} answered HTTP {response.status}"
                                  f" {_error_code(response.data)}: check the bucket and the credentials' "
                                  "s3:ListBucket permission")
            entries, prefixes, token = parse_page(response.data)
            yield entries, prefixes
            if token is None:
                return
            params["ContinuationToken"] = token

    def level(self, prefix: str) -> tuple[list[Entry], list[str]] | None:
        files, prefixes = [], []
        for entries, subprefixes in self.walk(prefix, "/"):
            files += entries
            prefixes += subprefixes
            if len(files) + len(prefixes) > LEVEL_LIMIT:
                return None
        return files, prefixes

    def stream(self, prefix: str, out: queue.Queue, stop: threading.Event) -> None:
        """Pages of the flat listing of ``prefix`` into ``out``, then None (or the error)."""
        try:
            for entries, _ in self.walk(prefix):
                if not _put(out, entries, stop):
                    return
        except BaseException as error:  # handed to the reader, which raises it
            _put(out, error, stop)
            return
        _put(out, None, stop)


def _put(out: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            out.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def _error_code(body: bytes) -> str:
    try:
        return ElementTree.fromstring(body).findtext("Code") or ""
    except ElementTree.ParseError:
        return ""
