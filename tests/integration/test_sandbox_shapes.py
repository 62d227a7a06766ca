"""The sandbox's extra site shapes, brought up as an operator would: `invoke sandbox.up --shapes=all`.

(b) package: a settings package run under its production module behind nginx, media only on
an HTML page; (c) envfile: django-environ reading .env, restarted rather than reloaded;
(d) recipe: the recipe-era DEFAULT_FILE_STORAGE block, which Django 5.2 ignores.  Every test
puts back what it changes; none touches shape (a) or empties the bucket.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from deploy.sandbox.shape_env import pristine_env_text, refreshed_env_text
from deploy.sandbox.shapes import SHAPE_TEMPLATES

from .conftest import TEST_MEDIA_FILES
from .sandbox_client import Sandbox, http_get, http_json, invoke, upload

pytestmark = pytest.mark.slow

SHAPES = ("package", "envfile", "recipe", "thumbs")
JPEG = b"\xff\xd8\xff\xe0"


@pytest.fixture(scope="module")
def shapes(sandbox, project_root) -> dict:
    result = invoke(project_root, "sandbox.up", f"--media-files={TEST_MEDIA_FILES}", "--shapes=all")
    assert result.stdout.strip().splitlines()[-1].startswith("sandbox ready")
    for shape in SHAPES:
        assert f"shape   {shape} on web2 at " in result.stdout
    return Sandbox.load(project_root).state["shapes"]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.anchors, self.stylesheets = [], [], []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"])
        elif tag == "a":
            self.anchors.append(values["href"])
        elif tag == "link" and values.get("rel") == "stylesheet":
            self.stylesheets.append(values["href"])


def page_links(url: str) -> tuple[_Links, str]:
    status, body, _ = http_get(url)
    assert status == 200, f"GET {url} answered {status}"
    links = _Links()
    links.feed(body.decode())
    return links, body.decode()


def as_host(sandbox: Sandbox, alias: str, command: str) -> str:
    return sandbox.ssh(alias, command).stdout


def wait_until(what: str, ready, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def master_pid(host: dict) -> int:
    return int(Path(host["pidfile"]).read_text().strip())


def test_each_shape_answers_on_both_hosts(shapes):
    for name in SHAPES:
        for alias, host in shapes[name]["hosts"].items():
            assert http_get(host["page_url"])[0] == 200, (name, alias)
            if host["health_url"]:
                health = http_json(host["health_url"])
                assert (health["host"], health["storage"], health["media_url"]) == (alias, "disk", "/media/")


def test_sandbox_json_and_the_shape_environments_reach_each_shape(shapes, sandbox, project_root):
    from deploy.config.load import load_settings

    key = sandbox.settings().access_key_id
    for name in SHAPES:
        settings = load_settings(f"sandbox-{name}", project_root)
        assert settings.access_key_id == key and settings.media_prefix == "media"
        secrets = project_root / "config" / f"sandbox-{name}.secrets.env"
        assert secrets.is_symlink() and secrets.stat().st_mode & 0o077 == 0
        for host in settings.hosts:
            recorded = shapes[name]["hosts"][host.alias]
            assert recorded["site_url"] == host.site_url
            assert Path(recorded["settings_path"]).is_file()
            assert Path(recorded["env_file"]).stat().st_mode & 0o777 == 0o600
            if name == "thumbs":  # its own media and database, shared by both hosts
                assert recorded["media_root"] == shapes["thumbs"]["hosts"]["web1"]["media_root"] != \
                    sandbox.host(host.alias)["media_root"]
                assert Path(recorded["media_root"]).is_dir() and Path(recorded["database"]).is_file()
            else:
                assert recorded["media_root"] == sandbox.host(host.alias)["media_root"]
    status = invoke(project_root, "sandbox.status").stdout
    assert re.search(r"shape package web2\s+running \(pid \d+\), answering", status)
    assert re.search(r"nginx \(package\)\s+running", status)


def test_package_gallery_through_nginx_serves_media_and_hashed_static_from_disk(shapes, sandbox):
    host = shapes["package"]["hosts"]["web1"]
    content = JPEG + uuid.uuid4().bytes * 40
    stored = upload(host["site_url"], f"nginx shape {uuid.uuid4().hex[:8]}.jpg", content)
    links, _ = page_links(host["page_url"])
    assert stored["url"] in links.images and stored["url"] in links.anchors
    assert links.images and all(src.startswith("/media/") for src in links.images)
    assert any(href.startswith("https://") for href in links.anchors)  # the footer's noise
    media_root = sandbox.media_root()
    served = 0
    for src in links.images:
        on_disk = media_root / unquote(src[len("/media/"):])
        if not on_disk.is_file():  # a row another module's test left without its file on disk
            continue
        status, body, headers = http_get(host["site_url"] + src)
        assert (status, body, headers["Content-Type"], headers["Server"]) == \
            (200, on_disk.read_bytes(), "image/jpeg", "nginx"), src
        served += 1
    assert served >= 1
    # nginx, not Django: the gunicorn behind it has no /media/ route.
    assert http_get(host["backend_url"] + stored["url"])[0] == 404
    [stylesheet] = links.stylesheets
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", stylesheet)
    status, body, headers = http_get(host["site_url"] + stylesheet)
    assert (status, headers["Content-Type"]) == (200, "text/css")
    assert body == (SHAPE_TEMPLATES / "package" / "static" / "css" / "site.css").read_bytes()


def test_package_has_no_healthz(shapes):
    for host in shapes["package"]["hosts"].values():
        assert host["health_url"] is None
        assert http_get(host["site_url"] + "/healthz")[0] == 404
        assert http_get(host["site_url"] + "/files/")[0] == 404


def test_package_runs_its_production_module_while_manage_py_defaults_to_dev(shapes, sandbox):
    for alias, host in shapes["package"]["hosts"].items():
        _, html = page_links(host["page_url"])
        assert f"<!-- host {alias}, settings shopsite.settings.production -->" in html
        printed = as_host(sandbox, alias, "cd ~/shapes/package && ~/site-venv/bin/python manage.py shell -c "
                          + shlex.quote("from django.conf import settings; print('MODULE', settings.SETTINGS_MODULE)"))
        assert "MODULE shopsite.settings.dev" in printed
        conf = (Path(host["shape_dir"]) / "gunicorn.conf.py").read_text()
        assert 'raw_env = ["DJANGO_SETTINGS_MODULE=shopsite.settings.production"]' in conf


@pytest.mark.parametrize("name,alias", [("package", "web2"), ("envfile", "web1"), ("recipe", "web2")])
def test_an_upload_through_each_shape_lands_on_the_shared_disk(shapes, sandbox, name, alias):
    host = shapes[name]["hosts"][alias]
    content = JPEG + uuid.uuid4().bytes * 64
    stored = upload(host["site_url"], f"Grüße shape {name} {uuid.uuid4().hex[:8]}.jpg", content)
    assert stored["url"].startswith("/media/uploads/")
    assert (sandbox.media_root() / stored["name"]).read_bytes() == content
    status, body, _ = http_get(host["site_url"] + stored["url"])
    assert (status, body) == (200, content)


def test_envfile_restart_script_starts_a_new_master_that_answers(shapes, sandbox):
    host = shapes["envfile"]["hosts"]["web2"]
    before, env_before = master_pid(host), Path(host["env_file"]).read_bytes()
    sandbox.ssh("web2", host["reload_command"])  # as the tool runs RELOAD_COMMAND
    assert master_pid(host) != before
    assert not Path(f"/proc/{before}").exists()
    health = http_json(host["health_url"])
    assert (health["host"], health["storage"]) == ("web2", "disk")
    assert Path(host["env_file"]).read_bytes() == env_before


def test_recipe_block_flipped_on_still_stores_on_disk(shapes, sandbox):
    """With USE_S3 = True the recipe's names change nothing but MEDIA_URL: Django 5.2 ignores them."""
    host = shapes["recipe"]["hosts"]["web1"]
    pristine = Path(host["settings_path"]).read_bytes()
    name = f"shape-tests/recipe-{uuid.uuid4().hex[:8]}.jpg"
    probe = ("import json; from django.conf import settings; from django.core.files.base import ContentFile; "
             "from django.core.files.storage import default_storage, storages; s = storages['default']; "
             f"saved = default_storage.save({name!r}, ContentFile(b'\\xff\\xd8\\xff\\xe0recipe')); "
             "print('PROBE', json.dumps({'use_s3': settings.USE_S3, 'dfs': settings.DEFAULT_FILE_STORAGE, "
             "'storage': type(s).__module__ + '.' + type(s).__qualname__, 'media_url': settings.MEDIA_URL, "
             "'path': default_storage.path(saved)}))")
    scratch = f"~/shapes/.scratch-recipe-{uuid.uuid4().hex[:8]}"
    script = (f"cp -a ~/shapes/recipe {scratch} && "
              f"sed -i 's/^USE_S3 = False$/USE_S3 = True/' {scratch}/mediasite/local_settings.py && "
              f"grep -qx 'USE_S3 = True' {scratch}/mediasite/local_settings.py && "
              f"(cd {scratch} && ~/site-venv/bin/python manage.py shell -c {shlex.quote(probe)}); "
              f"status=$?; rm -rf {scratch}; exit $status")
    output = as_host(sandbox, "web1", script)
    found = json.loads(output.split("PROBE ", 1)[1].splitlines()[0])
    stored = Path(found.pop("path"))
    try:
        assert found == {"use_s3": True, "dfs": "storages.backends.s3boto3.S3Boto3Storage",
                         "storage": "django.core.files.storage.filesystem.FileSystemStorage",
                         "media_url": "http://127.0.0.1:18333/media-cutover-sandbox/media/"}
        assert stored == sandbox.media_root() / name and stored.read_bytes() == JPEG + b"recipe"
    finally:
        stored.unlink(missing_ok=True)
        if stored.parent.name == "shape-tests" and not any(stored.parent.iterdir()):
            stored.parent.rmdir()
    assert Path(host["settings_path"]).read_bytes() == pristine
    assert not list(Path(host["shape_dir"]).parent.glob(".scratch-recipe-*"))
    assert http_json(host["health_url"])["media_url"] == "/media/"


