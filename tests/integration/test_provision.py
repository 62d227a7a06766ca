"""`invoke provision` against the sandbox's SeaweedFS, whose IAM API enforces user policies.

Everything runs as environment ``provtest`` in a temporary project root: a copy
of config/sandbox.env with its own bucket, and a secrets file that starts as the
sandbox's does (the admin key as deploy key).  The sandbox's bucket, its policy
and config/sandbox.secrets.env are never touched; the module removes what it
made, also after an interrupted earlier run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import botocore.exceptions
import pytest
from invoke import MockContext

from deploy.config import credentials
from deploy.config.load import load
from deploy.errors import ProvisionError
from deploy.provision.apply import ProvisionOptions, run_provision
from deploy.provision.check import PNG
from deploy.provision.desired import names_for
from deploy.provision.plan import State
from deploy.provision.teardown import run_teardown
from deploy.sandbox.sites import TEMPLATE
from deploy.site.edits import snippet
from deploy.site.edits.settings_file import set_use_s3
from deploy.store import bucket_admin, iam
from deploy.store.client import s3_client
from deploy.store.errors import error_code
from deploy.store.probe import anonymous_get, object_url

pytestmark = pytest.mark.slow

ENV = "provtest"
BUCKET = "media-cutover-provision-test"
NAMES = names_for(ENV)
IN_PLACE, UNSUPPORTED = State.IN_PLACE, State.UNSUPPORTED


@dataclass
class Project:
    root: Path
    admin_env: str
    original_secrets: bytes = field(repr=False)  # holds the sandbox's admin key

    def settings(self):
        return load(ENV, self.root, {}, deploy_key_optional=True)

    def admin(self):
        return credentials.admin_settings(self.settings(), self.admin_env, {})

    @property
    def secrets(self) -> Path:
        return self.root / "config" / f"{ENV}.secrets.env"

    def key_settings(self):
        """The environment with the key provision wrote."""
        settings = self.settings()
        return credentials.with_key(settings, *credentials.key_on_file(settings))

    def provision(self, **options) -> tuple[list, str]:
        lines: list[str] = []
        steps = run_provision(self.settings(), self.admin(), ProvisionOptions(**options), lines.append)
        return steps, "\n".join(lines)


def code_of(call) -> str:
    try:
        call()
        return "ok"
    except botocore.exceptions.ClientError as error:
        return error_code(error)


def force_cleanup(admin) -> None:
    """Remove the test's IAM user, group and bucket by name, whatever state they are in."""
    api = iam.iam_client(admin)
    if iam.user_exists(api, NAMES.user):
        for key in iam.access_key_ids(api, NAMES.user):
            api.delete_access_key(UserName=NAMES.user, AccessKeyId=key)
        for group in iam.groups_of(api, NAMES.user):
            api.remove_user_from_group(GroupName=group, UserName=NAMES.user)
        for name in iam.inline_policy_names(api, "user", NAMES.user):
            api.delete_user_policy(UserName=NAMES.user, PolicyName=name)
        api.delete_user(UserName=NAMES.user)
    if iam.group_exists(api, NAMES.group):
        for name in iam.inline_policy_names(api, "group", NAMES.group):
            api.delete_group_policy(GroupName=NAMES.group, PolicyName=name)
        api.delete_group(GroupName=NAMES.group)
    client = s3_client(admin)
    if bucket_admin.bucket_state(client, admin) == "present":
        bucket_admin.delete_keys(client, BUCKET, bucket_admin.keys_under(client, BUCKET))
        client.delete_bucket(Bucket=BUCKET)


