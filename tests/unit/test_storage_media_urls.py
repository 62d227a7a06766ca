"""The storage probe's view of the media URLs a site renders (signed or not, through which host), and the
staged settings check's refusals: unsigned URLs for private media, a custom domain the storage does not use."""

import ast
import json
import subprocess
from types import SimpleNamespace

import pytest

from deploy.errors import PreflightError
from deploy.flows.preflight import check_serving_s3
from deploy.site.facts.storage import parse_report, problems_on_s3
from deploy.site.ops.storage import s3_problems
from deploy.site.site_python import program

from .site_django import needs_django, site_python
from .test_storage_check import MANIFEST, report_line

CDN_BASE = "http://127.0.0.1:18190/media/"
SIGNED = {"default_querystring_auth": True, "default_url_protocol": "https:", "default_signed_url": True,
          "default_url_base": "http://127.0.0.1:18333/my-media/media/"}
PLAIN = {**SIGNED, "default_querystring_auth": False, "default_signed_url": False}
THROUGH_CDN = {**PLAIN, "default_custom_domain": "127.0.0.1:18190", "default_url_protocol": "http:",
               "default_url_base": CDN_BASE}


def judge(public_media=True, custom_domain=None, media_base_url=None, **changes):
    return problems_on_s3(parse_report(report_line(**changes), "web1"), "my-media", "media",
                          "http://127.0.0.1:18333", MANIFEST, public_media=public_media, custom_domain=custom_domain,
                          media_base_url=media_base_url)


def test_urls_that_serve_the_media_pass():
    assert judge(public_media=False, **SIGNED) == []
    assert judge(**PLAIN) == []
    assert judge(custom_domain="127.0.0.1:18190", media_base_url=CDN_BASE, **THROUGH_CDN) == []
    # A custom domain the config does not name (the snippet's bucket host on AWS, the site's own CDN): fine.
    assert judge(**{**THROUGH_CDN, "default_custom_domain": "my-media.s3.eu-west-1.amazonaws.com"}) == []


def test_a_report_from_before_the_probe_said_how_it_renders_urls_is_not_judged_on_them():
    assert judge(public_media=False) == []
    assert judge(custom_domain="cdn.example.com", media_base_url="https://cdn.example.com/media/") == []


def test_private_media_with_unsigned_urls_are_refused_in_one_line():
    (problem,) = judge(public_media=False, **PLAIN)
    assert problem.startswith("web1: PUBLIC_MEDIA=false but the site's settings render unsigned media URLs "
                              "(querystring_auth off): every media URL would answer 403")
    assert "set querystring_auth True and no custom_domain" in problem and "`invoke settings-snippet`" in problem
    assert "\n" not in problem
    (problem,) = judge(public_media=False, **{**SIGNED, "default_signed_url": False,
                                              "default_custom_domain": "cdn.example.com"})
    assert "(custom_domain 'cdn.example.com' set: it cannot sign)" in problem


def test_where_the_probe_could_not_render_a_url_querystring_auth_and_custom_domain_decide():
    """No key in the probe's environment (the site finds it at run time): django-storages' own rule."""
    unknown = {**SIGNED, "default_signed_url": None, "default_url_base": None}
    assert judge(public_media=False, **unknown) == []
    (problem,) = judge(public_media=False, **{**unknown, "default_querystring_auth": False})
    assert "(querystring_auth off)" in problem
    (problem,) = judge(public_media=False, **{**unknown, "default_custom_domain": "cdn.example.com"})
    assert "(custom_domain 'cdn.example.com' set: it cannot sign)" in problem


@pytest.mark.parametrize("storage_domain", [None, "cdn.other.example"])
def test_a_custom_domain_the_storage_does_not_use_is_refused(storage_domain):
    (problem,) = judge(custom_domain="127.0.0.1:18190", media_base_url=CDN_BASE,
                       **{**THROUGH_CDN, "default_custom_domain": storage_domain})
    assert problem.startswith(f"web1: MEDIA_CUSTOM_DOMAIN is '127.0.0.1:18190' but the site's S3 storage has "
                              f"custom_domain {storage_domain!r}: its media URLs would not go through the domain")


def test_the_custom_domains_urls_with_the_wrong_scheme_are_refused():
    (problem,) = judge(custom_domain="127.0.0.1:18190", media_base_url=CDN_BASE,
                       **{**THROUGH_CDN, "default_url_protocol": "https:",
                          "default_url_base": "https://127.0.0.1:18190/media/"})
    assert problem.startswith("web1: the site's S3 storage renders media URLs under https://127.0.0.1:18190/media/, "
                              "not http://127.0.0.1:18190/media/")
    assert "url_protocol ('https:'" in problem


def test_the_cutovers_check_and_the_flows_on_s3_judge_by_the_environments_settings():
    settings = SimpleNamespace(bucket="my-media", media_prefix="media", endpoint_url="http://127.0.0.1:18333",
                               public_media=False, custom_domain=None, media_base_url="unused")
    report = parse_report(report_line(**PLAIN), "web1")
    run = SimpleNamespace(settings=settings, state=SimpleNamespace(switch=SimpleNamespace(
        storage_before={"web1": report})))
    (problem,) = s3_problems(run, {"web1": report}, {})
    assert "PUBLIC_MEDIA=false but the site's settings render unsigned media URLs" in problem
    with pytest.raises(PreflightError, match="PUBLIC_MEDIA=false but the site's settings render unsigned"):
        check_serving_s3(run, mirror_refused=False)


