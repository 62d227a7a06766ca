"""The rehearsal's traffic bookkeeping, against a fake site in memory (no network)."""

import hashlib
import json
import re
import time

import pytest

from deploy.rehearsal.report import anonymous
from deploy.rehearsal.fetching import Known, Site, media_error, multipart, rendered_storage, url_kind
from deploy.rehearsal.traffic import JPEG_MAGIC, Traffic
from deploy.rehearsal.uploads import check_uploads

BUCKET = "http://s3.test/bucket"
MEDIA_BASE = f"{BUCKET}/media/"   # Settings.media_base_url
SITE = Site("web1", "http://web1.test", "http://web1.test/healthz")
OTHER = Site("web2", "http://web2.test", "http://web2.test/healthz")


class FakeSites:
    """Both sites and the bucket: /files/, /upload/, /healthz and media, all in dicts."""

    def __init__(self, storage="disk", files=None):
        self.storage = storage
        self.files = dict(files or {"a.jpg": b"A" * 10, "b.png": b"B" * 20})  # name -> bytes
        self.missing = set()  # listed, but the bytes are gone
        self.upload_status = 201
        self.answered_size = None
        self.calls = []

    def url_of(self, name):
        return f"{BUCKET}/media/{name}" if self.storage == "s3" else f"/media/{name}"

    def __call__(self, url, data=None, content_type=None, timeout=15):
        self.calls.append(url)
        if url.endswith("/healthz"):
            return 200, json.dumps({"storage": self.storage}).encode(), ""
        if "/files/" in url:
            names = list(self.files)
            match = re.search(r"limit=(\d+)&offset=(\d+)", url)
            if match:
                limit, offset = int(match[1]), int(match[2])
                names = names[offset:offset + limit]
            body = {"files": [{"name": n, "url": self.url_of(n), "size": None} for n in names],
                    "count": len(self.files)}
            return 200, json.dumps(body).encode(), ""
        if url.endswith("/upload/"):
            if self.upload_status != 201:
                return self.upload_status, b"", f"HTTP {self.upload_status}"
            content = data.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
            filename = re.search(rb'filename="([^"]+)"', data)[1].decode().replace(" ", "_")
            self.files[f"uploads/{filename}"] = content
            size = self.answered_size if self.answered_size is not None else len(content)
            return 201, json.dumps({"name": f"uploads/{filename}", "size": size}).encode(), ""
        name = url.split("/media/", 1)[1]
        if name in self.files and name not in self.missing:
            return 200, self.files[name], ""
        return 404, b"", "HTTP 404"


def traffic(fake, **options):
    return Traffic([SITE, OTHER], MEDIA_BASE, fetch=fake, **options)


def test_url_kind_resolves_relative_urls_and_refuses_other_hosts():
    assert url_kind("/media/a.jpg", SITE.url, MEDIA_BASE) == ("disk", "http://web1.test/media/a.jpg")
    assert url_kind(f"{BUCKET}/media/a.jpg", SITE.url, MEDIA_BASE) == ("bucket", f"{BUCKET}/media/a.jpg")
    assert url_kind("http://elsewhere.test/media/a.jpg", SITE.url, MEDIA_BASE) == ("", None)
    assert url_kind(f"{BUCKET}-evil/media/a.jpg", SITE.url, MEDIA_BASE) == ("", None)


def test_media_error_names_what_is_wrong():
    known = Known(3, hashlib.sha256(b"abc").hexdigest())
    assert media_error(200, b"abc", known) == ""
    assert media_error(404, b"", known) == "HTTP 404"
    assert media_error(0, b"", known) == "no answer"
    assert media_error(200, b"abcd", known) == "wrong size (4 B, expected 3 B)"
    assert media_error(200, b"abd", known) == "other bytes than expected"


def test_rendered_storage_of_a_page():
    assert rendered_storage(["/media/a", "/media/b"], MEDIA_BASE) == "disk"
    assert rendered_storage([f"{BUCKET}/media/a"], MEDIA_BASE) == "bucket"
    assert rendered_storage(["/media/a", f"{BUCKET}/media/a"], MEDIA_BASE) == "mixed"
    assert rendered_storage([], MEDIA_BASE) == ""


def test_multipart_carries_the_file_and_its_name():
    body, content_type = multipart("x y.jpg", JPEG_MAGIC + b"data")
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'filename="x y.jpg"' in body and JPEG_MAGIC + b"data" in body


