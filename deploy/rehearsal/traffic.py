"""Live traffic for a rehearsal: page reads, media fetches and uploads against every host's site.

Bounded on purpose: a fixed number of threads that stop by themselves at a
deadline, and only two kinds of URL are ever requested: under a configured
SITE_URL, or under S3's media base (``Settings.media_base_url``: a custom domain's,
a CDN, or the bucket's URL, + AWS_LOCATION; the media URLs the sites render).

Two kinds of site: one with a health URL and the sandbox's JSON list
(``/files/``, shape (a)), and one with only pages (MEDIA_CHECK_PATHS and no
HEALTH_URL, shape (b)).  For the latter the readers fetch the check pages: the
storage each answer shows is the one its media URLs are in
(``deploy.site.facts.health``), a file's name is its media URL's path under
SITE_URL/media/ or S3's media base, and the uploads are checked
afterwards at the URL each host's storage gives them.

Every request becomes a ``Record`` (``deploy.rehearsal.fetching``, with the HTTP
client and the checks of an answer).  A media fetch is checked against
what is known of the file (size and SHA-256, from a baseline fetch before the
rehearsal or from the bytes we uploaded), right after the page that rendered
its URL: a URL must be right for the moment it was rendered.

Private media (PUBLIC_MEDIA=false): after a share of the fetches of signed media
URLs the same URL is asked for without its query (kind "unsigned"): it must be
refused; one answered 200 is an anonymous success, and the rehearsal fails on any.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..config.redact import redact, url_shown
from ..site.facts.health import USUAL_MEDIA_URL, MediaBases, signed, unsigned
from .fetching import (RENDERED, Known, Record, Site, Upload, http, list_all, media_error, multipart, page_media,
                       rendered_storage, url_kind)

PAGE_SIZE = 20
JPEG_MAGIC = b"\xff\xd8\xff\xe0"


# --- the generator ------------------------------------------------------------------------

@dataclass
class Traffic:
    sites: list[Site]
    media_base: str                 # Settings.media_base_url: S3's media base (a custom domain's or the bucket's)
    upload_rate: float = 5.0        # uploads per second, over all hosts
    readers_per_host: int = 2
    max_seconds: float = 600.0      # the threads stop by themselves after this
    pause: float = 0.05             # between two rounds of one reader
    tag: str = "rehearsal"
    disk_media_url: str = USUAL_MEDIA_URL  # DISK_MEDIA_URL, else Django's usual: a disk media URL's name after it
    public_media: bool = True       # PUBLIC_MEDIA; False: signed media URLs' unsigned forms are tried too
    unsigned_share: float = 0.5     # of the fetches of signed media URLs, those whose unsigned form is tried
    records: list[Record] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    known: dict[str, Known] = field(default_factory=dict)
    missing_before: list[str] = field(default_factory=list)
    fetch: Callable = http
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _listed: int = 0

    def bases(self, site: Site) -> MediaBases:
        return MediaBases.of(site.url, self.media_base, self.disk_media_url)

    def read_pages(self, site: Site) -> dict[str, str]:
        """name -> media URL of every file a site's check pages show (OSError if one does not answer)."""
        found = {}
        for page in site.pages:
            status, body, error = self.fetch(page)
            if status != 200:
                raise OSError(f"{site.alias}: {page} answered {error or status}")
            found.update(page_media(body, page, self.bases(site))[1])
        return found

    def storage_now(self, site: Site) -> str:
        """The storage a site shows now ("s3", "disk", "mixed"), or why none ("HTTP 404", "no media URL")."""
        if site.by_pages:
            status, body, error = self.fetch(site.pages[0])
            storage = page_media(body, site.pages[0], self.bases(site))[0] if status == 200 else ""
            return storage or (f"HTTP {status or error}" if status != 200 else "no media URL on the page")
        status, body, error = self.fetch(site.health_url)
        return json.loads(body).get("storage") if status == 200 else f"HTTP {status or error}"

    def baseline(self, sample: int = 40) -> None:
        """Learn size and hash of a spread of listed files; note the ones already missing."""
        site = self.sites[0]
        names = list((self.read_pages(site) if site.by_pages else list_all(site, self.fetch)).items())
        self._listed = len(names)
        step = max(1, len(names) // sample)
        for name, url in names[::step][:sample]:
            _, absolute = url_kind(url, site.url, self.media_base)
            status, body, _ = self.fetch(absolute) if absolute else (0, b"", "")
            if status == 200:
                self.known[name] = Known(len(body), hashlib.sha256(body).hexdigest())
            else:
                self.missing_before.append(name)

    def start(self) -> None:
        deadline = time.time() + self.max_seconds
        for site in self.sites:
            workers = [self._reader] * self.readers_per_host + ([self._uploader] if self.upload_rate > 0 else [])
            for number, work in enumerate(workers):
                thread = threading.Thread(target=work, args=(site, deadline, number), daemon=True,
                                          name=f"traffic-{site.alias}-{number}")
                self._threads.append(thread)
                thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _running(self, deadline: float) -> bool:
        return not self._stop.is_set() and time.time() < deadline

    def _record(self, record: Record) -> None:
        with self._lock:
            self.records.append(record)

    def _get(self, site: Site, kind: str, url: str) -> tuple[Record, bytes]:
        begin, clock = time.time(), time.monotonic()
        status, body, error = self.fetch(url)
        record = Record(begin, site.alias, kind, status, round(time.monotonic() - clock, 4),
                        redact(error) if status != 200 else "", url=url_shown(url))
        return record, body

    def _reader(self, site: Site, deadline: float, number: int) -> None:
        chance = random.Random(f"{self.tag}-{site.alias}-{number}")
        while self._running(deadline):
            record, body = self._get(site, "health", site.pages[0] if site.by_pages else site.health_url)
            if record.status == 200 and site.by_pages:
                record.storage = page_media(body, site.pages[0], self.bases(site))[0]
                record.error = "" if record.storage else "the check page shows no media URL"
            elif record.status == 200:
                record.storage = str(json.loads(body).get("storage", ""))
            self._record(record)
            if site.by_pages:
                self._read_check_page(site, chance)
            else:
                self._read_page(site, chance)
            self._stop.wait(self.pause)

    def _read_page(self, site: Site, chance: random.Random) -> None:
        """One page of /files/ (often the newest uploads), then up to two known files it renders."""
        newest = chance.random() < 0.5
        offset = max(0, self._listed - PAGE_SIZE) if newest else chance.randrange(max(1, self._listed))
        record, body = self._get(site, "page", f"{site.url}/files/?limit={PAGE_SIZE}&offset={offset}")
        entries = []
        if record.status == 200:
            page = json.loads(body)
            entries = page["files"]
            self._listed = max(self._listed, int(page["count"]))
            record.storage = rendered_storage([entry["url"] for entry in entries], self.media_base)
        self._record(record)
        with self._lock:
            candidates = [(entry, self.known[entry["name"]]) for entry in entries if entry["name"] in self.known]
        for entry, known in chance.sample(candidates, min(2, len(candidates))):
            self._fetch_media(site, entry["name"], entry["url"], known, chance)

    def _read_check_page(self, site: Site, chance: random.Random) -> None:
        """One check page (its newest files, on a gallery), then up to two known files it shows."""
        page = chance.choice(site.pages)
        record, body = self._get(site, "page", page)
        shown = {}
        if record.status == 200:
            storage, shown = page_media(body, page, self.bases(site))
            record.storage = RENDERED[storage]
        self._record(record)
        with self._lock:
            candidates = [(name, url, self.known[name]) for name, url in shown.items() if name in self.known]
        for name, url, known in chance.sample(candidates, min(2, len(candidates))):
            self._fetch_media(site, name, url, known, chance)

    def _fetch_media(self, site: Site, name: str, url: str, known: Known,
                     chance: random.Random | None = None) -> None:
        storage, absolute = url_kind(url, site.url, self.media_base)
        if absolute is None:
            self._record(Record(time.time(), site.alias, "media", 0, 0.0,
                                "rendered a URL outside the site and the bucket (not fetched)", url=url_shown(url),
                                name=name))
            return
        record, body = self._get(site, "media", absolute)
        record.storage, record.error, record.name = storage, media_error(record.status, body, known), name
        self._record(record)
        if not self.public_media and storage == "bucket" and signed(absolute) \
                and (chance is None or chance.random() < self.unsigned_share):
            self._try_unsigned(site, name, absolute)

    def _try_unsigned(self, site: Site, name: str, url: str) -> None:
        """A signed media URL without its query: refused (401, 403) as it should be, or answered 200, an
        anonymous success (``anonymous_successes``); neither is a failed request."""
        record, _ = self._get(site, "unsigned", unsigned(url))
        record.storage, record.error, record.name = "bucket", "", name
        self._record(record)

    def _uploader(self, site: Site, deadline: float, number: int) -> None:
        chance = random.Random(f"{self.tag}-{site.alias}-upload")
        interval = len(self.sites) / self.upload_rate
        next_at, count = time.time(), 0
        while self._running(deadline):
            if self._stop.wait(max(0.0, next_at - time.time())):
                break
            next_at = max(next_at + interval, time.time())
            count += 1
            content = JPEG_MAGIC + os.urandom(chance.randrange(2_000, 40_000))
            self._upload(site, f"{self.tag} {site.alias} {count}.jpg", content)

    def _upload(self, site: Site, filename: str, content: bytes) -> None:
        body, content_type = multipart(filename, content)
        begin, clock = time.time(), time.monotonic()
        status, answer, error = self.fetch(f"{site.url}/upload/", body, content_type)
        record = Record(begin, site.alias, "upload", status, round(time.monotonic() - clock, 4), url="/upload/")
        if status != 201:
            record.error = error or f"HTTP {status}"
        else:
            stored = json.loads(answer)
            if stored.get("size") != len(content):
                record.error = f"answered size {stored.get('size')}, sent {len(content)} B"
            else:
                digest = hashlib.sha256(content).hexdigest()
                with self._lock:
                    self.uploads.append(Upload(begin, site.alias, stored["name"], len(content), digest))
                    self.known[stored["name"]] = Known(len(content), digest)
                record.name = stored["name"]
        self._record(record)
