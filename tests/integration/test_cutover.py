"""`invoke cutover --env=sandbox` end to end, on the real sandbox.

Each test starts from a reset sandbox: both sites on disk, the bucket prefix empty.
"""

import json
import os
import signal
import mimetypes
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from deploy.store.client import s3_client

from .sandbox_client import (assert_provisioned_key_on_an_empty_prefix, http_get, http_json, invoke, reset, upload,
                             uploads_through_both_sites)

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh(sandbox, project_root):
    """A reset sandbox, and a snapshot of each host's settings file before the test."""
    reset(project_root)
    assert_provisioned_key_on_an_empty_prefix(sandbox)
    sandbox.before = {alias: sandbox.settings_bytes(alias) for alias in sandbox.aliases}
    yield sandbox
    reset(project_root)


def bucket_objects(sandbox) -> dict[str, dict]:
    settings = sandbox.settings()
    client = s3_client(settings)
    objects = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket,
                                                                 Prefix=settings.media_prefix + "/"):
        for item in page.get("Contents", []):
            objects[item["Key"]] = item
    return objects


def media_files(sandbox) -> dict[str, int]:
    """relative path -> size of every file (symlinks followed) in the media tree."""
    root = sandbox.media_root()
    return {str(path.relative_to(root)): path.stat().st_size for path in root.rglob("*") if path.is_file()}


def cutover(project_root, *args, env=None, check=True):
    return invoke(project_root, "cutover", "--env=sandbox", *args, env=env, check=check)


def assert_unchanged(sandbox):
    for alias in sandbox.aliases:
        assert sandbox.settings_bytes(alias) == sandbox.before[alias], f"{alias} settings changed"
        assert http_json(sandbox.host(alias)["health_url"])["storage"] == "disk"


def assert_one_clear_error(result, *needles):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_a_held_lock_refuses_then_the_happy_path_then_a_second_run_changes_nothing(fresh, project_root):
    # A lock left by someone else: reported with its details, and broken only on request.
    details = '{"run_id": "20260101T000000Z-dead00", "kind": "cutover", "owner": "alice@laptop", "pid": 4242}'
    fresh.ssh("web1", f"mkdir -p ~/.media-cutover/locks/sandbox.lock && echo '{details}' "
              "> ~/.media-cutover/locks/sandbox.lock/details.json")
    refused = cutover(project_root, check=False)
    assert_one_clear_error(refused, "locked by cutover 20260101T000000Z-dead00 by alice@laptop", "pid 4242",
                           "--break-lock")
    assert_unchanged(fresh)
    assert "HELD by cutover 20260101T000000Z-dead00" in invoke(project_root, "status", "--env=sandbox").stdout

    result = cutover(project_root, "--break-lock")
    assert "done: every host serves media from S3" in result.stdout
    assert fresh.ssh("web1", "test -e ~/.media-cutover/locks/sandbox.lock", check=False).returncode == 1

    # every media file is in the bucket with its size and a Content-Type from its name
    objects = bucket_objects(fresh)
    files = media_files(fresh)
    assert {f"media/{name}" for name in files} <= set(objects)
    client = s3_client(fresh.settings())
    for name, size in list(files.items())[::40]:
        head = client.head_object(Bucket=fresh.settings().bucket, Key=f"media/{name}")
        assert head["ContentLength"] == size
        assert head["ContentType"].split(";")[0] == (mimetypes.guess_type(name)[0] or "application/octet-stream")
        assert head["CacheControl"] == "max-age=86400, public"

    # each host's settings differ only in the USE_S3 line, with a backup beside them
    for alias in fresh.aliases:
        before = fresh.before[alias].decode().splitlines(keepends=True)
        after = fresh.settings_bytes(alias).decode().splitlines(keepends=True)
        changed = [(old, new) for old, new in zip(before, after) if old != new]
        assert changed == [("USE_S3 = False\n", "USE_S3 = True\n")] and len(before) == len(after)
        backups = list(Path(fresh.host(alias)["settings_path"]).parent.glob("local_settings.py.media-cutover-*.bak"))
        assert fresh.before[alias] in [backup.read_bytes() for backup in backups]

    # the sites render bucket URLs that fetch without credentials, and new uploads land in the bucket
    settings = fresh.settings()
    for alias in fresh.aliases:
        assert http_json(fresh.host(alias)["health_url"])["storage"] == "s3"
        listed = http_json(fresh.host(alias)["site_url"] + "/files/?limit=5")["files"]
        for entry in listed:
            assert entry["url"].startswith(f"{settings.bucket_url}/media/")
            status, body, _ = http_get(entry["url"])
            assert status == 200 and len(body) == files[entry["name"]]
    stored = upload(fresh.host("web2")["site_url"], "after cutover.jpg", b"\xff\xd8\xff\xe0after")
    assert f"media/{stored['name']}" in bucket_objects(fresh)

    # the journal records the run
    journal = sorted((project_root / "runs").glob("*-sandbox-cutover.jsonl"))[-1]
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["result"] == "ok"
    assert {"preflight: hosts and settings files", "flip USE_S3 = True", "reload the sites"} <= \
        {event.get("step") for event in events}

    # a second cutover is a no-op: nothing flipped, reloaded or uploaded
    settings_after_first = {alias: fresh.settings_bytes(alias) for alias in fresh.aliases}
    again = cutover(project_root).stdout
    assert "web1: USE_S3 is already True, left alone" in again
    assert "no host changed: none reloaded" in again
    assert "0 uploaded" in again
    assert {alias: fresh.settings_bytes(alias) for alias in fresh.aliases} == settings_after_first