def test_baseline_learns_sizes_and_hashes_and_notes_missing_files():
    fake = FakeSites()
    fake.missing = {"b.png"}
    generator = traffic(fake)
    generator.baseline()
    assert generator.known == {"a.jpg": Known(10, hashlib.sha256(b"A" * 10).hexdigest())}
    assert generator.missing_before == ["b.png"]


def test_an_answered_upload_is_kept_with_the_hash_of_the_bytes_sent():
    fake = FakeSites()
    generator = traffic(fake)
    generator._upload(SITE, "one.jpg", b"\xff\xd8hello")
    [upload] = generator.uploads
    assert (upload.host, upload.name, upload.size) == ("web1", "uploads/one.jpg", 7)
    assert upload.sha256 == hashlib.sha256(b"\xff\xd8hello").hexdigest()
    assert generator.known["uploads/one.jpg"].size == 7
    [record] = generator.records
    assert (record.kind, record.status, record.error, record.name) == ("upload", 201, "", "uploads/one.jpg")


@pytest.mark.parametrize("status, answered_size, error", [(500, None, "HTTP 500"), (201, 99, "answered size 99")])
def test_a_refused_or_garbled_upload_is_a_failed_request_and_not_counted(status, answered_size, error):
    fake = FakeSites()
    fake.upload_status, fake.answered_size = status, answered_size
    generator = traffic(fake)
    generator._upload(SITE, "two.jpg", b"bytes")
    assert generator.uploads == []
    assert generator.records[0].error.startswith(error)


def test_media_fetches_check_known_files_and_refuse_foreign_urls():
    fake = FakeSites()
    generator = traffic(fake)
    generator.known["a.jpg"] = Known(10, hashlib.sha256(b"A" * 10).hexdigest())
    generator._fetch_media(SITE, "a.jpg", "/media/a.jpg", generator.known["a.jpg"])
    fake.files["a.jpg"] = b"A" * 9
    generator._fetch_media(SITE, "a.jpg", "/media/a.jpg", generator.known["a.jpg"])
    generator._fetch_media(SITE, "a.jpg", "http://elsewhere.test/a.jpg", generator.known["a.jpg"])
    good, short, foreign = generator.records
    assert (good.error, good.storage, good.url) == ("", "disk", "http://web1.test/media/a.jpg")
    assert short.error == "wrong size (9 B, expected 10 B)"
    assert "outside the site and the bucket" in foreign.error
    assert "http://elsewhere.test/a.jpg" not in fake.calls


def test_threads_run_on_every_host_and_stop_by_themselves_at_the_deadline():
    fake = FakeSites()
    generator = traffic(fake, upload_rate=40, readers_per_host=1, max_seconds=0.6, pause=0.01)
    generator.baseline()
    begin = time.monotonic()
    generator.start()
    for thread in generator._threads:
        thread.join(timeout=5)
    assert time.monotonic() - begin < 3
    assert not any(thread.is_alive() for thread in generator._threads)
    kinds = {(record.host, record.kind) for record in generator.records}
    assert kinds >= {(alias, kind) for alias in ("web1", "web2") for kind in ("health", "page", "media", "upload")}
    assert not [record for record in generator.records if record.error]
    assert len(generator.uploads) >= 4


def test_check_uploads_finds_what_is_served_and_what_is_lost():
    fake = FakeSites()
    generator = traffic(fake)
    for name in ("kept.jpg", "gone.jpg", "changed.jpg"):
        generator._upload(SITE, name, JPEG_MAGIC + name.encode())
    fake.missing.add("uploads/gone.jpg")
    fake.files["uploads/changed.jpg"] = JPEG_MAGIC + b"other.jpg.."
    result = check_uploads([SITE, OTHER], generator.uploads, MEDIA_BASE, fetch=fake)
    assert (result["checked"], result["lost"]) == (3, 2)
    assert result["served_from"] == {"web1 disk": 1, "web2 disk": 1}
    problems = {sample["name"]: sample["problems"] for sample in result["lost_samples"]}
    assert problems["uploads/gone.jpg"] == ["web1: /media/uploads/gone.jpg: HTTP 404",
                                            "web2: /media/uploads/gone.jpg: HTTP 404"]
    assert problems["uploads/changed.jpg"][0].endswith("other bytes than expected")  # same size, other bytes


def test_check_uploads_counts_a_file_no_longer_listed_as_lost():
    fake = FakeSites()
    generator = traffic(fake)
    generator._upload(SITE, "x.jpg", b"x")
    del fake.files["uploads/x.jpg"]
    result = check_uploads([SITE], generator.uploads, MEDIA_BASE, fetch=fake)
    assert result["lost"] == 1
    assert result["lost_samples"][0]["problems"] == ["web1: not listed by /files/"]


