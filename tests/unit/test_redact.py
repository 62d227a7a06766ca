"""No presigned URL's query string or other bearer credential in an error, the journal or the task's exit."""

from pathlib import Path

import pytest
import urllib3
from invoke.exceptions import Exit

from deploy import cli
from deploy.config.load import load_settings
from deploy.errors import RemoteError
from deploy.engine.events import StepFinished
from deploy.engine.journal import Journal
from deploy.config.redact import REDACTED, redact
from deploy.store import listing
from deploy.store.client import s3_client

from .configs import MINIMAL

SECRET = "file-secret-that-signs"


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    # Port 9 (discard) on loopback: nothing listens, every connection is refused at once.
    (tmp_path / "config" / "demo.env").write_text(
        MINIMAL + f"AWS_ACCESS_KEY_ID=AKIAFILEKEY\nAWS_SECRET_ACCESS_KEY={SECRET}\n"
                  "AWS_S3_ENDPOINT_URL=http://127.0.0.1:9\n")
    return load_settings("demo", tmp_path, {})


def presigned(settings) -> str:
    return s3_client(settings).generate_presigned_url(
        "list_objects_v2", Params={"Bucket": settings.bucket, "Prefix": "media/"}, ExpiresIn=900)


def assert_clean(text: str) -> None:
    for field in ("X-Amz-Signature", "X-Amz-Credential", "AKIAFILEKEY", SECRET):
        assert field not in text, text


def test_a_presigned_url_keeps_its_place_but_loses_its_query(settings):
    url = presigned(settings)
    assert "X-Amz-Signature=" in url
    text = redact(f"GET {url} failed (Max retries exceeded with url: {url[url.index('/my-media'):]})")
    assert_clean(text)
    assert text.startswith(f"GET http://127.0.0.1:9/my-media?{REDACTED} failed")
    assert f"with url: /my-media?{REDACTED})" in text


@pytest.mark.parametrize("text", [
    "X-Amz-Signature=0123abcd&X-Amz-Date=20261201T000000Z",
    "headers: {'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIAFILEKEY/20261201/us-east-1/s3, Signature=ab'}",
    '"url": "https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIAFILEKEY&Expires=1&Signature=abc%3D"',
])
def test_loose_signing_fields_and_authorization_values_are_masked(text):
    assert_clean(redact(text))


def test_text_without_credentials_is_unchanged():
    text = "https://bucket.example/media/a%20b.jpg?width=200 answered HTTP 404"
    assert redact(text) == text


def test_a_listing_that_cannot_reach_the_store_names_the_prefix_not_the_signed_url(settings):
    pages = listing._Pages(settings)
    pages.http = urllib3.PoolManager(retries=urllib3.Retry(total=0))
    with pytest.raises(RemoteError) as raised:
        list(pages.walk("media/"))
    message = str(raised.value)
    assert message.startswith("listing s3://my-media/media/ failed: ")
    assert "Max retries exceeded" in message
    assert_clean(message)


def test_the_journal_never_holds_a_signed_query(settings, tmp_path):
    journal = Journal(tmp_path / "runs", "20261201T000000Z-abcdef", "demo", "cutover")
    journal.record(StepFinished(step="verify", result="failed", seconds=0.1, summary=f"listing failed: "
                                f"{presigned(settings)}", peak_mb=None))
    text = journal.path.read_text()
    assert_clean(text)
    assert f"listing failed: http://127.0.0.1:9/my-media?{REDACTED}" in text


def test_the_task_boundary_prints_no_signed_query(settings):
    with pytest.raises(Exit) as raised:
        with cli.operator_errors():
            raise RemoteError(f"listing failed: {presigned(settings)}")
    assert_clean(str(raised.value.message))


def test_a_url_shown_by_a_check_loses_any_query_string():
    from deploy.config.redact import url_shown
    assert url_shown("https://b.s3.amazonaws.com/media/a.png?X-Amz-Signature=abc&X-Amz-Date=1#x") == (
        "https://b.s3.amazonaws.com/media/a.png?<redacted>")
    assert url_shown("https://cdn.example.com/media/a.png?token=s3cr3t") == "https://cdn.example.com/media/a.png?<redacted>"
    assert url_shown("https://cdn.example.com/media/a.png") == "https://cdn.example.com/media/a.png"