@pytest.fixture(scope="module")
def project(sandbox, tmp_path_factory):
    sandbox_secrets = sandbox.project_root / "config" / "sandbox.secrets.env"
    sandbox_before = sandbox_secrets.read_bytes()
    root = tmp_path_factory.mktemp("provision-project")
    (root / "config").mkdir()
    text = (sandbox.project_root / "config" / "sandbox.env").read_text()
    text = re.sub(r"(?m)^AWS_STORAGE_BUCKET_NAME=.*$", f"AWS_STORAGE_BUCKET_NAME={BUCKET}", text)
    text = re.sub(r"(?m)^SSH_CONFIG=.*$", f"SSH_CONFIG={sandbox.ssh_config}", text)
    (root / "config" / f"{ENV}.env").write_text(text)
    # As in the sandbox: the deploy key is the admin key until provision makes one.
    admin_env = sandbox.state["s3_admin_env"]
    original = ("# as `invoke sandbox.up` writes it\n" + Path(admin_env).read_text() + "EXTRA=kept\n").encode()
    secrets = root / "config" / f"{ENV}.secrets.env"
    secrets.write_bytes(original)
    secrets.chmod(0o600)
    made = Project(root, admin_env, original)
    force_cleanup(made.admin())
    yield made
    force_cleanup(made.admin())
    assert sandbox_secrets.read_bytes() == sandbox_before, "config/sandbox.secrets.env changed"


def test_a_dry_run_from_nothing_shows_every_step_and_changes_nothing(project):
    steps, output = project.provision(dry_run=True)
    assert all(step.acts for step in steps)
    assert "dry run: nothing changed; 9 step(s) would act" in output
    assert bucket_admin.bucket_state(s3_client(project.admin()), project.settings()) == "absent"
    assert not iam.user_exists(iam.iam_client(project.admin()), NAMES.user)
    assert project.secrets.read_bytes() == project.original_secrets


def test_provision_from_nothing_creates_everything_and_checks_the_key(project):
    admin_secret = project.admin().secret_access_key.reveal()
    steps, output = project.provision()
    key_id, secret = credentials.key_on_file(project.settings())
    assert key_id != project.admin().access_key_id
    assert f"access key: created {key_id} for {NAMES.user}" in output
    assert secret.reveal() not in output and admin_secret not in output
    # Only the two key lines changed; mode 600.
    lines = project.secrets.read_text().splitlines()
    assert lines[0] == "# as `invoke sandbox.up` writes it" and "EXTRA=kept" in lines
    assert f"AWS_ACCESS_KEY_ID={key_id}" in lines
    assert stat.S_IMODE(project.secrets.stat().st_mode) == 0o600
    # The store: what SeaweedFS 4.48 supports is in place, Block Public Access is skipped.
    states = {step.thing: step.state for step in steps}
    assert states["block public access"] == UNSUPPORTED
    assert states == {**dict.fromkeys(states, IN_PLACE), "block public access": UNSUPPORTED}
    admin = project.admin()
    api = iam.iam_client(admin)
    assert NAMES.group in iam.groups_of(api, NAMES.user)
    assert iam.group_policy(api, NAMES.group, NAMES.policy) is not None
    assert bucket_admin.bucket_policy(s3_client(admin), BUCKET) is not None
    # Every check of the recipe's step 4 passed.
    assert output.count("check   ") == 10 and "FAILED" not in output


def test_a_second_run_through_the_task_is_a_no_op(project, monkeypatch, capsys):
    import tasks

    before = project.secrets.read_bytes()
    monkeypatch.setattr(tasks, "PROJECT_ROOT", project.root)
    tasks.provision(MockContext(), env=ENV, admin_env=project.admin_env)
    output = capsys.readouterr().out
    assert output.count("already in place") == 8 + 1  # the table's rows, and the summary
    assert "nothing to do: every part is already in place" in output
    assert "created" not in output and "to create" not in output
    assert project.secrets.read_bytes() == before


