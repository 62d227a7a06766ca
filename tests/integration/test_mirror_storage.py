"""The mirror storage (issue 14's site module) against the real backends: Django's FileSystemStorage and
django-storages' S3Storage on the sandbox store, in the sandbox site's own venv."""

import json
import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from deploy.site.edits import snippet
from deploy.store.client import s3_client

DRIVER = Path(__file__).with_name("mirror_driver.py")


@pytest.fixture()
def mirror(sandbox, tmp_path):
    """The module as `invoke settings-snippet --part=mirror` prints it, a media root, a prefix of its own."""
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "media_mirror.py").write_text(snippet.mirror_module())
    admin = sandbox.admin()
    prefix = f"mirror-test-{uuid.uuid4().hex[:8]}"
    python = sandbox.project_root / ".sandbox" / "site-venv" / "bin" / "python"

    def drive(scenario: str) -> dict:
        env = {**os.environ, "MIRROR_ENDPOINT": admin.endpoint_url, "MIRROR_DOWN_ENDPOINT": _closed_port_url(), "MIRROR_BUCKET": admin.bucket,
               "MIRROR_PREFIX": prefix, "AWS_ACCESS_KEY_ID": admin.access_key_id,
               "AWS_SECRET_ACCESS_KEY": admin.secret_access_key.reveal()}
        done = subprocess.run([str(python), str(DRIVER), str(tmp_path / "module"), str(tmp_path / "media"),
                               str(tmp_path / "home" / "mirror-failures.jsonl"), scenario],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    drive.failures = tmp_path / "home" / "mirror-failures.jsonl"
    drive.client, drive.bucket, drive.prefix = s3_client(admin), admin.bucket, prefix
    yield drive
    for page in drive.client.get_paginator("list_objects_v2").paginate(Bucket=admin.bucket, Prefix=prefix + "/"):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            drive.client.delete_objects(Bucket=admin.bucket, Delete={"Objects": keys, "Quiet": True})


def test_every_write_reaches_both_storages_under_the_primarys_name_and_reads_come_from_the_primary(mirror):
    result = mirror("both")
    for label, primary in (("disk-primary", "FileSystemStorage"), ("s3-primary", "S3Storage")):
        record = result[label]
        first, second, third, fourth = record["names"]
        assert record["primary_is"] == primary
        assert first == f"{label}/photo.jpg" and second != first and second.startswith(f"{label}/photo_")
        assert record["saved"] == {first: {"primary": "first", "secondary": "first"},
                                   second: {"primary": "second", "secondary": "second"},
                                   third: {"primary": "streamed bytes", "secondary": "streamed bytes"},
                                   fourth: {"primary": "large bytes", "secondary": "large bytes"}}
        assert record["url"] == record["primary_url"]
        assert record["size"] == len("second") and record["exists"]
        assert record["listdir"] == sorted(name.split("/")[-1] for name in record["names"])
        assert record["after_delete"] == {first: {"primary": False, "secondary": False}}
    assert result["s3-primary"]["url"].startswith("http") and result["disk-primary"]["url"].startswith("/media/")
    assert not mirror.failures.exists()


def _closed_port_url() -> str:
    with socket.socket() as probe:   # a port nothing listens on: a stopped store, as the client sees it
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_store_that_does_not_answer_as_secondary_does_not_fail_the_upload_and_is_recorded(mirror, sandbox):
    # The store's endpoint refuses connections, as a stopped store's does (the sandbox's own store stays
    # up: restarting it would drop the keys the other tests use).
    result = mirror("secondary-down")
    assert result["name"] == "down/while-the-store-is-stopped.jpg"
    assert result["on_disk"] == "kept on disk" and result["exists"]
    # The primary failing fails the upload, and nothing is left behind on the secondary.
    assert result["primary_failure"] and result["disk_after_primary_failure"] is False
    records = [json.loads(line) for line in mirror.failures.read_text().splitlines()]
    assert [(r["operation"], r["name"], r["secondary"]) for r in records] == \
        [("save", "down/while-the-store-is-stopped.jpg", "S3Storage")]
    assert mirror.failures.stat().st_mode & 0o777 == 0o600
    assert sandbox.admin().secret_access_key.reveal() not in mirror.failures.read_text()