def test_shape_reset_puts_the_switch_back_and_leaves_the_bucket_alone(shapes, sandbox, project_root):
    from deploy.store.client import s3_client

    settings = sandbox.settings()
    client = s3_client(settings)
    marker = f"{settings.media_prefix}/shape-tests/{uuid.uuid4().hex}.txt"
    client.put_object(Bucket=settings.bucket, Key=marker, Body=b"stays")
    package, envfile = shapes["package"]["hosts"]["web2"], shapes["envfile"]["hosts"]["web1"]
    local_py, env_file = Path(package["settings_path"]), Path(envfile["env_file"])
    pristine_local, pristine_env = local_py.read_bytes(), env_file.read_bytes()
    try:
        local_py.write_bytes(pristine_local.replace(b"\nUSE_S3 = False\n", b"\nUSE_S3 = True\n"))
        env_file.write_bytes(pristine_env.replace(b"\nUSE_S3=false\n", b"\nUSE_S3=true\n"))
        os.kill(master_pid(package), signal.SIGHUP)  # the package site now renders bucket URLs
        wait_until("the package site renders bucket URLs",
                   lambda: page_links(package["page_url"])[0].images[0].startswith(settings.bucket_url))
        before = master_pid(envfile)
        output = invoke(project_root, "sandbox.reset", "--shape=package").stdout
        assert "shape package reset" in output and "reloaded: web2" in output
        assert all(src.startswith("/media/") for src in page_links(package["page_url"])[0].images)
        invoke(project_root, "sandbox.reset", "--shape=envfile")
        assert master_pid(envfile) != before  # its reload is a restart
        assert http_json(envfile["health_url"])["storage"] == "disk"
        assert local_py.read_bytes() == pristine_local and env_file.read_bytes() == pristine_env
        assert client.get_object(Bucket=settings.bucket, Key=marker)["Body"].read() == b"stays"
    finally:
        client.delete_object(Bucket=settings.bucket, Key=marker)
        if local_py.read_bytes() != pristine_local or env_file.read_bytes() != pristine_env:
            from deploy.sandbox import reset
            for name in ("package", "envfile"):
                reset(project_root, say=lambda line: None, shape=name)