def test_the_key_can_put_get_delete_under_the_prefix_only(project):
    settings, admin = project.key_settings(), project.admin()
    client, admin_client = s3_client(settings), s3_client(admin)
    key = "media/provision-test/a.png"
    assert code_of(lambda: client.put_object(Bucket=BUCKET, Key=key, Body=PNG, ContentType="image/png")) == "ok"
    assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == PNG
    assert code_of(lambda: client.list_objects_v2(Bucket=BUCKET, Prefix="media/")) == "ok"
    assert code_of(lambda: client.head_object(Bucket=BUCKET, Key="media/missing.png")) == "404"
    # Anyone can GET under the prefix; nobody anonymous can list.
    status, body, headers = anonymous_get(object_url(settings, key))
    assert (status, body, headers["Content-Type"]) == (200, PNG, "image/png")
    assert anonymous_get(f"{settings.bucket_url}?list-type=2&prefix=media/")[0] == 403
    assert anonymous_get(settings.bucket_url)[0] == 403
    assert code_of(lambda: client.delete_object(Bucket=BUCKET, Key=key)) == "ok"
    # Outside the prefix: no write, read, delete or listing.
    admin_client.put_object(Bucket=BUCKET, Key="private/b.txt", Body=b"b")
    try:
        assert code_of(lambda: client.put_object(Bucket=BUCKET, Key="outside.txt", Body=b"x")) == "AccessDenied"
        assert code_of(lambda: client.put_object(Bucket=BUCKET, Key="media2/x.txt", Body=b"x")) == "AccessDenied"
        assert code_of(lambda: client.get_object(Bucket=BUCKET, Key="private/b.txt")) == "AccessDenied"
        assert code_of(lambda: client.delete_object(Bucket=BUCKET, Key="private/b.txt")) == "AccessDenied"
        assert code_of(lambda: client.list_objects_v2(Bucket=BUCKET)) == "AccessDenied"
        assert code_of(lambda: client.list_objects_v2(Bucket=BUCKET, Prefix="private/")) == "AccessDenied"
        assert anonymous_get(object_url(settings, "private/b.txt"))[0] == 403
        assert code_of(lambda: client.put_bucket_policy(Bucket=BUCKET, Policy="{}")) == "AccessDenied"
    finally:
        admin_client.delete_object(Bucket=BUCKET, Key="private/b.txt")


def test_the_key_cannot_touch_another_bucket(project):
    settings, admin_client = project.key_settings(), s3_client(project.admin())
    client = s3_client(settings)
    other = f"{BUCKET}-other"
    admin_client.create_bucket(Bucket=other)
    try:
        assert code_of(lambda: client.put_object(Bucket=other, Key="media/x.txt", Body=b"x")) == "AccessDenied"
        assert code_of(lambda: client.list_objects_v2(Bucket=other, Prefix="media/")) == "AccessDenied"
        assert code_of(lambda: client.create_bucket(Bucket=f"{BUCKET}-new")) == "AccessDenied"
    finally:
        bucket_admin.delete_keys(admin_client, other, bucket_admin.keys_under(admin_client, other))
        admin_client.delete_bucket(Bucket=other)


def test_drifted_policies_are_shown_and_replaced_only_with_the_flag(project):
    admin = project.admin()
    client, api = s3_client(admin), iam.iam_client(admin)
    wide_read = {"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicReadAll", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}
    wide_write = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(wide_read))
    api.put_group_policy(GroupName=NAMES.group, PolicyName=NAMES.policy, PolicyDocument=json.dumps(wide_write))
    lines: list[str] = []
    with pytest.raises(ProvisionError, match="bucket policy, group policy drifted .* --replace-drifted"):
        run_provision(project.settings(), admin, ProvisionOptions(), lines.append)
    output = "\n".join(lines)
    assert "--- bucket policy (now)\n+++ bucket policy (provision)" in output
    assert f'-        "arn:aws:s3:::{BUCKET}/*"' in output and '-        "s3:*"' in output
    assert bucket_admin.bucket_policy(client, BUCKET)["Statement"][0]["Sid"] == "PublicReadAll"
    assert iam.group_policy(api, NAMES.group, NAMES.policy)["Statement"][0]["Resource"] == "*"

    steps, output = project.provision(replace_drifted=True)
    assert "bucket policy anyone may GET media/*: replaced" in output
    assert f"group policy {NAMES.group}/{NAMES.policy}: replaced" in output
    assert all(step.state in (IN_PLACE, UNSUPPORTED) for step in steps)
    assert "FAILED" not in output


