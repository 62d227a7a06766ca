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
from deploy.site.ops import health
from deploy.site.facts.health import MediaBases, page_storage

from .configs import MINIMAL

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 50
BASES = MediaBases.of("http://site.test", "http://store.test/bucket", "media")


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

    def gallery(self) -> bytes:
        prefix = "/media/" if self.storage == "disk" else f"{self.base}/bucket/media/"
        images = "".join(f'<a href="{prefix}{name}"><img src="{prefix}{name}"></a>' for name in ("a.jpg", "b%20c.jpg"))
        return (f'<html><head><link rel="stylesheet" href="/static/css/site.abc123.css"></head><body>{images}'
                f'{self.extra}<footer><a href="https://www.djangoproject.com/">Django</a></footer></body></html>'
                ).encode()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/gallery/":
            return self.gallery_status, "text/html; charset=utf-8", self.gallery()
        if path == "/healthz" and self.healthz:
            return 200, "application/json", json.dumps({"storage": self.healthz}).encode()
        for prefix in ("/media/", "/bucket/media/"):
            if path.startswith(prefix) and path[len(prefix):] not in self.missing:
                return 200, self.media_type, JPEG
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
    assert page_storage([disk, bucket], BASES) == ("mixed", [disk, bucket])
    assert page_storage([css, footer, "http://store.test/bucket/other/a.jpg"], BASES) == ("", [])


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


def test_mixed_pages_are_said_as_such(site, tmp_path):
    settings, host = settings_for(tmp_path, site.base)
    site.extra = f'<img src="{site.base}/bucket/media/a.jpg">'
    assert health.storage_of(host, settings) == (200, "mixed")
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
    assert health.check_media_served_by_site(settings, host, 10) == 2
    site.missing.add("b%20c.jpg")
    with pytest.raises(HealthError, match=r"media URL .*/media/b%20c.jpg answered HTTP 404"):
        health.check_media_served_by_site(settings, host, 10)
    site.missing.clear()
    site.media_type = "text/html; charset=utf-8"
    with pytest.raises(HealthError, match="answered an HTML page"):
        health.check_media_served_by_site(settings, host, 10)
    site.media_type, site.storage = "image/jpeg", "s3"
    with pytest.raises(HealthError, match="still renders media URLs in the bucket"):
        health.check_media_served_by_site(settings, host, 10)


def test_on_s3_every_media_url_points_into_the_bucket_and_fetches_anonymously(site, tmp_path, monkeypatch):
    monkeypatch.setattr(health, "s3_client", lambda settings, **options: FakeBucket())
    settings, host = settings_for(tmp_path, site.base)
    with pytest.raises(HealthError, match=r"still renders media URLs outside the bucket .*/media/a.jpg"):
        health.check_media_served_from_bucket(settings, host, 10)
    site.storage = "s3"
    assert health.check_media_served_from_bucket(settings, host, 10) == 2
    assert health.check_media_served_from_bucket(settings, host, 1) == 1  # sampled
    site.media_type = "text/html"
    with pytest.raises(HealthError, match="answered an HTML page"):
        health.check_media_served_from_bucket(settings, host, 10)
    site.media_type = "video/mp4"  # any type but HTML will do
    assert health.check_media_served_from_bucket(settings, host, 10) == 2
    site.missing.add("a.jpg")
    with pytest.raises(HealthError, match="answered HTTP 404 without credentials"):
        health.check_media_served_from_bucket(settings, host, 10)


def test_the_cutovers_preflight_refuses_a_health_it_cannot_read_before_anything_changes(site, tmp_path):
    from types import SimpleNamespace

    from deploy.errors import PreflightError
    from deploy.flows import preflight

    assert "preflight: the sites' health answers" in [step.name for step in preflight.BEFORE_CUTOVER]
    settings, host = settings_for(tmp_path, site.base)
    run = SimpleNamespace(settings=settings, targets=(host,))
    assert preflight.check_health_source(run) == "web1: health from /gallery/"
    site.storage, site.extra = "none", ""
    site.gallery = lambda: b"<html><body><p>No photos yet.</p></body></html>"
    with pytest.raises(PreflightError, match=r"configuration problem, not health: .*/gallery/ shows no media URL"):
        preflight.check_health_source(run)
