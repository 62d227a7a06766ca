"""What the flipped settings really select, checked before any reload, on the sandbox's site shapes.

(d) recipe: the recipe-era `DEFAULT_FILE_STORAGE` block, which Django 5.2 ignores: `manage.py check`
passes it, the storage check of the staged settings refuses it before the flip: nothing is written.
(c) envfile: a HUP reload of a gunicorn that preloads the app is refused in the preflight.
Run under the sandbox lock (see /tmp/context15.md): the cutover uploads into the shared prefix.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import TEST_MEDIA_FILES
from .sandbox_client import http_json, invoke, shapes_up

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shapes(sandbox, project_root) -> dict:
    return shapes_up(project_root, "recipe,envfile", TEST_MEDIA_FILES)


def workers(host: dict) -> set[int]:
    """The gunicorn master's worker pids: a HUP replaces every one of them."""
    master = Path(host["pidfile"]).read_text().strip()
    listed = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout
    return {int(pid) for pid in listed.split()}


def test_the_recipe_block_is_refused_before_any_reload_and_every_host_is_back(shapes, project_root):
    hosts = shapes["recipe"]["hosts"]
    before = {alias: Path(host["settings_path"]).read_bytes() for alias, host in hosts.items()}
    running = {alias: workers(host) for alias, host in hosts.items()}
    assert all(running.values()), running
    try:
        result = invoke(project_root, "cutover", "--env=sandbox-recipe", check=False)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        # the preflight showed what the settings selected before
        preflight = result.stdout.split("==> preflight: what the sites' settings select")[1].split("==>")[0]
        assert "web1: mediasite.settings: default storage django.core.files.storage.FileSystemStorage" in preflight
        # it stopped at the storage check of the staged settings, after manage.py check passed, before the flip
        assert "web1: manage.py check passed" in result.stdout
        assert "step 'check the new settings and what they select' failed" in result.stderr
        assert "==> flip USE_S3 = True" not in result.stdout and "==> reload the sites" not in result.stdout
        for alias in hosts:
            line = next(line for line in result.stderr.splitlines() if f"{alias}: the flipped settings" in line)
            assert "DEFAULT_FILE_STORAGE = 'storages.backends.s3boto3.S3Boto3Storage'" in line
            assert "Django 5.1 and later ignore" in line
            assert "Set STORAGES['default'] to {'BACKEND': 'storages.backends.s3.S3Storage'" in line
        assert "undone: flip" not in result.stderr  # nothing was written, so nothing to undo
        assert "every host is back as it was before the run" in result.stderr
        # byte-identical, on disk, never reloaded
        for alias, host in hosts.items():
            assert Path(host["settings_path"]).read_bytes() == before[alias], f"{alias} settings changed"
            assert http_json(host["health_url"])["storage"] == "disk"
            assert workers(host) == running[alias], f"{alias} was reloaded"
        journal = sorted((project_root / "runs").glob("*-sandbox-recipe-cutover.jsonl"))[-1]
        steps = {json.loads(line).get("step") for line in journal.read_text().splitlines()}
        assert "reload the sites" not in steps
    finally:
        invoke(project_root, "sandbox.reset", "--shape=recipe", "--empty-bucket")


def test_a_hup_of_a_preloading_gunicorn_is_refused_in_the_preflight(shapes, project_root):
    host = shapes["envfile"]["hosts"]["web1"]
    before = Path(host["settings_path"]).read_bytes()
    hup = 'kill -HUP "$(cat ~/shapes/envfile/run/gunicorn.pid)"'
    result = invoke(project_root, "cutover", "--env=sandbox-envfile", env={"RELOAD_COMMAND__WEB1": hup},
                    check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "step 'preflight: the reloads load new settings' failed" in result.stderr
    assert "web1: gunicorn (pid " in result.stderr and "runs with --preload" in result.stderr
    assert "Set RELOAD_COMMAND to restart the site" in result.stderr
    assert "web2:" not in result.stderr.split("failed:", 1)[1]  # its restart.sh is no HUP: not judged
    assert "nothing had been changed" in result.stderr
    assert Path(host["settings_path"]).read_bytes() == before
