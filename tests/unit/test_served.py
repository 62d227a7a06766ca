"""The media checks on S3 with a custom domain (a CDN) and with private media (signed URLs), against the
fake site and bucket of test_health; no message may show a signature."""

from __future__ import annotations

import pytest

from deploy.errors import HealthError, StoreUnavailable
from deploy.site.facts.health import MediaBases, Served, signed, unsigned
from deploy.site.ops import health, served

from .test_health import JPEG, FakeBucket, settings_for, site  # noqa: F401  (site: the fixture)

SIGNATURE = "5ec7e75197a7" * 5
SIGNED = ("?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAFILE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
          f"&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={SIGNATURE}")
PRIVATE = "MEDIA_CHECK_PATHS=/gallery/\nPUBLIC_MEDIA=false\n"


class OtherBytes(FakeBucket):
    def head_object(self, Bucket, Key):
        return {**super().head_object(Bucket, Key), "ContentLength": len(JPEG) + 1}


@pytest.fixture
def bucket(monkeypatch):
    monkeypatch.setattr(served, "s3_client", lambda settings, **options: FakeBucket())


def test_a_signed_url_is_told_by_its_signature_and_its_unsigned_form_has_no_query():
    assert signed(f"http://s/b/media/a.jpg{SIGNED}")
    assert signed("http://s/b/media/a.jpg?AWSAccessKeyId=AKIA&Signature=abc%3D&Expires=1")   # SigV2
    assert not signed("http://s/b/media/a.jpg?v=3") and not signed("http://s/b/media/a.jpg")
    assert unsigned(f"http://s/b/media/b%20c.jpg{SIGNED}#top") == "http://s/b/media/b%20c.jpg"


def test_a_custom_domains_urls_are_in_the_bucket_and_name_their_objects_from_its_base():
    bases = MediaBases.of("http://site.test", "https://cdn.example.com/media/", "/media/")
    url = f"https://cdn.example.com/media/uploads/b%20c.jpg{SIGNED}"
    assert bases.storage_of(url) == "s3" and bases.key_of(url, "media") == "media/uploads/b c.jpg"
    assert bases.storage_of("http://store.test/bucket/media/a.jpg") is None   # the bucket's own URL: not the site's
    assert bases.key_of("http://site.test/media/a.jpg", "media") is None


def test_with_a_custom_domain_the_media_urls_on_it_are_fetched_through_it(site, tmp_path, bucket):
    port = site.base.rsplit(":", 1)[1]
    settings, host = settings_for(tmp_path, site.base, f"MEDIA_CHECK_PATHS=/gallery/\nMEDIA_CUSTOM_DOMAIN="
                                                       f"http://localhost:{port}\n")
    assert settings.media_base_url == f"http://localhost:{port}/media/"
    site.storage, site.s3_base = "s3", settings.media_base_url   # the CDN's host, the keys under AWS_LOCATION
    assert health.storage_of(host, settings) == (200, "s3")
    assert served.check_media_served_from_bucket(settings, host, 10) == Served(2, through=f"localhost:{port}")


def test_private_media_are_signed_fetched_and_refused_without_their_signature(site, tmp_path, bucket):
    settings, host = settings_for(tmp_path, site.base, PRIVATE)
    site.storage, site.query, site.unsigned_status = "s3", SIGNED, 403
    found = served.check_media_served_from_bucket(settings, host, 10)
    assert found == Served(2, (), 2, (403, 403))
    assert found.summary("media URLs fetch from the bucket") == \
        "2 signed media URLs fetched 200; their unsigned form refused 2 times (HTTP 403)"
    site.unsigned_status = 401
    assert served.check_media_served_from_bucket(settings, host, 1).refused == (401,)   # sampled

    site.unsigned_status = 200
    with pytest.raises(HealthError, match=r"web1: http://.*/bucket/media/a.jpg is readable without a signature "
                                          r"\(HTTP 200\): the bucket's objects are public though PUBLIC_MEDIA=false; "
                                          r"remove the public read policy \(invoke provision\)"):
        served.check_media_served_from_bucket(settings, host, 10)
    site.unsigned_status = 404
    with pytest.raises(HealthError, match=r"unsigned form of a signed media URL, answered HTTP 404 AccessDenied; "):
        served.check_media_served_from_bucket(settings, host, 10)
    site.unsigned_status, site.query = 403, ""
    with pytest.raises(HealthError, match=r"renders unsigned media URLs though PUBLIC_MEDIA=false \(2 of 2, e.g. "
                                          r"http://.*/bucket/media/a.jpg\)"):
        served.check_media_served_from_bucket(settings, host, 10)


def test_public_media_are_fetched_as_rendered_and_their_unsigned_form_is_not_tried(site, tmp_path, bucket):
    settings, host = settings_for(tmp_path, site.base)
    site.storage, site.unsigned_status = "s3", 403   # a public site renders unsigned URLs: all of them refused
    with pytest.raises(HealthError, match="answered HTTP 403 AccessDenied"):
        served.check_media_served_from_bucket(settings, host, 10)
    site.unsigned_status = 200
    assert served.check_media_served_from_bucket(settings, host, 10).summary("media URLs fetch from the bucket") \
        == "2 media URLs fetch from the bucket"


def _said(check, *args) -> str:
    with pytest.raises((HealthError, StoreUnavailable)) as caught:
        check(*args)
    return str(caught.value)


def test_no_failure_of_a_private_sites_checks_shows_a_signature(site, tmp_path, bucket, monkeypatch):
    settings, host = settings_for(tmp_path, site.base, PRIVATE + "STORE_RETRY_ATTEMPTS=2\nSTORE_RETRY_SECONDS=1\n")
    site.storage, site.query, site.unsigned_status = "s3", SIGNED, 403
    messages = {}
    site.missing.add("a.jpg")
    messages["404"] = _said(served.check_media_served_from_bucket, settings, host, 10)
    site.missing.clear()
    site.media_type = "text/html"
    messages["html"] = _said(served.check_media_served_from_bucket, settings, host, 10)
    site.media_type, site.media_status = "image/jpeg", 503
    messages["503"] = _said(served.check_media_served_from_bucket, settings, host, 10)
    site.media_status = 200
    monkeypatch.setattr(served, "s3_client", lambda settings, **options: OtherBytes())
    messages["bytes"] = _said(served.check_media_served_from_bucket, settings, host, 10)
    site.storage = "disk"   # signed URLs where the disk's are expected, and the other way round
    messages["outside"] = _said(served.check_media_served_from_bucket, settings, host, 10)
    site.extra = f'<img src="{site.base}/bucket/media/a.jpg{SIGNED}">'
    messages["in bucket"] = _said(served.check_media_served_by_site, settings, host, 10)

    assert "answered HTTP 404" in messages["404"] and "an HTML page" in messages["html"]
    assert "the store answered HTTP 503" in messages["503"] and "other bytes" in messages["bytes"]
    assert "outside the bucket" in messages["outside"] and "still renders media URLs in the bucket" in \
        messages["in bucket"]
    for what, message in messages.items():
        assert "/media/a.jpg?<redacted>" in message or "/media/b%20c.jpg?<redacted>" in message, (what, message)
        assert SIGNATURE not in message and "X-Amz-" not in message and "AKIAFILE" not in message, (what, message)
