"""CHANGEOVER=mirror end to end on the sandbox's default site, which installs media_mirror.py: a cutover under
traffic, a rollback that downloads only what a failed write to the disk missed, a cutover again that
uploads only what a stopped store missed, and finalize."""

import os
import re
import signal
import time
import uuid

import pytest

from deploy.sandbox.layout import Layout
from deploy.store.client import s3_client

from .sandbox_client import http_json, invoke, reset, upload, uploads_through_both_sites
from .test_cutover import bucket_objects
from .test_rollback import fab

pytestmark = pytest.mark.slow
MIRROR = {"CHANGEOVER": "mirror"}
RECORDS = ".media-cutover/mirror-failures.jsonl"


@pytest.fixture
def site(sandbox, project_root):
    reset(project_root)
    sandbox.before = {alias: sandbox.settings_bytes(alias) for alias in sandbox.aliases}
    yield sandbox
    reset(project_root)


def moved(output: str, verb: str) -> int:
    """How many files the run's lines say it copied (``N uploaded``, ``N files downloaded by the check``);
    rclone's accounting of the upload says its count again, and is left out."""
    return sum(int(count) for line in output.splitlines() if "accounted for" not in line
               for count in re.findall(rf"(\d+) (?:files )?{verb}\b", line))


def health(sandbox, alias: str) -> tuple[str, bool]:
    answer = http_json(sandbox.host(alias)["health_url"])
    return answer["storage"], answer["mirror"]


def records(sandbox, alias: str) -> str:
    return sandbox.ssh(alias, f"cat ~/{RECORDS} 2>/dev/null", check=False).stdout


def test_mirror_cutover_rollback_cutover_finalize_moves_only_what_a_failed_write_missed(site, project_root):
    media_root = site.media_root()
    with uploads_through_both_sites(site, "mirror cutover", size_blocks=40) as (live, errors):
        result = invoke(project_root, "cutover", "--env=sandbox", env=MIRROR)
    assert errors == [] and len(live) > 10
    assert "mirror (CHANGEOVER=mirror): MEDIA_MIRROR on first" in result.stdout
    assert "reload the sites with the mirror on" in result.stdout and "web1: answers on disk, mirror on" in result.stdout
    for alias in site.aliases:
        assert health(site, alias) == ("s3", True)
        assert site.settings_bytes(alias) == site.before[alias].replace(b"USE_S3 = False", b"USE_S3 = True") \
            .replace(b"MEDIA_MIRROR = False", b"MEDIA_MIRROR = True")
    objects = set(bucket_objects(site))
    for entry in live:  # every upload of the change-over is in both storages
        assert f"media/{entry['name']}" in objects and (media_root / entry["name"]).is_file(), entry["name"]

    # Served from S3, the disk the second storage: a write to it fails (a directory it may not write),
    # the user's upload does not, and the failure is recorded on that host.
    month = media_root / time.strftime("uploads/%Y/%m", time.gmtime())  # the gallery's upload_to
    mode = month.stat().st_mode & 0o7777
    os.chmod(month, 0o555)
    try:
        missed_on_disk = upload(site.host("web1")["site_url"], f"failed disk {uuid.uuid4().hex[:8]}.jpg",
                                b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 20)
    finally:
        os.chmod(month, mode)
    assert not (media_root / missed_on_disk["name"]).exists()
    assert missed_on_disk["name"] in records(site, "web1")

    # The rollback: a flip and a reload; it downloads only the one file the failed write missed.
    result = fab(project_root, "rollback", "--env=sandbox")
    assert "mirror: MEDIA_MIRROR is on on every host" in result.stdout
    assert "download media missing on disk" not in result.stdout  # no bulk download
    assert moved(result.stdout, "downloaded") == 1
    assert "1 failed writes to the mirror's second storage recorded (1 to FileSystemStorage)" in result.stdout
    assert (media_root / missed_on_disk["name"]).is_file()
    for alias in site.aliases:
        assert health(site, alias) == ("disk", True)  # the mirror stays on: the bucket keeps every new file
    assert records(site, "web1") == ""  # taken aside, kept
    assert site.ssh("web1", f"ls ~/{RECORDS}.taken-*").stdout.strip()

    # Served from disk, the bucket the second storage, and the store stopped: the upload still succeeds.
    weed = int(Layout(project_root).weed_pidfile.read_text())
    os.kill(weed, signal.SIGSTOP)
    try:
        missed_in_bucket = upload(site.host("web2")["site_url"], f"store stopped {uuid.uuid4().hex[:8]}.jpg",
                                  b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 30)
    finally:
        os.kill(weed, signal.SIGCONT)
    assert missed_in_bucket["name"] in records(site, "web2")
    # A stopped process's socket still took the PUT the site gave up on: resumed, the store may finish it.
    # A store that was really down would not: that write is undone here, as the outage would have lost it.
    key = f"media/{missed_in_bucket['name']}"
    time.sleep(1)
    if key in set(bucket_objects(site)):
        s3_client(site.admin()).delete_object(Bucket=site.admin().bucket, Key=key)
    assert key not in set(bucket_objects(site))

    # The cutover again: the mirror is on already; it uploads only what the stopped store missed.
    result = invoke(project_root, "cutover", "--env=sandbox", env=MIRROR)
    assert "already on: web1, web2" in result.stdout and "no host changed: none reloaded" in result.stdout
    assert moved(result.stdout, "uploaded") == 1
    assert "1 failed writes to the mirror's second storage recorded (1 to S3Storage)" in result.stdout
    assert key in set(bucket_objects(site))

    # Finalize: the mirror off, the bucket only; nothing deleted.
    on_disk = sum(1 for path in media_root.rglob("*") if path.is_file())
    result = invoke(project_root, "finalize", "--env=sandbox")
    assert "web1: answers on s3, mirror off" in result.stdout
    for alias in site.aliases:
        assert health(site, alias) == ("s3", False)
        assert b"USE_S3 = True" in site.settings_bytes(alias) and b"MEDIA_MIRROR = False" in site.settings_bytes(alias)
    after = upload(site.host("web1")["site_url"], f"after finalize {uuid.uuid4().hex[:8]}.jpg", b"\xff\xd8\xff\xe0")
    assert not (media_root / after["name"]).exists() and f"media/{after['name']}" in set(bucket_objects(site))
    assert sum(1 for path in media_root.rglob("*") if path.is_file()) == on_disk
    again = invoke(project_root, "finalize", "--env=sandbox", check=False)
    assert again.returncode == 1 and "MEDIA_MIRROR is already off on every host: the soak has ended" in again.stderr
