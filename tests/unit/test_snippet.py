"""The printed settings block and template tag: valid Python, flippable, no secret."""

import ast
from dataclasses import replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from deploy.config.load import load_settings
from deploy.errors import ConfigError
from deploy.site.edits import snippet
from deploy.site.edits.settings_file import find_use_s3, set_use_s3

from .configs import MINIMAL

CONFIG = MINIMAL + """\
AWS_S3_REGION_NAME=eu-west-1
AWS_LOCATION=uploads/media
AWS_ACCESS_KEY_ID=AKIAFILE
AWS_REQUEST_CHECKSUM_CALCULATION=when_supported
CACHE_CONTROL=max-age=86400, public
"""
SECRET = "deploy-secret-never-printed"


@pytest.fixture
def aws(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    (tmp_path / "config" / "demo.secrets.env").write_text(f"AWS_SECRET_ACCESS_KEY={SECRET}\n")
    return load_settings("demo", tmp_path, {})


@pytest.fixture
def store(aws):
    return replace(aws, endpoint_url="http://127.0.0.1:18333", region="us-east-1", checksum_mode="when_required")


def run_block(block: str, use_s3: bool, environ=None) -> dict:
    source = set_use_s3(block, "local_settings.py", use_s3) if use_s3 else block
    namespace: dict = {}
    import os
    saved = dict(os.environ)
    try:
        os.environ.update(environ or {})
        exec(compile(source, "local_settings.py", "exec"), namespace)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return namespace


def test_the_block_has_the_one_flippable_use_s3_false(aws):
    block = snippet.settings_block(aws)
    assignment = find_use_s3(block, "local_settings.py")
    assert assignment.value is False
    assert find_use_s3(set_use_s3(block, "local_settings.py", True), "local_settings.py").value is True


def test_with_use_s3_off_the_block_changes_no_storage_setting(aws):
    namespace = run_block(snippet.settings_block(aws), use_s3=False)
    assert "STORAGES" not in namespace and "MEDIA_URL" not in namespace


def test_on_aws_the_block_configures_the_s3_backend(aws):
    namespace = run_block(snippet.settings_block(aws), use_s3=True,
                          environ={"AWS_ACCESS_KEY_ID": "AKIASITE", "AWS_SECRET_ACCESS_KEY": "site-secret"})
    default = namespace["STORAGES"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"] == {
        "bucket_name": "my-media", "location": "uploads/media", "region_name": "eu-west-1",
        "endpoint_url": None, "custom_domain": "my-media.s3.eu-west-1.amazonaws.com",
        "access_key": "AKIASITE", "secret_key": "site-secret", "default_acl": None,
        "querystring_auth": False, "file_overwrite": False,
        "object_parameters": {"CacheControl": "max-age=86400, public"}, "addressing_style": "virtual"}
    assert namespace["STORAGES"]["staticfiles"]["BACKEND"].endswith("StaticFilesStorage")
    assert namespace["MEDIA_URL"] == "https://my-media.s3.eu-west-1.amazonaws.com/uploads/media/"
    assert namespace["MEDIA_URL"].startswith(aws.bucket_url)


def test_on_a_compatible_store_the_block_uses_the_endpoint_path_style_and_checksum_fix(store):
    block = snippet.settings_block(store)
    assert 'os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")' in block
    namespace = run_block(block, use_s3=True)
    options = namespace["STORAGES"]["default"]["OPTIONS"]
    assert options["endpoint_url"] == "http://127.0.0.1:18333"
    assert options["custom_domain"] is None and options["addressing_style"] == "path"
    assert namespace["MEDIA_URL"] == "http://127.0.0.1:18333/my-media/uploads/media/"


MANIFEST = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}


def test_pasted_into_a_local_py_it_keeps_the_settings_modules_staticfiles_and_other_aliases(aws, monkeypatch):
    """settings/production.py: `from .base import *` (Manifest static files, an extra alias), then
    `from .local import *` at its end: local.py sees production's STORAGES through sys.modules."""
    import sys
    import types

    production = types.ModuleType("shop.settings.production")
    production.STORAGES = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                           "staticfiles": MANIFEST, "exports": {"BACKEND": "myapp.storage.ExportStorage"}}
    monkeypatch.setitem(sys.modules, "shop.settings.production", production)
    namespace = run_block(snippet.settings_block(aws), use_s3=True,
                          environ={"DJANGO_SETTINGS_MODULE": "shop.settings.production"})
    assert namespace["STORAGES"]["staticfiles"] == MANIFEST
    assert namespace["STORAGES"]["exports"] == {"BACKEND": "myapp.storage.ExportStorage"}
    assert namespace["STORAGES"]["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert production.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage")   # not mutated