SITE_SCRIPT = """
import json, os
from django.conf import settings
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Engine
from django.test import Client

image = open(os.environ["TEST_IMAGE"], "rb").read()
answer = Client().post("/upload/", {"file": SimpleUploadedFile("snippet test.png", image, "image/png")})
settings.SITE_URL = "https://site.example"
engine = Engine(libraries={"absolute_media": "gallery.templatetags.absolute_media"})
template = engine.from_string("{% load absolute_media %}{% absolute_url url %}|{% absolute_static 'img/logo.png' %}")
body = answer.json()
print("RESULT " + json.dumps({"status": answer.status_code, "body": body,
                              "storage": type(storages["default"]).__name__,
                              "tag": template.render(Context({"url": body.get("url", "")}))}))
"""


def test_the_snippet_in_a_fresh_site_copy_uploads_into_the_bucket(project, sandbox, tmp_path):
    site_python = sandbox.project_root / ".sandbox" / "site-venv" / "bin" / "python"
    settings = project.key_settings()
    site = tmp_path / "site"
    shutil.copytree(TEMPLATE, site, ignore=shutil.ignore_patterns("__pycache__"))
    block = snippet.render(settings, part="settings")
    local_settings = site / "mediasite" / "local_settings.py"
    local_settings.write_text(set_use_s3(block, str(local_settings), True))
    tags = site / "gallery" / "templatetags"
    tags.mkdir()
    (tags / "__init__.py").write_text("")
    (tags / snippet.TAG_MODULE_NAME).write_text(snippet.render(settings, part="tag"))
    (site / "site.env").write_text(f"DJANGO_SECRET_KEY=provision-test\nDATABASE_PATH={tmp_path / 'db.sqlite3'}\n"
                                   f"MEDIA_ROOT={tmp_path / 'media'}\nSITE_HOST_NAME=provtest\n")
    (tmp_path / "image.png").write_bytes(PNG)
    # Only the deploy key reaches the site, by environment; nothing else of ours.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "AWS_ACCESS_KEY_ID": settings.access_key_id,
           "AWS_SECRET_ACCESS_KEY": settings.secret_access_key.reveal(), "TEST_IMAGE": str(tmp_path / "image.png")}

    def manage(*args: str) -> str:
        result = subprocess.run([str(site_python), "manage.py", *args], cwd=site, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    manage("migrate", "--noinput", "-v", "0")
    output = manage("shell", "-c", SITE_SCRIPT)
    result = json.loads(output.split("RESULT ", 1)[1])
    assert result["status"] == 201, result
    assert result["storage"] == "S3Storage"
    name, url = result["body"]["name"], result["body"]["url"]
    assert name.startswith("uploads/") and name.endswith(".png")
    assert url == object_url(settings, f"media/{name}")
    head = s3_client(project.admin()).head_object(Bucket=BUCKET, Key=f"media/{name}")
    assert head["ContentLength"] == len(PNG) and head["ContentType"] == "image/png"
    assert head["CacheControl"] == "max-age=86400, public"
    assert anonymous_get(url)[:2] == (200, PNG)
    # The tag: the bucket's absolute URL unchanged, the static one made absolute.
    assert result["tag"] == f"{url}|https://site.example/static/img/logo.png"
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.png"))


def test_teardown_removes_what_provision_made_and_restores_the_secrets_file(project):
    settings = project.key_settings()
    lines = run_teardown(project.settings(), project.admin(), dry_run=True)
    assert f"would remove IAM user {NAMES.user}" in lines
    assert iam.user_exists(iam.iam_client(project.admin()), NAMES.user)

    lines = run_teardown(project.settings(), project.admin())
    assert f"removed IAM user {NAMES.user}" in lines and f"removed IAM group {NAMES.group}" in lines
    assert any(line.startswith(f"removed bucket {BUCKET}") for line in lines)
    assert f"restored config/{ENV}.secrets.env as it was before provision" in lines
    assert project.secrets.read_bytes() == project.original_secrets
    assert not credentials.backup_path(project.settings()).exists()
    api = iam.iam_client(project.admin())
    assert not iam.user_exists(api, NAMES.user) and not iam.group_exists(api, NAMES.group)
    assert bucket_admin.bucket_state(s3_client(project.admin()), project.settings()) == "absent"
    assert code_of(lambda: s3_client(settings).list_objects_v2(Bucket=BUCKET, Prefix="media/")) != "ok"
    assert run_teardown(project.settings(), project.admin()) == ["nothing to remove"]
