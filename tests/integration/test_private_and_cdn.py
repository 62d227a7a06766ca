"""Private media (signed URLs) and a custom domain (a CDN), end to end on the sandbox's shapes.

Shape "private": its own bucket with no public read, the printed snippet for PUBLIC_MEDIA=false pasted
into its settings.  After the cutover its pages render signed URLs that fetch 200 while the same URLs
without their signature are refused; no signed URL (a bearer token) reaches the output or runs/.
Shape "cdn": its own public bucket behind the stand-in CDN (nginx with a cache, deploy/sandbox/cdn.py),
the printed snippet for MEDIA_CUSTOM_DOMAIN pasted in; its pages render the domain's URLs, fetched
through the stand-in.  A domain that answers 404, or serves another bucket, is refused in preflight
with nothing changed.  Each shape has a bucket of its own: nothing here touches the shared prefix.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deploy.config.load import load_settings
from deploy.sandbox.layout import CDN_PORT, WRONG_ORIGIN_PORT
from deploy.store.client import s3_client

from .conftest import TEST_MEDIA_FILES
from .sandbox_client import http_get, http_json, invoke, shapes_up
from .test_rollback import fab

pytestmark = pytest.mark.slow

SIGNATURE = re.compile(r"X-Amz-Signature|X-Amz-Credential|Signature=|AWSAccessKeyId=", re.IGNORECASE)


@pytest.fixture(scope="module")
def shapes(sandbox, project_root) -> dict:
    recorded = shapes_up(project_root, "private,cdn", TEST_MEDIA_FILES)
    yield recorded
    for name in ("private", "cdn"):
        invoke(project_root, "sandbox.reset", f"--shape={name}")


def fresh(project_root: Path, name: str) -> None:
    invoke(project_root, "sandbox.reset", f"--shape={name}")


def listed_urls(site_url: str) -> list[str]:
    return [entry["url"] for entry in http_json(site_url + "/files/?limit=50")["files"]]


def bucket_keys(settings) -> list[str]:
    listing = s3_client(settings).list_objects_v2(Bucket=settings.bucket, Prefix=settings.media_prefix + "/")
    return [item["Key"] for item in listing.get("Contents", [])]


def files_written_since(project_root: Path, since: float) -> list[Path]:
    return [path for path in (project_root / "runs").rglob("*") if path.is_file() and path.stat().st_mtime >= since]


def assert_no_signed_url(texts: dict[str, str]) -> None:
    for where, text in texts.items():
        found = SIGNATURE.search(text)
        assert found is None, f"a signed URL's signature in {where}: ...{text[max(0, found.start() - 120):found.end() + 40]}"


def test_private_media_cutover_signs_every_url_refuses_the_unsigned_and_never_shows_a_signature(shapes,
                                                                                               project_root):
    fresh(project_root, "private")
    settings = load_settings("sandbox-private", project_root)
    hosts = shapes["private"]["hosts"]
    began = time.time() - 1
    cutover = invoke(project_root, "cutover", "--env=sandbox-private", check=False)
    assert cutover.returncode == 0, cutover.stdout[-3000:] + cutover.stderr[-3000:]
    assert "Traceback" not in cutover.stderr
    # the health step followed the signed URLs and proved their unsigned form refused: both figures said
    health = cutover.stdout.split("==> health", 1)[1]
    assert re.search(r"\d+ signed media URLs? fetched 200", health), health[:1500]
    assert re.search(r"unsigned form refused \d+ times? \(HTTP 40[13]", health), health[:1500]

    # by hand too, on every host: signed URLs on the page, 200 with them, refused without
    for alias, host in hosts.items():
        urls = listed_urls(host["site_url"])
        assert urls and all(url.startswith(settings.media_base_url) for url in urls), urls[:2]
        for url in urls[:5]:
            assert "X-Amz-Signature=" in urlsplit(url).query, f"{alias}: an unsigned URL on a private site"
            status, body, _ = http_get(url)
            assert status == 200 and body, f"{alias}: a signed URL answered {status}"
            unsigned = url.split("?", 1)[0]
            assert http_get(unsigned)[0] in (401, 403), f"{alias}: {unsigned} readable without a signature"

    rollback = fab(project_root, "rollback", "--env=sandbox-private")
    assert "Traceback" not in rollback.stderr
    for host in hosts.values():
        assert all(url.startswith("/media/") for url in listed_urls(host["site_url"]))

    # no signed URL, and not the secret, in anything the tool said or wrote
    written = files_written_since(project_root, began)
    assert written, "the runs left no journal"
    texts = {"cutover stdout": cutover.stdout, "cutover stderr": cutover.stderr,
             "rollback stdout": rollback.stdout, "rollback stderr": rollback.stderr}
    texts.update({str(path.relative_to(project_root)): path.read_text(errors="replace") for path in written})
    assert_no_signed_url(texts)
    secret = settings.secret_access_key.reveal()
    assert not [where for where, text in texts.items() if secret in text]


def test_a_private_rehearsal_fails_no_request_and_reads_nothing_anonymously(shapes, project_root):
    fresh(project_root, "private")
    began = time.time() - 1
    rehearsal = invoke(project_root, "rehearse", "--env=sandbox-private", "--hold=1", "--upload-rate=3",
                       "--readers=2", check=False, timeout=400)
    assert rehearsal.returncode == 0, rehearsal.stdout[-3000:] + rehearsal.stderr[-3000:]
    directory = project_root / re.search(r"report: (runs/rehearsal-\S+)/report\.md", rehearsal.stdout)[1]
    report = (directory / "report.md").read_text()
    verdict = report.splitlines()[2]
    assert verdict.startswith("**PASSED**") and re.search(r"\d+ requests, 0 failed; anonymous successes: 0;", verdict)
    tried = re.search(r"without their signature (\d+) times; anonymous successes: 0", report)
    assert tried and int(tried[1]) > 0, report[:2000]   # the unsigned form was really asked for
    texts = {"rehearsal stdout": rehearsal.stdout, "rehearsal stderr": rehearsal.stderr}
    texts.update({str(path.relative_to(project_root)): path.read_text(errors="replace")
                  for path in files_written_since(project_root, began)})
    assert_no_signed_url(texts)


def test_cdn_cutover_serves_the_domains_urls_through_the_stand_in_and_rolls_back(shapes, project_root):
    fresh(project_root, "cdn")
    settings = load_settings("sandbox-cdn", project_root)
    domain = f"http://127.0.0.1:{CDN_PORT}/{settings.media_prefix}/"
    assert settings.media_base_url == domain
    hosts = shapes["cdn"]["hosts"]
    cutover = invoke(project_root, "cutover", "--env=sandbox-cdn", check=False)
    assert cutover.returncode == 0, cutover.stdout[-3000:] + cutover.stderr[-3000:]
    assert f"served through 127.0.0.1:{CDN_PORT}" in cutover.stdout  # the preflight's probe object
    health = cutover.stdout.split("==> health check on S3", 1)[1].split("==>", 1)[0]
    assert f"web1: on S3, 10 media URLs fetched through 127.0.0.1:{CDN_PORT}, the bucket's bytes" in health, health
    for alias, host in hosts.items():
        urls = listed_urls(host["site_url"])
        assert urls and all(url.startswith(domain) for url in urls), f"{alias}: {urls[:2]}"
        for url in urls[:5]:
            status, body, headers = http_get(url)
            assert status == 200 and headers.get("X-Cache-Status") in ("MISS", "HIT", "EXPIRED"), (alias, status)
            key = settings.media_prefix + "/" + urlsplit(url).path[len(f"/{settings.media_prefix}/"):]
            assert body == s3_client(settings).get_object(Bucket=settings.bucket,
                                                          Key=_unquoted(key))["Body"].read()
    fab(project_root, "rollback", "--env=sandbox-cdn")
    for host in hosts.values():
        assert all(url.startswith("/media/") for url in listed_urls(host["site_url"]))


def test_a_domain_that_does_not_serve_the_bucket_is_refused_in_preflight_with_nothing_changed(shapes,
                                                                                             project_root):
    fresh(project_root, "cdn")
    settings = load_settings("sandbox-cdn", project_root)
    hosts = shapes["cdn"]["hosts"]
    before = {alias: Path(host["settings_path"]).read_bytes() for alias, host in hosts.items()}
    site = hosts["web1"]["site_url"]
    for domain, answer in ((f"http://127.0.0.1:{WRONG_ORIGIN_PORT}", "HTTP 404"),  # another bucket as its origin
                           (site, "HTTP 404")):                                   # the site itself: no such file
        refused = invoke(project_root, "cutover", "--env=sandbox-cdn", check=False,
                         env={"MEDIA_CUSTOM_DOMAIN": domain})
        assert refused.returncode == 1, refused.stdout[-2000:] + refused.stderr[-2000:]
        assert "Traceback" not in refused.stderr
        line = next(line for line in refused.stderr.splitlines() if "MEDIA_CUSTOM_DOMAIN" in line)
        assert urlsplit(domain).netloc in line and answer in line, line
        assert "==> flip" not in refused.stdout and "==> upload" not in refused.stdout
        assert {alias: Path(host["settings_path"]).read_bytes() for alias, host in hosts.items()} == before
        assert bucket_keys(settings) == []  # the probe object gone too, nothing uploaded


def _unquoted(key: str) -> str:
    from urllib.parse import unquote
    return unquote(key)