def test_a_reload_that_fails_on_web2_puts_both_hosts_back(fresh, project_root):
    # --checksum: the verify before the flip lists both sides and compares every MD5, not rclone's accounting
    result = cutover(project_root, "--checksum", env={"RELOAD_COMMAND__WEB2": "echo reload broke >&2; exit 3"},
                     check=False)
    assert_one_clear_error(result, "step 'reload the sites' failed", "web2", "reload broke",
                           "every host is back as it was")
    verify = result.stdout.split("==> verify the bucket")[1].split("==>")[0]
    assert "the manifest against the listing: --checksum" in verify and "md5:" in verify, verify
    assert "OK: the bucket holds every local file" in verify, verify
    assert_unchanged(fresh)
    assert "lock:     free" in invoke(project_root, "status", "--env=sandbox").stdout


def test_a_failing_health_check_puts_both_hosts_back(fresh, project_root):
    settings = fresh.admin()
    client = s3_client(settings)
    # Anyone may GET the preflight's probe object, nothing else: the preflight passes, and the media the health
    # check fetches answer 403 (sandbox.reset puts the public policy back).
    probe_only = f"arn:aws:s3:::{settings.bucket}/{settings.media_prefix}/.media-cutover-probe-*"
    client.put_bucket_policy(Bucket=settings.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": [probe_only]}]}))
    try:
        result = cutover(project_root, check=False)
    finally:
        invoke(project_root, "sandbox.reset")
    assert_one_clear_error(result, "step 'health check on S3' failed", "403", "every host is back as it was")
    assert_unchanged(fresh)


def test_a_health_url_that_answers_404_fails_the_run_and_the_undo_says_what_it_restored_and_could_not_confirm(
        fresh, project_root):
    """A config mistake, not a broken environment: web1's HEALTH_URL does not exist.  The wait for S3 fails;
    the undo puts every settings file back, reloads both sites onto disk, and says that it could not see
    web1 on disk and why, instead of UNDO FAILED."""
    nope = "http://127.0.0.1:18101/nope"
    result = cutover(project_root, env={"HEALTH_URL__WEB1": nope, "RELOAD_TIMEOUT": "6"}, check=False)
    assert_one_clear_error(result, f"failed: web1: {nope} did not report storage=s3", "HTTP 404")
    assert "UNDO FAILED" not in result.stderr and "every host is back" not in result.stderr
    lines = result.stderr.splitlines()
    undone = next(line for line in lines if line.startswith("undone: "))
    assert "reload the sites" in undone and "flip USE_S3 = True" in undone
    restored = next(line for line in lines if line.startswith("restored: "))
    for alias in fresh.aliases:
        assert f"{alias}: settings restored byte-identical from local_settings.py.media-cutover-" in restored
        assert f"{alias}: reloaded back to disk" in restored
    assert "what the sites stored meanwhile is on disk again, every file" in restored
    assert "web1: its settings select django.core.files.storage.FileSystemStorage again (the storage check)" \
        in restored
    assert f"not confirmed: web1's health on disk ({nope} answered HTTP 404): check HEALTH_URL" in lines
    assert "web2's health" not in result.stderr
    assert_unchanged(fresh)  # byte-identical, and both sites (their real /healthz) on disk
    assert "lock:     free" in invoke(project_root, "status", "--env=sandbox").stdout


@pytest.mark.parametrize("edit, expected", [
    (lambda text: text.replace("USE_S3 = False\n", ""), "expected exactly one top-level"),
    (lambda text: text.replace("USE_S3 = False\n", "USE_S3 = False\nUSE_S3 = False\n"), "lines 9, 10"),
    (lambda text: text.replace("USE_S3 = False\n", 'USE_S3 = os.environ.get("USE_S3") == "1"\n'), "computed"),
], ids=["none", "two", "computed"])
def test_a_settings_file_that_cannot_be_flipped_is_refused_in_preflight(fresh, project_root, edit, expected):
    path = Path(fresh.host("web2")["settings_path"])
    path.write_text(edit(path.read_text()))
    fresh.before["web2"] = path.read_bytes()
    result = cutover(project_root, check=False)
    assert_one_clear_error(result, "preflight", "web2:~/site/mediasite/local_settings.py", expected,
                           "nothing had been changed")
    assert_unchanged(fresh)
    assert bucket_objects(fresh) == {}


def test_a_wrong_secret_is_refused_in_preflight(fresh, project_root):
    result = cutover(project_root, env={"AWS_SECRET_ACCESS_KEY": "wrong-secret"}, check=False)
    assert_one_clear_error(result, "preflight: bucket and credentials", "SignatureDoesNotMatch",
                           "AWS_SECRET_ACCESS_KEY")
    assert "wrong-secret" not in result.stdout + result.stderr
    assert_unchanged(fresh)


def test_dry_run_changes_nothing_on_hosts_or_in_the_bucket(fresh, project_root):
    tools = Path(fresh.host("web1")["home"]) / ".media-cutover"
    before_tools = sorted(str(path) for path in tools.rglob("*")) if tools.exists() else []
    result = cutover(project_root, "--dry-run")
    assert "-USE_S3 = False" in result.stdout and "+USE_S3 = True" in result.stdout
    assert 'kill -HUP "$(cat ~/run/gunicorn.pid)"' in result.stdout
    assert "rclone copy" in result.stdout and "previewed: nothing changed" in result.stdout
    assert_unchanged(fresh)
    assert bucket_objects(fresh) == {}
    after_tools = sorted(str(path) for path in tools.rglob("*")) if tools.exists() else []
    assert after_tools == before_tools


def test_a_sync_killed_half_way_completes_on_the_next_run_without_uploading_twice(fresh, project_root):
    env = {"SYNC_CONCURRENCY": "1"}  # slow enough to stop half way
    process = subprocess.Popen([sys.executable, "-m", "invoke", "cutover", "--env=sandbox"], cwd=project_root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **env})
    total = len(media_files(fresh))
    deadline = time.monotonic() + 120
    while len(bucket_objects(fresh)) < total // 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    # The sync dies on the host (the [r] keeps pkill from matching its own command line).
    fresh.ssh("web1", "pkill -KILL -u \"$(id -u)\" -f '[r]clone copy .*webapps/media/ dest:'")
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "step 'upload media' failed" in stderr, stdout + stderr
    assert_unchanged(fresh)
    partial = len(bucket_objects(fresh))
    assert 0 < partial < total

    second = cutover(project_root).stdout
    assert f"{total - partial} uploaded" in second.split("==> verify the bucket")[0]
    # rclone's own count covers the tree: the part already there, and the rest it sent
    assert (f"rclone accounted for every file of the tree: {total:,} ({total - partial:,} uploaded, "
            f"{partial:,} already there with the same size), 0 errors") in second
    assert len(bucket_objects(fresh)) == total


