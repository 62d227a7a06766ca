"""`fab rollback` / `invoke rollback` end to end, on the real sandbox."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .sandbox_client import (assert_provisioned_key_on_an_empty_prefix, http_get, http_json, invoke,
                             reload_after_a_slow_upload, reset, upload, upload_across_the_reload,
                             uploads_through_both_sites)
from .test_cutover import bucket_objects

pytestmark = pytest.mark.slow
FAB = str(Path(sys.executable).parent / "fab")


@pytest.fixture
def cut_over(sandbox, project_root):
    """A sandbox after a cutover, with each host's settings from before it remembered."""
    reset(project_root)
    assert_provisioned_key_on_an_empty_prefix(sandbox)
    sandbox.before = {alias: sandbox.settings_bytes(alias) for alias in sandbox.aliases}
    invoke(project_root, "cutover", "--env=sandbox")
    yield sandbox
    reset(project_root)


def fab(project_root, *args, check=True, env=None):
    result = subprocess.run([FAB, *args], cwd=project_root, capture_output=True, text=True, timeout=600,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"fab {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def assert_served_from_disk(sandbox, stored: list[dict]):
    media_root = sandbox.media_root()
    listed = {entry["name"]: entry["url"] for entry in
              http_json(sandbox.host("web1")["site_url"] + "/files/")["files"]}
    for entry in stored:
        assert (media_root / entry["name"]).is_file(), f"{entry['name']} is not on disk"
        url = listed[entry["name"]]
        assert url.startswith("/media/")
        for alias in sandbox.aliases:
            status, body, _ = http_get(sandbox.host(alias)["site_url"] + url)
            assert status == 200 and len(body) == entry["size"], f"{alias} does not serve {url}"


def test_rollback_brings_back_the_old_settings_and_every_upload_and_a_second_changes_nothing(cut_over, project_root):
    # --dry-run first: it shows the change and makes none.
    dry_run = invoke(project_root, "rollback", "--env=sandbox", "--dry-run")
    assert "-USE_S3 = True" in dry_run.stdout and "+USE_S3 = False" in dry_run.stdout
    assert all(cut_over.settings_bytes(alias) != cut_over.before[alias] for alias in cut_over.aliases)
    assert all(http_json(cut_over.host(alias)["health_url"])["storage"] == "s3" for alias in cut_over.aliases)

    stored = [upload(cut_over.host(alias)["site_url"], f"während S3 {number}.jpg",
                     b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * (number + 1))
              for number, alias in enumerate(["web1", "web2"] * 3)]
    objects_before = set(bucket_objects(cut_over))
    assert all(f"media/{entry['name']}" in objects_before for entry in stored)
    assert not any((cut_over.media_root() / entry["name"]).exists() for entry in stored)

    # During the rollback: a steady uploader through both sites, and one upload that an old (S3)
    # worker of web1 takes in just before the reload and stores in the bucket 6 s later: the last
    # download must wait for it (RELOAD_GRACE_SECONDS).
    with uploads_through_both_sites(cut_over, "rollback live", size_blocks=40) as (live, errors), \
            upload_across_the_reload(cut_over, "web1", delay=6) as late:
        result = fab(project_root, "rollback", "--env=sandbox",
                     env={"RELOAD_GRACE_SECONDS": "9", **reload_after_a_slow_upload(cut_over, "web1")})
    assert errors == [] and len(live) > 20
    assert "restored from its backup" in result.stdout
    assert "while the sites switched over and their old workers finished (RELOAD_GRACE_SECONDS=9)" in result.stdout

    for alias in cut_over.aliases:
        assert cut_over.settings_bytes(alias) == cut_over.before[alias]
        assert http_json(cut_over.host(alias)["health_url"])["storage"] == "disk"
    assert late[0]["url"].startswith(cut_over.state["s3"]["endpoint"])  # stored by an old worker, on S3
    assert_served_from_disk(cut_over, stored + late + live)
    assert set(bucket_objects(cut_over)) >= objects_before  # the bucket still holds everything

    # A second rollback finds every host on disk and every object there: it changes nothing.
    settings = {alias: cut_over.settings_bytes(alias) for alias in cut_over.aliases}
    again = invoke(project_root, "rollback", "--env=sandbox").stdout
    assert "web1: already on disk (USE_S3 = False), left alone" in again
    assert "no host changed: none reloaded" in again
    assert "no files downloaded" in again
    assert {alias: cut_over.settings_bytes(alias) for alias in cut_over.aliases} == settings


def test_rollback_with_a_host_unreachable_then_again_once_it_is_back(cut_over, project_root):
    keys = Path(cut_over.host("web2")["home"]) / ".ssh" / "authorized_keys"
    hidden = keys.with_name("authorized_keys.hidden")
    keys.rename(hidden)  # web2 refuses our key: unreachable
    try:
        result = invoke(project_root, "rollback", "--env=sandbox", check=False)
    finally:
        hidden.rename(keys)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "could not be reached: web2" in result.stderr and "run the rollback again" in result.stderr
    assert cut_over.settings_bytes("web1") == cut_over.before["web1"]
    assert cut_over.settings_bytes("web2") != cut_over.before["web2"]  # left alone, still on S3
    assert http_json(cut_over.host("web2")["health_url"])["storage"] == "s3"

    invoke(project_root, "rollback", "--env=sandbox")
    for alias in cut_over.aliases:
        assert cut_over.settings_bytes(alias) == cut_over.before[alias]
