"""The bucket adapter's own logic: anonymous fetches and the preflight probe (no real store)."""

import http.server
import io
import socket
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
    body = bucket.probe_body("media/.probe")
    stubbed.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))})
    stubbed.add_client_error("delete_object", "AccessDenied", http_status_code=403)
    with pytest.raises(PreflightError, match=r"^bucket my-media: delete media/.probe refused \(AccessDenied\)"):
        bucket.probe(settings, "media/.probe", check_public=False)


# --- the custom domain (MEDIA_CUSTOM_DOMAIN): it must serve the probe object just put ---------------

class Domain(http.server.BaseHTTPRequestHandler):
    """Stands in for a CDN: answers every GET with the server's ``answer`` (status, body); notes the paths."""

    def do_GET(self):
        status, body = self.server.answer
        self.server.paths.append(self.path)
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def domain():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Domain)
    server.answer, server.paths = (404, b"not here"), []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def domain_settings(tmp_path: Path, domain_host: str):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(
        MINIMAL + "AWS_ACCESS_KEY_ID=AKIAFILE\nAWS_SECRET_ACCESS_KEY=file-secret\n"
                  f"AWS_S3_ENDPOINT_URL=http://store.invalid\nMEDIA_CUSTOM_DOMAIN=http://{domain_host}\n")
    return load_settings("demo", tmp_path, {})


def stub_probe_object(stubbed, key: str) -> None:
    """The store's answers up to the domain's GET (the bucket's own anonymous GET is not asked for)."""
    body = bucket.probe_body(key)
    stubbed.add_response("list_objects_v2", {"KeyCount": 0})
    stubbed.add_response("put_object", {})
    stubbed.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))})
    stubbed.add_response("delete_object", {}, {"Bucket": "my-media", "Key": key})


def test_a_custom_domain_serving_the_probe_object_passes(tmp_path, stubbed, domain):
    host = f"127.0.0.1:{domain.server_address[1]}"
    key = "media/.media-cutover-probe-run1"
    domain.answer = (200, bucket.probe_body(key))
    stub_probe_object(stubbed, key)
    bucket.probe(domain_settings(tmp_path, host), key, check_public=False)
    assert domain.paths == ["/media/.media-cutover-probe-run1"]


def test_a_custom_domain_answering_404_is_refused_naming_the_key_the_status_and_the_origin(tmp_path, stubbed,
                                                                                            domain):
    host = f"127.0.0.1:{domain.server_address[1]}"
    key = "media/.media-cutover-probe-run1"
    stub_probe_object(stubbed, key)   # the object is deleted all the same
    with pytest.raises(PreflightError) as raised:
        bucket.probe(domain_settings(tmp_path, host), key, check_public=False)
    assert str(raised.value) == (
        f"MEDIA_CUSTOM_DOMAIN {host} does not serve this bucket: GET http://{host}/media/.media-cutover-probe-run1 "
        "answered HTTP 404, expected the probe object just put in s3://my-media/media/; point the domain's origin "
        "at http://store.invalid (origin path /my-media) or fix MEDIA_CUSTOM_DOMAIN")


def test_a_custom_domain_serving_other_bytes_is_refused(tmp_path, stubbed, domain):
    host = f"127.0.0.1:{domain.server_address[1]}"
    key = "media/.media-cutover-probe-run2"
    domain.answer = (200, bucket.probe_body("media/.media-cutover-probe-run1"))   # another bucket's probe
    stub_probe_object(stubbed, key)
    with pytest.raises(PreflightError, match=r"^MEDIA_CUSTOM_DOMAIN 127\.0\.0\.1:\d+ serves other bytes than the "
                                             r"probe object: .*another bucket or prefix\?") as raised:
        bucket.probe(domain_settings(tmp_path, host), key, check_public=False)
    assert "\n" not in str(raised.value)


def test_a_custom_domain_nothing_answers_is_refused_as_unreachable(tmp_path, stubbed):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{free.getsockname()[1]}"   # closed again: nothing listens there
    key = "media/.media-cutover-probe-run1"
    stub_probe_object(stubbed, key)
    with pytest.raises(PreflightError, match=rf"^MEDIA_CUSTOM_DOMAIN {host} cannot be reached: GET .* answered "
                                             r"nothing \(.*refused.*\); check the name's DNS record"):
        bucket.probe(domain_settings(tmp_path, host), key, check_public=False)


def test_the_domain_is_named_by_the_key_that_gave_it_and_an_aws_bucket_is_its_own_origin(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(
        MINIMAL + "AWS_ACCESS_KEY_ID=AKIAFILE\nAWS_SECRET_ACCESS_KEY=file-secret\nAWS_S3_REGION_NAME=eu-west-1\n"
                  "AWS_S3_CUSTOM_DOMAIN=cdn.example.com\n")
    settings = load_settings("demo", tmp_path, {})
    url = bucket.domain_url(settings, "media/.media-cutover-probe-r")
    assert url == "https://cdn.example.com/media/.media-cutover-probe-r"
    problem = bucket.domain_problem(settings, url, (403, b""), b"x")
    assert problem.startswith(f"AWS_S3_CUSTOM_DOMAIN cdn.example.com does not serve this bucket: GET {url} answered "
                              "HTTP 403, expected the probe object just put in s3://my-media/media/; ")
    assert problem.endswith("point the domain's origin at https://my-media.s3.eu-west-1.amazonaws.com (origin path "
                            "empty) or fix AWS_S3_CUSTOM_DOMAIN")
    assert bucket.domain_problem(settings, url, (200, b"x"), b"x") is None


def test_the_bucket_step_says_the_domain_served_the_probe_and_a_dry_run_that_it_was_not_checked(tmp_path,
                                                                                               monkeypatch):
    from types import SimpleNamespace
    from deploy.flows import preflight
    probed = []
    monkeypatch.setattr(preflight, "probe", lambda settings, key, **options: probed.append(key))
    monkeypatch.setattr(preflight, "check_readable", lambda settings, faults: None)
    settings = domain_settings(tmp_path, "cdn.example.com")
    run = SimpleNamespace(settings=settings, faults=None, run_id="r1", options=SimpleNamespace(dry_run=False))
    assert preflight.check_bucket(run) == ("bucket my-media: put/get/delete under media/ work, anonymous GET "
                                           "allowed, served through cdn.example.com")
    assert probed == ["media/.media-cutover-probe-r1"]
    run.options.dry_run = True
    assert preflight.check_bucket(run) == ("bucket my-media readable (dry run: no probe object written; "
                                           "cdn.example.com not checked, a run checks it serves the bucket)")


def test_the_bucket_step_refuses_private_media_uploaded_with_a_public_cache_control(tmp_path, monkeypatch):
    from dataclasses import replace
    from types import SimpleNamespace
    from deploy.errors import PreflightError
    from deploy.flows import preflight
    monkeypatch.setattr(preflight, "probe", lambda settings, key, **options: pytest.fail("probed"))
    settings = replace(domain_settings(tmp_path, "cdn.example.com"), custom_domain=None, public_media=False,
                       cache_control="max-age=86400, public")
    run = SimpleNamespace(settings=settings, faults=None, run_id="r1", options=SimpleNamespace(dry_run=False))
    with pytest.raises(PreflightError, match="CACHE_CONTROL is 'max-age=86400, public' while PUBLIC_MEDIA=false"):
        preflight.check_bucket(run)
