"""The sandbox's parts really work: SSH hosts, S3 store, Django sites."""

import subprocess
import uuid
from pathlib import Path

import botocore.exceptions
import pytest

from deploy.config.types import Secret
from deploy.store.client import s3_client

from .sandbox_client import http_get, http_json, invoke, upload


def test_each_host_is_its_own_account_with_its_own_files(sandbox):
    users = {alias: sandbox.ssh(alias, "id -un").stdout.strip() for alias in ("web1", "web2")}
    assert users == {"web1": "mcsbx-web1", "web2": "mcsbx-web2"}
    marker = f"only-on-web1-{uuid.uuid4().hex}"
    sandbox.ssh("web1", f"echo {marker} > ~/marker.txt")
    try:
        assert sandbox.ssh("web1", "cat ~/marker.txt").stdout.strip() == marker
        assert sandbox.ssh("web2", "test -e ~/marker.txt", check=False).returncode == 1
        # and web2 cannot even look into web1's home
        assert sandbox.ssh("web2", f"cat {sandbox.host('web1')['home']}/marker.txt", check=False).returncode != 0
    finally:
        sandbox.ssh("web1", "rm -f ~/marker.txt")


def test_ssh_refuses_an_unknown_key(sandbox, tmp_path):
    key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    result = subprocess.run(
        ["ssh", "-F", "/dev/null", "-p", "18022", "-i", str(key), "-o", "IdentitiesOnly=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         "mcsbx-web1@127.0.0.1", "true"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 255


def test_s3_accepts_the_right_keys_and_refuses_wrong_ones(sandbox):
    settings = sandbox.settings()
    client = s3_client(settings)
    key = f"{settings.media_prefix}/tests/{uuid.uuid4().hex}.txt"
    client.put_object(Bucket=settings.bucket, Key=key, Body=b"hello", ContentType="text/plain")
    try:
        assert client.get_object(Bucket=settings.bucket, Key=key)["Body"].read() == b"hello"
        wrong = s3_client(_with_secret(settings, "not-the-secret"))
        with pytest.raises(botocore.exceptions.ClientError) as error:
            wrong.get_object(Bucket=settings.bucket, Key=key)
        assert error.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied", "403")
    finally:
        client.delete_object(Bucket=settings.bucket, Key=key)


def test_media_are_public_but_the_bucket_is_not_listable(sandbox):
    settings = sandbox.admin()   # it writes outside the media prefix too
    client = s3_client(settings)
    inside = f"{settings.media_prefix}/tests/{uuid.uuid4().hex}.jpg"
    outside = f"private/{uuid.uuid4().hex}.txt"
    client.put_object(Bucket=settings.bucket, Key=inside, Body=b"\xff\xd8\xff\xe0jpeg", ContentType="image/jpeg")
    client.put_object(Bucket=settings.bucket, Key=outside, Body=b"secret")
    try:
        status, body, headers = http_get(f"{settings.bucket_url}/{inside}")
        assert (status, body, headers["Content-Type"]) == (200, b"\xff\xd8\xff\xe0jpeg", "image/jpeg")
        assert http_get(f"{settings.bucket_url}/{outside}")[0] == 403
        assert http_get(f"{settings.bucket_url}?list-type=2")[0] == 403
        assert http_get(f"{settings.bucket_url}?list-type=2&prefix={settings.media_prefix}/")[0] == 403
    finally:
        client.delete_object(Bucket=settings.bucket, Key=inside)
        client.delete_object(Bucket=settings.bucket, Key=outside)


def test_each_site_answers_health_on_disk(sandbox):
    for alias in sandbox.aliases:
        health = http_json(sandbox.host(alias)["health_url"])
        assert health["status"] == "ok" and health["host"] == alias and health["storage"] == "disk"


def test_an_upload_lands_on_the_shared_disk_and_is_served_by_both_sites(sandbox):
    content = uuid.uuid4().bytes * 100
    stored = upload(sandbox.host("web2")["site_url"], "Grüße vom Test.jpg", content)
    on_disk = sandbox.media_root() / stored["name"]
    assert on_disk.read_bytes() == content
    for alias in sandbox.aliases:
        status, body, headers = http_get(sandbox.host(alias)["site_url"] + stored["url"])
        assert (status, body) == (200, content)
        assert headers["Content-Type"] == "image/jpeg"
    listed = http_json(sandbox.host("web1")["site_url"] + "/files/")
    assert stored["name"] in {entry["name"] for entry in listed["files"]}


def test_the_media_tree_looks_like_a_real_one(sandbox):
    root = sandbox.media_root()
    files = [path for path in root.rglob("*") if path.is_file()]
    assert len(files) >= 300
    assert any(path.is_symlink() for path in root.rglob("*"))
    assert any(path.stat().st_size == 0 for path in files)
    assert any(" " in path.name for path in files) and any(not path.name.isascii() for path in files)
    assert any("/thumbs/" in str(path) for path in files) and any("/images/" in str(path) for path in files)


def test_sandbox_json_records_what_tests_need(sandbox):
    state = sandbox.state
    assert set(state["hosts"]) == {"web1", "web2"}
    for host in state["hosts"].values():
        assert {"ssh_alias", "site_url", "settings_path", "media_root"} <= set(host)
        assert Path(host["settings_path"]).is_file()
    assert state["s3"]["bucket"] and state["s3"]["endpoint"].startswith("http://127.0.0.1:")
    assert state["s3"]["media_prefix"] == "media"


def test_config_task_masks_the_secret(sandbox, project_root):
    output = invoke(project_root, "config", "--env=sandbox").stdout
    secret = sandbox.settings().secret_access_key.reveal()
    assert secret not in output and "********" in output
    assert (project_root / "config" / "sandbox.secrets.env").stat().st_mode & 0o077 == 0


def test_config_errors_are_one_line(project_root):
    result = invoke(project_root, "config", "--env=nope", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "config/nope.env" in result.stderr


def test_sandbox_up_again_reuses_what_runs(sandbox, project_root):
    output = invoke(project_root, "sandbox.up").stdout
    assert "SeaweedFS on 127.0.0.1:18333: running" in output
    assert "sshd on 127.0.0.1:18022: running" in output
    assert "web1 at http://127.0.0.1:18101: running" in output
    assert output.strip().splitlines()[-1].startswith("sandbox ready")


def _with_secret(settings, secret):
    from dataclasses import replace
    return replace(settings, secret_access_key=Secret(secret))


def test_the_deploy_key_is_a_provisioned_one_limited_to_the_media_prefix(sandbox):
    settings, admin = sandbox.settings(), sandbox.admin()
    assert settings.access_key_id != admin.access_key_id
    client = s3_client(settings)
    for call in (lambda: client.put_object(Bucket=settings.bucket, Key="outside.txt", Body=b"x"),
                 lambda: client.list_objects_v2(Bucket=settings.bucket),
                 lambda: client.delete_bucket_policy(Bucket=settings.bucket)):
        with pytest.raises(botocore.exceptions.ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] in ("AccessDenied", "403")


def test_sandbox_up_replaces_a_deploy_key_the_store_no_longer_knows(sandbox, project_root):
    """As after `rm -rf .sandbox`: the store is new, config/sandbox.secrets.env is the old one."""
    from deploy.store import iam
    from deploy.store.probe import probe

    old = sandbox.settings().access_key_id
    iam.iam_client(sandbox.admin()).delete_access_key(UserName="media-cutover-sandbox", AccessKeyId=old)
    output = invoke(project_root, "sandbox.up").stdout
    assert f"this store does not know the key on file, {old} (.sandbox/ was made anew): provisioned" in output
    new = sandbox.settings()
    assert new.access_key_id != old
    assert "web1 at http://127.0.0.1:18101: running, reloaded with its new site.env" in output
    site_env = Path(sandbox.host("web1")["home"]) / "site" / "site.env"
    assert f"AWS_ACCESS_KEY_ID={new.access_key_id}\n" in site_env.read_text()
    probe(new, f"{new.media_prefix}/.media-cutover-test-probe-{uuid.uuid4().hex}", check_public=True)
    again = invoke(project_root, "sandbox.up").stdout
    assert f"deploy key {new.access_key_id} (provisioned, least privilege) in place" in again