def test_bad_shape_names_are_one_clear_line(project_root):
    for args, says in ((("sandbox.up", "--shapes=package,nope"), "unknown site shape 'nope'"),
                       (("sandbox.reset", "--shape=nope"), "unknown site shape 'nope'"),
                       (("sandbox.reset", "--empty-bucket"), "--empty-bucket goes with --shape=NAME")):
        result = invoke(project_root, *args, check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, args
        assert result.stderr.strip().count("\n") == 0 and says in result.stderr, args


def test_an_up_again_keeps_a_flipped_env_file_switch():
    """The tool flips USE_S3 in the .env; the sandbox refreshing its values there must not undo that."""
    from deploy.sandbox.shapes import ENVFILE

    values = {"DJANGO_SECRET_KEY": "k", "SITE_PORT": "18121", "AWS_ACCESS_KEY_ID": "OLD", "CACHE_CONTROL": "x"}
    flipped = pristine_env_text(ENVFILE, values).replace("USE_S3=false", "USE_S3=true")
    refreshed = refreshed_env_text(flipped, {**values, "AWS_ACCESS_KEY_ID": "NEW"})
    assert refreshed == flipped.replace("AWS_ACCESS_KEY_ID=OLD", "AWS_ACCESS_KEY_ID=NEW")
    assert refreshed.count("USE_S3=") == 1