# --- a site with only pages (shape (b): no /healthz, no /files/, media on an HTML gallery) ----------

PAGED = Site("web1", "http://web1.test", None, ("http://web1.test/gallery/",))
PAGED_OTHER = Site("web2", "http://web2.test", None, ("http://web2.test/gallery/",))


class FakeGallery(FakeSites):
    """Only /gallery/ (HTML: every file as <a href><img src>, a stylesheet, a footer link), /upload/ and media."""

    def __call__(self, url, data=None, content_type=None, timeout=15):
        if url.endswith("/healthz") or "/files/" in url:
            self.calls.append(url)
            return 404, b"", "HTTP 404"
        if url.endswith("/gallery/"):
            self.calls.append(url)
            items = "".join(f'<li><a href="{self.url_of(n)}"><img src="{self.url_of(n)}"></a></li>'
                            for n in reversed(list(self.files)))
            body = (f'<html><head><link rel="stylesheet" href="/static/css/site.abc.css"></head><body><ul>{items}</ul>'
                    '<footer><a href="https://www.djangoproject.com/">Django</a></footer></body></html>')
            return 200, body.encode(), ""
        return super().__call__(url, data, content_type, timeout)


def paged(fake, **options):
    return Traffic([PAGED, PAGED_OTHER], MEDIA_BASE, fetch=fake, **options)


def test_a_site_with_only_pages_shows_the_storage_its_media_urls_are_in():
    fake = FakeGallery()
    generator = paged(fake)
    assert generator.storage_now(PAGED) == "disk"
    fake.storage = "s3"
    assert generator.storage_now(PAGED) == "s3"
    fake.files = {}
    assert generator.storage_now(PAGED) == "no media URL on the page"


def test_the_baseline_of_a_paged_site_learns_the_files_its_pages_show_by_their_storage_names():
    fake = FakeGallery()
    fake.missing = {"b.png"}
    generator = paged(fake)
    generator.baseline()
    assert generator.known == {"a.jpg": Known(10, hashlib.sha256(b"A" * 10).hexdigest())}
    assert generator.missing_before == ["b.png"]
    assert not [call for call in fake.calls if "/files/" in call or "healthz" in call]


def test_readers_of_a_paged_site_record_health_from_the_page_and_fetch_what_it_renders():
    fake = FakeGallery(storage="s3")
    generator = paged(fake, upload_rate=40, readers_per_host=1, max_seconds=0.6, pause=0.01)
    generator.baseline()
    generator.start()
    for thread in generator._threads:
        thread.join(timeout=5)
    kinds = {(record.host, record.kind) for record in generator.records}
    assert kinds >= {(alias, kind) for alias in ("web1", "web2") for kind in ("health", "page", "media", "upload")}
    assert not [record for record in generator.records if record.error]
    assert {r.storage for r in generator.records if r.kind == "health"} == {"s3"}
    assert {r.storage for r in generator.records if r.kind == "page"} == {"bucket"}
    assert {r.storage for r in generator.records if r.kind == "media"} == {"bucket"}
    assert not [call for call in fake.calls if "djangoproject" in call or "/static/" in call]


def test_check_uploads_of_a_paged_site_fetches_each_upload_where_the_sites_storage_keeps_it():
    fake = FakeGallery()
    generator = paged(fake)
    for name in ("kept.jpg", "gone.jpg"):
        generator._upload(PAGED, name, JPEG_MAGIC + name.encode())
    fake.missing.add("uploads/gone.jpg")
    result = check_uploads([PAGED, PAGED_OTHER], generator.uploads, MEDIA_BASE, fetch=fake)
    assert (result["checked"], result["lost"]) == (2, 1)
    assert result["served_from"] == {"web1 disk": 1, "web2 disk": 1}
    problems = {sample["name"]: sample["problems"] for sample in result["lost_samples"]}
    assert problems["uploads/gone.jpg"] == ["web1: http://web1.test/media/uploads/gone.jpg: HTTP 404",
                                            "web2: http://web2.test/media/uploads/gone.jpg: HTTP 404"]
    fake.storage, fake.missing = "s3", set()
    result = check_uploads([PAGED], generator.uploads, MEDIA_BASE, fetch=fake)
    assert (result["lost"], result["served_from"]) == (0, {"web1 bucket": 2})
    fake.files = {}  # the page shows nothing: no storage to look in, every upload unconfirmed
    result = check_uploads([PAGED], generator.uploads, MEDIA_BASE, fetch=fake)
    assert result["lost"] == 2 and "shows no one storage (no media URL on the page)" in \
        result["lost_samples"][0]["problems"][0]