def test_pasted_at_the_end_of_the_settings_module_itself_it_keeps_what_came_before(aws):
    before = f"STORAGES = {{'staticfiles': {MANIFEST!r}, 'easy_thumbnails': {{'BACKEND': 'x.Thumbs'}}}}\n"
    namespace = run_block(before + snippet.settings_block(aws), use_s3=True)
    assert namespace["STORAGES"]["staticfiles"] == MANIFEST
    # Thumbnails are written where they are linked: the alias follows the default storage.
    assert namespace["STORAGES"]["easy_thumbnails"] == namespace["STORAGES"]["default"]


def test_the_environ_flavor_reads_the_switch_and_key_through_django_environ(aws, monkeypatch):
    import sys
    import types

    class Env:
        def bool(self, name, default=False):
            return os.environ.get(name, str(default)).lower() in ("true", "1", "yes", "on")

        def __call__(self, name, default=None):
            return os.environ.get(name, default)

    import os
    monkeypatch.setitem(sys.modules, "environ", types.SimpleNamespace(Env=Env))
    block = snippet.settings_block(aws, flavor="environ")
    assert "USE_S3 = env.bool(\"USE_S3\", default=False)" in block and "\nUSE_S3 = False" not in block
    assert run_block(block, use_s3=False, environ={"USE_S3": "false"}).get("STORAGES") is None
    namespace = run_block(block, use_s3=False, environ={"USE_S3": "true", "AWS_ACCESS_KEY_ID": "AKIASITE"})
    assert namespace["STORAGES"]["default"]["OPTIONS"]["access_key"] == "AKIASITE"
    with pytest.raises(ConfigError, match="--flavor='decouple': expected one of plain, environ"):
        snippet.settings_block(aws, flavor="decouple")


def test_a_custom_domain_serves_media(aws):
    namespace = run_block(snippet.settings_block(aws, "cdn.example.com"), use_s3=True)
    assert namespace["STORAGES"]["default"]["OPTIONS"]["custom_domain"] == "cdn.example.com"
    assert namespace["MEDIA_URL"] == "https://cdn.example.com/uploads/media/"


def test_the_printout_never_holds_the_secret_but_names_the_key_id(aws):
    printed = snippet.render(aws)
    assert SECRET not in printed
    assert "AWS_ACCESS_KEY_ID=AKIAFILE" in printed


def test_parts_print_alone_or_together(aws):
    assert snippet.render(aws, part="settings") == snippet.settings_block(aws)
    assert snippet.render(aws, part="tag") == snippet.template_tag_module()
    both = snippet.render(aws)
    assert snippet.settings_block(aws) in both and snippet.template_tag_module() in both
    assert "templatetags/absolute_media.py" in both


def test_an_unknown_part_is_an_operator_error(aws):
    with pytest.raises(ConfigError, match="--part='bogus': expected one of both, settings, tag"):
        snippet.render(aws, part="bogus")


def test_the_task_prints_the_block_of_an_environment_without_a_deploy_key(tmp_path, monkeypatch, capsys):
    import tasks
    from invoke import MockContext

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG.replace("AWS_ACCESS_KEY_ID=AKIAFILE\n", ""))
    monkeypatch.setattr(tasks, "PROJECT_ROOT", tmp_path)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)
    tasks.settings_snippet(MockContext(), env="demo", part="settings")
    printed = capsys.readouterr().out
    assert "USE_S3 = False" in printed and "run `invoke provision` first" in printed


def make_absolute():
    """The tag module's pure helper, without importing Django."""
    tree = ast.parse(snippet.template_tag_module())
    (function,) = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "make_absolute"]
    namespace = {"urljoin": urljoin, "urlsplit": urlsplit}
    exec(compile(ast.Module(body=[function], type_ignores=[]), "absolute_media.py", "exec"), namespace)
    return namespace["make_absolute"]


def test_tag_module_is_valid_python_with_the_two_tags():
    tree = ast.parse(snippet.template_tag_module())
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"absolute_url", "absolute_static", "make_absolute"} <= names


@pytest.mark.parametrize("url, base, expected", [
    ("https://bucket.s3.amazonaws.com/media/a.jpg", "https://site.example", "https://bucket.s3.amazonaws.com/media/a.jpg"),
    ("/static/logo.png", "https://site.example", "https://site.example/static/logo.png"),
    ("/media/a.jpg", "https://site.example/", "https://site.example/media/a.jpg"),
    ("//cdn.example.com/a.jpg", "https://site.example", "https://cdn.example.com/a.jpg"),
    ("/static/logo.png", "", "/static/logo.png"),
    ("", "https://site.example", "https://site.example/"),
])
def test_only_relative_urls_are_made_absolute(url, base, expected):
    assert make_absolute()(url, base) == expected