# --- the probe's own functions, in a real Django with django-storages --------------------------------------

RENDER = '''
import json, os, sys
import django
from django.conf import settings
settings.configure()
django.setup()
from storages.backends.s3 import S3Storage
from django.core.files.storage import FileSystemStorage
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
    os.environ.pop(name, None)
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.environ["AWS_CONFIG_FILE"] = os.devnull
common = {"bucket_name": "my-media", "location": "uploads/media", "region_name": "eu-west-1",
          "access_key": "AKIAUNIT", "secret_key": "unit-secret"}
storages = {
    "signed": S3Storage(**common, querystring_auth=True),
    "plain": S3Storage(**common, custom_domain="my-media.s3.eu-west-1.amazonaws.com", querystring_auth=False),
    "cdn": S3Storage(**common, custom_domain="127.0.0.1:18190", url_protocol="http:", querystring_auth=True),
    "no_key": S3Storage(**{**common, "access_key": None, "secret_key": None}, querystring_auth=True),
    "disk": FileSystemStorage(location="/tmp"),
}
print(json.dumps({name: describe_storage(storage, None) for name, storage in storages.items()}))
'''


def probe_functions() -> str:
    """storage_probe.py's helpers (no Django needed to define them), as source."""
    tree = ast.parse(program("storage_probe.py"))
    keep = [node for node in tree.body if isinstance(node, ast.FunctionDef)
            and node.name in ("names", "rendered_url", "describe_storage")
            or isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PROBE_NAME"]
    return "import os\n" + ast.unparse(ast.Module(body=keep, type_ignores=[]))


@needs_django
def test_the_probe_says_whether_urls_are_signed_and_their_base_never_the_url(tmp_path):
    done = subprocess.run([site_python(), "-c", probe_functions() + RENDER], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "unit-secret" not in done.stdout and "AKIAUNIT" not in done.stdout and "Signature" not in done.stdout
    found = json.loads(done.stdout)
    assert (found["signed"]["signed_url"], found["signed"]["querystring_auth"]) == (True, True)
    assert found["signed"]["url_base"].endswith("amazonaws.com/uploads/media/")
    assert (found["plain"]["signed_url"], found["plain"]["url_base"]) == (
        False, "https://my-media.s3.eu-west-1.amazonaws.com/uploads/media/")
    # A custom domain cannot sign (django-storages#165): querystring_auth on, the URL plain.
    assert found["cdn"]["signed_url"] is False and found["cdn"]["url_base"] == "http://127.0.0.1:18190/uploads/media/"
    assert found["cdn"]["url_protocol"] == "http:"
    assert (found["no_key"]["signed_url"], found["no_key"]["url_base"]) == (None, None)   # no key: said, not raised
    assert (found["disk"]["signed_url"], found["disk"]["url_base"], found["disk"]["querystring_auth"]) == (
        None, None, None)


RETRIES = '''
import json
from botocore.exceptions import ClientError, ConnectionClosedError
slow = ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                    "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject")
denied = ClientError({"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "PutObject")
reset = ConnectionClosedError(endpoint_url="http://127.0.0.1:1")
waits, calls = [], []
def flaky():
    calls.append(1)
    if len(calls) < 4:
        raise [slow, reset, slow][len(calls) - 1]
    return "stored"
found = {"transient": [transient(slow), transient(reset), transient(denied)], "result": again(flaky, waits.append),
         "calls": len(calls), "waits": waits}
calls.clear()
def refused():
    calls.append(1)
    raise denied
try:
    again(refused, waits.append)
except ClientError as error:
    found["denied"] = [len(calls), error.response["Error"]["Code"]]
calls.clear()
def stumbling():
    calls.append(1)
    raise slow
try:
    again(stumbling, lambda seconds: None)
except ClientError:
    found["gave_up_after"] = len(calls)
print(json.dumps(found))
'''


@needs_django
def test_the_write_check_rides_out_a_stumbling_store_but_not_a_refusal(tmp_path):
    """The staged check's store test (the site's own key, through its storage): a 503 SlowDown or a reset is
    tried again (each request up to WRITE_ATTEMPTS, waits doubling), an AccessDenied fails at once, and a
    store that keeps stumbling fails after WRITE_ATTEMPTS.  Found by the store-faults test: one SlowDown too
    many through the site's own boto3 (3 tries) read as "check the AWS keys"."""
    tree = ast.parse(program("storage_probe.py"))
    keep = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in ("transient", "again")
            or isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in (
                "WRITE_ATTEMPTS", "TRANSIENT_CODES", "TRANSIENT_ERRORS")]
    source = ast.unparse(ast.Module(body=keep, type_ignores=[]))
    done = subprocess.run([site_python(), "-c", source + RETRIES], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["transient"] == [True, True, False]
    assert (found["result"], found["calls"], found["waits"]) == ("stored", 4, [0.2, 0.4, 0.8])
    assert found["denied"] == [1, "AccessDenied"]
    assert found["gave_up_after"] == 6