# --- private media (PUBLIC_MEDIA=false): signed URLs, their unsigned forms refused ---------------

SIGNATURE = "5ec7e75197a7" * 5
SIGNED = f"?X-Amz-Credential=AKIAFILE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={SIGNATURE}"


class PrivateGallery(FakeGallery):
    """The gallery renders signed bucket URLs; the bucket answers a URL without a signature ``unsigned``."""

    def __init__(self, **options):
        super().__init__(**options)
        self.unsigned = 403

    def url_of(self, name):
        return super().url_of(name) + (SIGNED if self.storage == "s3" else "")

    def __call__(self, url, data=None, content_type=None, timeout=15):
        if url.startswith(MEDIA_BASE) and "X-Amz-Signature=" not in url and self.unsigned != 200:
            self.calls.append(url)
            return self.unsigned, b"", f"HTTP {self.unsigned}"
        return super().__call__(url.split("?")[0], data, content_type, timeout)


def test_a_private_sites_signed_media_are_tried_unsigned_and_no_record_keeps_a_signature():
    fake = PrivateGallery(storage="s3")
    generator = paged(fake, public_media=False)
    generator.baseline()
    known = generator.known["a.jpg"]
    generator._fetch_media(PAGED, "a.jpg", fake.url_of("a.jpg"), known)
    fetched, refused = generator.records
    assert (fetched.kind, fetched.status, fetched.error) == ("media", 200, "")
    assert fetched.url == f"{MEDIA_BASE}a.jpg?<redacted>"
    assert (refused.kind, refused.status, refused.error, refused.url) == ("unsigned", 403, "", f"{MEDIA_BASE}a.jpg")
    assert fake.calls[-1] == f"{MEDIA_BASE}a.jpg"   # asked for without its query
    fake.unsigned = 200                             # the bucket's objects are public: an anonymous success
    generator._fetch_media(PAGED, "a.jpg", fake.url_of("a.jpg"), known)
    success = generator.records[-1]
    assert (success.kind, success.status, success.error) == ("unsigned", 200, "")
    assert anonymous(generator.records) == {"tried": 2, "successes": 1}
    fake.missing = {"a.jpg"}                        # a signed fetch that fails: its record shows no signature
    generator._fetch_media(PAGED, "a.jpg", fake.url_of("a.jpg"), known)
    failed = generator.records[-2]
    assert (failed.error, failed.url) == ("HTTP 404", f"{MEDIA_BASE}a.jpg?<redacted>")
    assert not [record for record in generator.records if SIGNATURE in json.dumps(record.__dict__)]


def test_a_public_site_or_a_disk_url_is_never_tried_unsigned():
    fake = PrivateGallery(storage="s3")
    generator = paged(fake)                       # PUBLIC_MEDIA=true
    generator.baseline()
    generator._fetch_media(PAGED, "a.jpg", fake.url_of("a.jpg"), generator.known["a.jpg"])
    fake.storage = "disk"
    private = paged(fake, public_media=False)
    private._fetch_media(PAGED, "a.jpg", fake.url_of("a.jpg"), generator.known["a.jpg"])
    assert [record.kind for record in generator.records + private.records] == ["media", "media"]


def test_check_uploads_of_a_private_paged_site_fetches_them_at_the_signed_urls_its_pages_render():
    fake = PrivateGallery()
    generator = paged(fake, public_media=False)
    for name in ("kept.jpg", "changed.jpg"):
        generator._upload(PAGED, name, JPEG_MAGIC + name.encode())
    fake.storage = "s3"
    fake.files["uploads/changed.jpg"] = JPEG_MAGIC + b"other.jpg.."
    result = check_uploads([PAGED], generator.uploads, MEDIA_BASE, fetch=fake, public_media=False)
    assert (result["checked"], result["lost"], result["served_from"]) == (2, 1, {"web1 bucket": 1})
    [problem] = result["lost_samples"][0]["problems"]
    assert problem == f"web1: {MEDIA_BASE}uploads/changed.jpg?<redacted>: other bytes than expected"
    del fake.files["uploads/kept.jpg"]   # no longer on the page: no signed URL to fetch it by
    result = check_uploads([PAGED], generator.uploads, MEDIA_BASE, fetch=fake, public_media=False)
    assert "web1: not shown on its check pages (PUBLIC_MEDIA=false" in result["lost_samples"][0]["problems"][0]
