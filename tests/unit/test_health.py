"""Health without a health view: the modes pages show, the checks of their media URLs, and what the
errors say, against a fake site and bucket on a loopback HTTP server (and pure helpers without one)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.errors import HealthError
from deploy.site.ops import health, served
from deploy.site.facts.health import MediaBases, PageMedia, Served, disk_media_url, page_storage

from .configs import MINIMAL

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 50
BASES = MediaBases.of("http://site.test", "http://store.test/bucket/media/", "/media/")


class FakeSite:
    """The site (/gallery/, /healthz, /media/...) and the bucket (/bucket/media/...) on one server."""

    def __init__(self):
        self.storage = "disk"         # what the gallery renders
        self.healthz = None           # None: no /healthz (404); else the storage it reports
        self.gallery_status = 200
        self.extra = ""               # more HTML in the gallery
        self.media_type = "image/jpeg"
        self.missing = set()          # names that answer 404
        self.base = ""
        self.media_url = "/media/"    # the site's MEDIA_URL on disk
        self.s3_base = None           # where media URLs point on S3; None: the bucket's URL + /media/
        self.query = ""               # after each media URL: a signature on a private site
        self.unsigned_status = 200    # what the bucket answers a media URL without X-Amz-Signature
        self.media_status = 200       # what every media URL answers (but a missing or refused one)

    def gallery(self) -> bytes:
        prefix = self.media_url if self.storage == "disk" else self.s3_base or f"{self.base}/bucket/media/"
        images = "".join(f'<a href="{prefix}{name}{self.query}"><img src="{prefix}{name}{self.query}"></a>'
                         for name in ("a.jpg", "b%20c.jpg"))
        return (f'<html><head><link rel="stylesheet" href="/static/css/site.abc123.css"></head><body>{images}'
                f'{self.extra}<footer><a href="https://www.djangoproject.com/">Django</a></footer></body></html>'
                ).encode()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        path, _, query = path.partition("?")
        if path.startswith("/bucket/media/") and "X-Amz-Signature=" not in query and self.unsigned_status != 200:
            return self.unsigned_status, "application/xml", b"<Error><Code>AccessDenied</Code></Error>"
        if path == "/gallery/":
            return self.gallery_status, "text/html; charset=utf-8", self.gallery()
        if path == "/healthz" and self.healthz:
            return 200, "application/json", json.dumps({"storage": self.healthz}).encode()
        for prefix in (self.media_url, "/bucket/media/"):
            if path.startswith(prefix) and path[len(prefix):] not in self.missing:
                return self.media_status, self.media_type, JPEG
        return 404, "text/html", b"<h1>Not found</h1>"


@pytest.fixture
def site():
    fake = FakeSite()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, content_type, body = fake.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


def settings_for(tmp_path: Path, base: str, extra: str = "MEDIA_CHECK_PATHS=/gallery/\n"):
    (tmp_path / "config").mkdir(exist_ok=True)
    text = MINIMAL.replace("SITE_URL=http://127.0.0.1:8001", f"SITE_URL={base}")
    (tmp_path / "config" / "demo.env").write_text(
        text + f"AWS_ACCESS_KEY_ID=AKIAFILE\nAWS_SECRET_ACCESS_KEY=file-secret\nAWS_S3_ENDPOINT_URL={base}\n"
               "AWS_STORAGE_BUCKET_NAME=bucket\n" + extra)
    settings = load_settings("demo", tmp_path, {})
    return settings, settings.host("web1")


class FakeBucket:
    def head_object(self, Bucket, Key):
        assert Key in ("media/a.jpg", "media/b c.jpg"), Key
        return {"ContentLength": len(JPEG), "ETag": f'"{hashlib.md5(JPEG).hexdigest()}"'}


# --- pure: which URLs are media, the mode a page shows ------------------------------------------

def test_a_page_shows_s3_disk_mixed_or_nothing_and_other_urls_are_ignored():
    footer, css = "https://www.djangoproject.com/", "http://site.test/static/css/site.abc.css"
    disk, bucket = "http://site.test/media/a.jpg", "http://store.test/bucket/media/a.jpg"
    assert page_storage([css, disk, footer], BASES) == ("disk", [disk])
    assert page_storage([bucket, footer], BASES) == ("s3", [bucket])
    assert page_storage([disk, bucket], BASES) == ("s3", [disk, bucket])   # the disk URL: the content's
    assert page_storage([disk, bucket], BASES, expected="disk") == ("mixed", [disk, bucket])
    assert page_storage([css, footer, "http://store.test/bucket/other/a.jpg"], BASES) == ("", [])


def test_disk_urls_beside_bucket_urls_are_content_references_but_alone_they_prove_nothing():
    disk, bucket = "http://site.test/media/a.jpg", "http://store.test/bucket/media/b.jpg"
    linked = "http://site.test/media/c.pdf"
    page = PageMedia.of([disk, bucket, linked, "https://www.djangoproject.com/"], BASES)
    assert (page.bucket, page.disk) == ((bucket,), (disk, linked))
    assert page.storage("s3") == page.storage() == "s3"
    assert page.content_references("s3") == (disk, linked) and page.served("s3") == (bucket,)
    assert page.storage("disk") == "mixed" and page.content_references("disk") == ()   # a failed rollback
    alone = PageMedia.of([disk], BASES)
    assert alone.storage("s3") == "disk" and alone.content_references("s3") == ()   # no proof of the switch


def test_the_disk_media_url_is_the_configs_else_the_sites_own_on_disk_else_djangos_usual():
    assert disk_media_url("/files/", [("/static/media/", True)]) == ("/files/", "DISK_MEDIA_URL")
    seen = [("http://store.test/bucket/media/", False), ("/static/media/", True)]
    assert disk_media_url(None, seen) == ("/static/media/", "the site's MEDIA_URL")
    url, source = disk_media_url(None, seen[:1])   # probed on S3 only: its MEDIA_URL is the bucket's
    assert url == "/media/" and "no probe of the site on disk" in source and "DISK_MEDIA_URL" in source
    assert MediaBases.of("http://site.test/", "http://s/b/media/", "/static/media/").disk == \
        "http://site.test/static/media/"
    assert MediaBases.of("http://site.test", "http://s/b/media/", "https://media.example.com/").disk == \
        "https://media.example.com/"


def test_a_media_urls_name_is_its_path_under_the_base_decoded():
    assert BASES.name_of("http://site.test/media/uploads/b%20c.jpg") == "uploads/b c.jpg"
    assert BASES.name_of("http://store.test/bucket/media/uploads/b%20c.jpg?x=1") == "uploads/b c.jpg"
    assert BASES.name_of("http://site.test/static/a.css") is None


# --- config: where health comes from ------------------------------------------------------------

def test_check_pages_without_health_url_mean_no_healthz_is_assumed(tmp_path):
    _, host = settings_for(tmp_path, "http://127.0.0.1:8001")
    assert (host.health_url, host.media_check_paths) == (None, ("/gallery/",))
    _, host = settings_for(tmp_path, "http://127.0.0.1:8001", "MEDIA_CHECK_PATHS=/gallery/\nHEALTH_URL=http://h/up\n")
    assert host.health_url == "http://h/up"
    _, host = settings_for(tmp_path, "http://127.0.0.1:8001", "MEDIA_LIST_PATH=/files/\n")  # today's configs
    assert (host.health_url, host.media_check_paths) == ("http://127.0.0.1:8001/healthz", ("/files/",))
    _, host = settings_for(tmp_path, "http://127.0.0.1:8001", "MEDIA_CHECK_PATHS__WEB1=/gallery/\n")  # per host
    assert (host.health_url, host.media_check_paths) == (None, ("/gallery/",))


# --- against the fake site -----------------------------------------------------------------------

def test_the_wait_reads_the_pages_when_there_is_no_health_url(site, tmp_path):
    settings, host = settings_for(tmp_path, site.base)
    assert health.storage_of(host, settings) == (200, "disk")
    assert health.wait_for_storage(host, "disk", 5, settings) < 5
    site.storage = "s3"
    assert health.wait_for_storage(host, "s3", 5, settings) < 5


def test_a_site_still_in_the_old_mode_after_the_reload_did_not_pick_up_the_new_settings(site, tmp_path):
    settings, host = settings_for(tmp_path, site.base)
    with pytest.raises(HealthError) as raised:
        health.wait_for_storage(host, "s3", 0.5, settings)
    message = str(raised.value)
    assert "still showed storage=disk (the old mode)" in message and "did not pick up the new settings" in message
    assert "--preload" in message and "RELOAD_COMMAND must restart" in message and "\n" not in message


def test_the_old_mode_from_a_health_url_says_the_same(site, tmp_path):
    site.healthz = "s3"
    settings, host = settings_for(tmp_path, site.base, f"HEALTH_URL={site.base}/healthz\n")
    with pytest.raises(HealthError, match=r"storage=s3 \(the old mode\).*did not pick up the new settings"):
        health.wait_for_storage(host, "disk", 0.5)


def test_a_page_that_answers_no_200_is_a_plain_timeout_not_a_reload_problem(site, tmp_path):
    settings, host = settings_for(tmp_path, site.base)
    site.gallery_status = 502
    with pytest.raises(HealthError) as raised:
        health.wait_for_storage(host, "s3", 0.3, settings)
    assert "did not report storage=s3" in str(raised.value) and "HTTP 502" in str(raised.value)
    assert "pick up" not in str(raised.value)


def test_a_page_without_media_urls_is_a_configuration_problem_naming_the_page_and_the_bases(site, tmp_path):
    settings, host = settings_for(tmp_path, site.base, "MEDIA_CHECK_PATHS=/gallery/,/healthz\n")
    site.healthz = "disk"  # answers 200, JSON without any "url"
    with pytest.raises(HealthError) as raised:
        health.wait_for_storage(host, "disk", 0.3, settings)
    message = str(raised.value)
    assert f"configuration problem, not health: {site.base}/healthz shows no media URL" in message
    assert f"under {site.base}/media/ on disk or {site.base}/bucket/media/ on S3" in message
    assert health.health_problem(settings, host) == message


def test_mixed_pages_are_said_as_such_on_the_way_to_disk(site, tmp_path):
    settings, host = settings_for(tmp_path, site.base)
    site.extra = f'<img src="{site.base}/bucket/media/a.jpg">'
    assert health.storage_of(host, settings, expected="disk") == (200, "mixed")
    assert health.storage_of(host, settings) == (200, "s3")   # on S3 its disk URLs would be the content's
    with pytest.raises(HealthError, match=r"storage=mixed \(media URLs both on disk and in the bucket\)"):
        health.wait_for_storage(host, "disk", 0.3, settings)


def test_the_preflight_finds_the_health_configuration_good_or_names_what_to_fix(site, tmp_path):
    settings, host = settings_for(tmp_path, site.base)
    assert health.health_problem(settings, host) is None
    site.gallery_status = 404
    assert health.health_problem(settings, host) == (
        f"web1: configuration problem: the check page {site.base}/gallery/ answered HTTP 404; "
        "MEDIA_CHECK_PATHS must name pages the site serves")
    settings, host = settings_for(tmp_path, site.base, "")  # no pages: the default /healthz, a 404 here,
    assert health.health_problem(settings, host) is None   # is left to the wait and the undo after the switch


def test_neither_a_health_url_nor_pages_is_a_configuration_problem(site, tmp_path):
    from dataclasses import replace
    settings, host = settings_for(tmp_path, site.base)
    host = replace(host, media_check_paths=())
    assert "no HEALTH_URL and no MEDIA_CHECK_PATHS" in health.health_problem(settings, host)
    with pytest.raises(HealthError, match="configuration problem: no HEALTH_URL and no MEDIA_CHECK_PATHS"):
        health.wait_for_storage(host, "disk", 5, settings)


def test_on_disk_every_media_url_is_under_media_url_and_fetches_from_the_site(site, tmp_path):
    settings, host = settings_for(tmp_path, site.base)
    assert served.check_media_served_by_site(settings, host, 10).checked == 2
    site.missing.add("b%20c.jpg")
    with pytest.raises(HealthError, match=r"media URL .*/media/b%20c.jpg answered HTTP 404"):
        served.check_media_served_by_site(settings, host, 10)
    site.missing.clear()
    site.media_type = "text/html; charset=utf-8"
    with pytest.raises(HealthError, match="answered an HTML page"):
        served.check_media_served_by_site(settings, host, 10)
    site.media_type, site.storage = "image/jpeg", "s3"
    with pytest.raises(HealthError, match="still renders media URLs in the bucket"):
        served.check_media_served_by_site(settings, host, 10)
    site.storage, site.extra = "disk", f'<img src="{site.base}/bucket/media/a.jpg">'   # one is enough
    with pytest.raises(HealthError, match="still renders media URLs in the bucket"):
        served.check_media_served_by_site(settings, host, 10)


def test_on_s3_every_media_url_points_into_the_bucket_and_fetches_anonymously(site, tmp_path, monkeypatch):
    monkeypatch.setattr(served, "s3_client", lambda settings, **options: FakeBucket())
    settings, host = settings_for(tmp_path, site.base)
    with pytest.raises(HealthError, match=r"still renders media URLs outside the bucket .*/media/a.jpg"):
        served.check_media_served_from_bucket(settings, host, 10)
    site.storage = "s3"
    assert served.check_media_served_from_bucket(settings, host, 10) == Served(2)
    assert served.check_media_served_from_bucket(settings, host, 1).checked == 1  # sampled
    site.media_type = "text/html"
    with pytest.raises(HealthError, match="answered an HTML page"):
        served.check_media_served_from_bucket(settings, host, 10)
    site.media_type = "video/mp4"  # any type but HTML will do
    assert served.check_media_served_from_bucket(settings, host, 10).checked == 2
    site.missing.add("a.jpg")
    with pytest.raises(HealthError, match="answered HTTP 404 without credentials"):
        served.check_media_served_from_bucket(settings, host, 10)


def test_the_cutovers_preflight_refuses_a_health_it_cannot_read_before_anything_changes(site, tmp_path):
    from types import SimpleNamespace

    from deploy.errors import PreflightError
    from deploy.flows import preflight
    from deploy.flows.state import FlowState

    assert "preflight: the sites' health answers" in [step.name for step in preflight.BEFORE_CUTOVER]
    settings, host = settings_for(tmp_path, site.base)
    run = SimpleNamespace(settings=settings, targets=(host,), state=FlowState())
    assert preflight.check_health_source(run) == (
        "web1: health from /gallery/\nmedia on disk under /media/ (Django's usual MEDIA_URL (no probe of the site on "
        "disk; DISK_MEDIA_URL sets it))")
    site.storage, site.extra = "none", ""
    site.gallery = lambda: b"<html><body><p>No photos yet.</p></body></html>"
    with pytest.raises(PreflightError, match=r"configuration problem, not health: .*/gallery/ shows no media URL"):
        preflight.check_health_source(run)


def test_on_s3_the_contents_urls_to_the_old_location_are_counted_not_a_failed_switch(site, tmp_path, monkeypatch):
    monkeypatch.setattr(served, "s3_client", lambda settings, **options: FakeBucket())
    settings, host = settings_for(tmp_path, site.base)
    site.storage = "s3"
    site.extra = ('<article><img src="/media/uploads/old.png"><a href="/media/doc.pdf">doc</a>'
                  f'<a href="{site.base}/media/uploads/old.png">again</a></article>')
    assert health.wait_for_storage(host, "s3", 5, settings) < 5
    found = served.check_media_served_from_bucket(settings, host, 10)
    assert found == Served(2, (("/gallery/", 2, 2),))   # old.png once: the page's URLs each once
    assert found.lines("web1") == ["web1: /gallery/ 2 media URLs in the bucket, 2 content references to the old "
                                   "location (the content's own URLs)"]
    site.storage = "disk"   # only disk URLs: nothing shows the switch happened
    with pytest.raises(HealthError, match=r"outside the bucket .*/media/a.jpg on .*/gallery/, and none in it"):
        served.check_media_served_from_bucket(settings, host, 10)


def test_a_site_whose_media_url_is_not_media_is_read_by_its_own(site, tmp_path, monkeypatch):
    from dataclasses import replace

    site.media_url = "/static/media/"
    settings, host = settings_for(tmp_path, site.base)
    assert "shows no media URL" in health.health_problem(settings, host)   # Django's usual /media/: nothing
    settings = replace(settings, disk_media_url="/static/media/")          # the site's own, as the probe read it
    assert health.health_problem(settings, host) is None
    assert health.storage_of(host, settings) == (200, "disk")
    assert served.check_media_served_by_site(settings, host, 10).checked == 2
    site.storage = "s3"
    site.extra = '<img src="/static/media/uploads/old.png">'
    monkeypatch.setattr(served, "s3_client", lambda settings, **options: FakeBucket())
    assert served.check_media_served_from_bucket(settings, host, 10).content == (("/gallery/", 2, 1),)