def test_a_cutover_under_live_uploads_with_odd_links_and_lost_references(fresh, project_root):
    """One cutover, watched from every side: a steady uploader through both sites, a ps sampler on
    the host, symlink loops and dangling links in the tree, a database row whose file is gone."""
    # The database refers to a file that is on neither side: reported, not blamed on the cutover.
    before = missing_on_disk(cutover(project_root, "--dry-run").stdout)  # the check only reads
    gone = f"user_media/gone/{uuid.uuid4().hex}.jpg"
    fresh.ssh("web1", "cd ~/site && ~/site-venv/bin/python manage.py shell -c "
              f"\"from gallery.models import StoredFile; StoredFile.objects.create(file='{gone}', host='test')\"")
    # A symlink loop and a dangling link in the tree: reported, not followed.
    loop = fresh.media_root() / "user_media" / "looping"
    loop.mkdir(exist_ok=True)
    for name, target in (("again", ".."), ("nowhere.jpg", "missing.jpg")):
        (loop / name).unlink(missing_ok=True)
        (loop / name).symlink_to(target)
    secret = fresh.settings().secret_access_key.reveal()
    listings, stop = [], threading.Event()

    def sample_ps():
        while not stop.is_set():
            listings.append(subprocess.run(["ps", "-ww", "-eo", "user,args"], capture_output=True, text=True).stdout)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample_ps)
    sampler.start()
    try:
        with uploads_through_both_sites(fresh, "live") as (stored, errors):
            result = cutover(project_root, env={"SYNC_CONCURRENCY": "2"})  # slow enough for the sampler
    finally:
        stop.set()
        sampler.join()
        for name in ("again", "nowhere.jpg"):
            (loop / name).unlink()
        loop.rmdir()
    assert "done: every host serves media from S3" in result.stdout
    objects = bucket_objects(fresh)

    # every upload answered during the run is in the bucket
    assert errors == [] and len(stored) > 20
    assert [entry["name"] for entry in stored if f"media/{entry['name']}" not in objects] == []

    # the secret never showed in ps, and the credentials file is gone
    assert any("rclone" in listing for listing in listings), "the sampler never saw the sync running"
    assert not any(secret in listing for listing in listings)
    assert list((Path(fresh.host("web1")["home"]) / ".media-cutover" / "run").glob("*")) == []

    assert missing_on_disk(result.stdout) == before + 1
    assert "symlink loop: user_media/looping/again" in result.stdout
    assert "dangling symlink: user_media/looping/nowhere.jpg" in result.stdout
    assert not any("looping/again/" in key for key in objects)


def missing_on_disk(output: str) -> int:
    """How many database references the cutover found missing on disk before it began."""
    section = output.split("==> check the database's file references")[1].split("==>")[0]
    if "every one on disk" in section:
        return 0
    assert "not caused by the cutover" in section
    return int(section.split(" were already missing on disk")[0].split("; ")[-1])


def test_ctrl_c_during_the_upload_leaves_everything_as_it_was(fresh, project_root):
    process = subprocess.Popen([sys.executable, "-m", "invoke", "cutover", "--env=sandbox"], cwd=project_root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "SYNC_CONCURRENCY": "1"})
    deadline = time.monotonic() + 120
    while len(bucket_objects(fresh)) < 10 and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)  # what Ctrl-C in the operator's terminal sends
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "interrupted (Ctrl-C)" in stderr, stdout + stderr
    assert "Traceback" not in stderr
    assert_unchanged(fresh)
    assert "lock:     free" in invoke(project_root, "status", "--env=sandbox").stdout
    assert fresh.ssh("web1", "pgrep -u \"$(id -u)\" -f '[r]clone copy'", check=False).returncode == 1
    assert list((Path(fresh.host("web1")["home"]) / ".media-cutover" / "run").glob("*.conf")) == []
