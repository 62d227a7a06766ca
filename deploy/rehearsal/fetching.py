"""One request of a rehearsal's traffic and what its answer means: the sites asked, the records kept, the
checks of an answer, and the HTTP client.

``Site``, ``Record``, ``Upload`` and ``Known`` are the traffic's plain data (the report, the timeline and
the uploads' check read them).  Every request becomes a ``Record``: when, which host, what kind, the HTTP
status, the latency and, if it failed, why; its URL as ``url_shown`` gives it (no query: a private site's
media URLs are signed, bearer tokens that must not reach the report or requests.jsonl).

The pure helpers classify a rendered media URL (``url_kind``: under SITE_URL, or under S3's media base,
``Settings.media_base_url``), say why a media answer is not the file known (``media_error``: size and
SHA-256) and which storage a page shows.  ``http`` is the one client: urllib, a new connection each time.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass

from ..site.facts.health import MediaBases, page_storage, urls_on_page


@dataclass(frozen=True)
class Site:
    alias: str
    url: str         # SITE_URL, no trailing slash
    health_url: str | None
    pages: tuple[str, ...] = ()  # the check pages' URLs: what the readers fetch when there is no health URL

    @property
    def by_pages(self) -> bool:
        return not self.health_url


@dataclass
class Record:
    time: float       # wall clock when the request started
    host: str
    kind: str         # page | health | media | upload | unsigned (a signed media URL asked for without its query)
    status: int       # 0: no HTTP answer
    seconds: float
    error: str = ""   # empty when the request did what it should
    storage: str = ""  # health: storage reported; media: "disk" or "bucket" URL; page: URLs rendered
    url: str = ""      # as url_shown gives it: never a query
    name: str = ""     # media and upload: the file's name in the storage


@dataclass
class Upload:
    time: float
    host: str
    name: str         # as the site answered it
    size: int
    sha256: str


@dataclass(frozen=True)
class Known:
    size: int
    sha256: str


# --- pure helpers (unit-tested) ----------------------------------------------------------

def url_kind(url: str, site_url: str, media_base: str) -> tuple[str, str | None]:
    """("disk"|"bucket", absolute URL) for a rendered media URL; ("", None) for anything else.  ``media_base``:
    S3's (Settings.media_base_url), a URL under it is in the bucket whichever host serves it."""
    if url.startswith("/"):
        return "disk", site_url + url
    if url.startswith(media_base.rstrip("/") + "/"):
        return "bucket", url
    if url.startswith(site_url.rstrip("/") + "/"):  # a page's URLs, resolved against it
        return "disk", url
    return "", None


def media_error(status: int, body: bytes, known: Known) -> str:
    """Why a media answer is wrong, or "" when it is the file we know."""
    if status != 200:
        return f"HTTP {status}" if status else "no answer"
    if len(body) != known.size:
        return f"wrong size ({len(body)} B, expected {known.size} B)"
    if hashlib.sha256(body).hexdigest() != known.sha256:
        return "other bytes than expected"
    return ""


def rendered_storage(urls: list[str], media_base: str) -> str:
    kinds = {"bucket" if url.startswith(media_base.rstrip("/") + "/") else "disk" for url in urls}
    return "mixed" if len(kinds) > 1 else (kinds.pop() if kinds else "")


def page_media(body: bytes, page_url: str, bases: MediaBases) -> tuple[str, dict[str, str]]:
    """(the storage a check page shows: "s3", "disk", "mixed" or "", name -> media URL of its media)."""
    storage, media = page_storage(urls_on_page(body, "", page_url), bases)
    return storage, {bases.name_of(url): url for url in media}


RENDERED = {"s3": "bucket", "disk": "disk", "mixed": "mixed", "": ""}  # a page record's words for the storages


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- HTTP ---------------------------------------------------------------------------------

def http(url: str, data: bytes | None = None, content_type: str | None = None,
         timeout: float = 15) -> tuple[int, bytes, str]:
    """(status, body, error); a new connection each time, as a browser's first request."""
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), ""
    except urllib.error.HTTPError as error:
        return error.code, error.read(), f"HTTP {error.code}"
    except OSError as error:  # refused, reset, timed out
        reason = getattr(error, "reason", error)
        return 0, b"", f"{type(reason).__name__}: {reason}"


def list_all(site: Site, fetch=http) -> dict[str, str]:
    """name -> URL of every file the site lists."""
    status, body, error = fetch(f"{site.url}/files/")
    if status != 200:
        raise OSError(f"{site.alias}: {site.url}/files/ answered {error or status}")
    return {entry["name"]: entry["url"] for entry in json.loads(body)["files"]}



def records_as_dicts(records: list[Record]) -> list[dict]:
    return [asdict(record) for record in records]
