"""The bucket adapter's own logic: anonymous fetches and the preflight probe (no real store)."""

import http.server
import io
import threading
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from deploy.config.load import load_settings
from deploy.store import probe as bucket
from deploy.errors import PreflightError

from .configs import MINIMAL


class LowerCaseHeaders(http.server.BaseHTTPRequestHandler):
    """Answers as some stores and CDNs do: header names in lower case."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", "3")
        self.end_headers()
        self.wfile.write(b"png")

    def log_message(self, *args):
        pass


@pytest.fixture
def lower_case_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), LowerCaseHeaders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_anonymous_get_looks_headers_up_whatever_their_case(lower_case_server):
    status, body, headers = bucket.anonymous_get(lower_case_server + "/media/a.png")
    assert (status, body) == (200, b"png")
    assert headers.get("Content-Type") == "image/png"
    assert headers["CONTENT-TYPE"] == "image/png"


def test_anonymous_get_of_nothing_answers_status_0_with_empty_headers():
    status, _, headers = bucket.anonymous_get("http://127.0.0.1:9/nothing", timeout=1)
    assert status == 0 and headers.get("Content-Type", "") == ""


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(
        MINIMAL + "AWS_ACCESS_KEY_ID=AKIAFILE\nAWS_SECRET_ACCESS_KEY=file-secret\n"
                  "AWS_S3_ENDPOINT_URL=http://store.invalid\n")
    return load_settings("demo", tmp_path, {})


@pytest.fixture
def stubbed(monkeypatch):
    client = boto3.session.Session().client("s3", region_name="us-east-1", endpoint_url="http://store.invalid",
                                            aws_access_key_id="AKIATEST", aws_secret_access_key="secret")
    monkeypatch.setattr(bucket, "s3_client", lambda settings, **options: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_a_refused_listing_is_what_the_probe_reports_not_the_failed_clean_up(settings, stubbed):
    stubbed.add_client_error("list_objects_v2", "AccessDenied", http_status_code=403)
    stubbed.add_client_error("delete_object", "AccessDenied", http_status_code=403)
    with pytest.raises(PreflightError) as raised:
        bucket.probe(settings, "media/.probe", check_public=False)
    assert str(raised.value) == ("bucket my-media: listing refused (AccessDenied): the key may not do this: "
                                 "check the IAM user's policy")


def test_a_failed_clean_up_after_a_failed_check_is_mentioned_after_it(settings, stubbed):
    stubbed.add_response("list_objects_v2", {"KeyCount": 0})
    stubbed.add_response("put_object", {})
    stubbed.add_client_error("get_object", "AccessDenied", http_status_code=403)
    stubbed.add_client_error("delete_object", "AccessDenied", http_status_code=403)
    with pytest.raises(PreflightError) as raised:
        bucket.probe(settings, "media/.probe", check_public=False)
    message = str(raised.value)
    assert message.startswith("bucket my-media: get media/.probe refused (AccessDenied)")
    assert "; also, bucket my-media: delete media/.probe refused (AccessDenied)" in message


def test_a_refused_delete_after_a_good_probe_is_reported(settings, stubbed):
    stubbed.add_response("list_objects_v2", {"KeyCount": 0})
    stubbed.add_response("put_object", {})
    body = b"media-cutover preflight probe\n"
    stubbed.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))})
    stubbed.add_client_error("delete_object", "AccessDenied", http_status_code=403)
    with pytest.raises(PreflightError, match=r"^bucket my-media: delete media/.probe refused \(AccessDenied\)"):
        bucket.probe(settings, "media/.probe", check_public=False)
