"""Shape (c), the env-configured site: the switch is the `USE_S3=false` line of a mode-600 .env.

`invoke cutover --env=sandbox-envfile` flips only that line (same spelling, comments, order and
mode, a mode-600 backup beside it), the sites restart (RELOAD_COMMAND=restart.sh: gunicorn
preloads) and serve media from the bucket; `fab rollback` puts the .env back byte-identical and
the sites serve from disk.  A .env the tool cannot flip or write is refused in preflight, in one
line, with nothing changed.  Run under the sandbox lock (tests/integration: flock).
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.store.client import s3_client

from .conftest import TEST_MEDIA_FILES
from .sandbox_client import http_get, http_json, invoke, shapes_up
from .test_rollback import fab

pytestmark = pytest.mark.slow
ENV = "--env=sandbox-envfile"


@pytest.fixture(scope="module")
def envfile(sandbox, project_root) -> dict:
    return shapes_up(project_root, "envfile", TEST_MEDIA_FILES)["envfile"]["hosts"]


def reset_shape(project_root: Path) -> None:
    invoke(project_root, "sandbox.reset", "--shape=envfile", "--empty-bucket")


@pytest.fixture
def fresh(envfile, project_root) -> dict:
    """The shape on disk with an empty bucket prefix, no backups of earlier runs beside its .env
    (the tool keeps them), and each host's .env as it was then."""
    reset_shape(project_root)
    for host in envfile.values():
        for backup in backups(host):
            backup.unlink()
    before = {alias: Path(host["env_file"]).read_bytes() for alias, host in envfile.items()}
    yield {"hosts": envfile, "before": before}
    reset_shape(project_root)


def env_file(host: dict) -> Path:
    return Path(host["env_file"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def backups(host: dict) -> list[Path]:
    return sorted(env_file(host).parent.glob(".env.media-cutover-*.bak"))


def bucket_keys(project_root: Path) -> list[str]:
    settings = load_settings("sandbox-envfile", project_root)
    listed = s3_client(settings).list_objects_v2(Bucket=settings.bucket, Prefix=settings.media_prefix + "/")
    return [item["Key"] for item in listed.get("Contents", [])]


def first_media_url(host: dict) -> str:
    files = http_json(host["site_url"] + "/files/?limit=5")["files"]
    assert files, f"{host['site_url']}/files/ lists no media"
    return files[0]["url"]


def test_cutover_flips_only_the_env_line_and_the_rollback_puts_the_file_back_byte_identical(fresh, project_root):
    hosts, before = fresh["hosts"], fresh["before"]
    for alias, host in hosts.items():
        assert b"\nUSE_S3=false\n" in before[alias] and mode(env_file(host)) == 0o600
        assert backups(host) == []

    result = invoke(project_root, "cutover", ENV)
    assert "web1 USE_S3=false (env file), web2 USE_S3=false (env file)" in result.stdout
    assert "web1: USE_S3=true in the env file ~/shapes/envfile/.env (backup .env.media-cutover-" in result.stdout
    for alias, host in hosts.items():
        # Only the value changed: spelling, comments, order and mode are the file's own.
        assert env_file(host).read_bytes() == before[alias].replace(b"\nUSE_S3=false\n", b"\nUSE_S3=true\n")
        assert mode(env_file(host)) == 0o600
        [backup] = backups(host)
        assert backup.read_bytes() == before[alias] and mode(backup) == 0o600
        assert http_json(host["health_url"])["storage"] == "s3"
        url = first_media_url(host)
        assert url.startswith("http://127.0.0.1:18333/media-cutover-sandbox/media/"), url
        assert http_get(url)[0] == 200

    status = invoke(project_root, "status", ENV)
    assert "web1  USE_S3=true (env file): media from S3" in status.stdout

    rolled = fab(project_root, "rollback", ENV)
    assert "web1: restored from its backup .env.media-cutover-" in rolled.stdout
    for alias, host in hosts.items():
        assert env_file(host).read_bytes() == before[alias], f"{alias}: .env is not as before the cutover"
        assert mode(env_file(host)) == 0o600
        assert http_json(host["health_url"])["storage"] == "disk"
        url = first_media_url(host)
        assert url.startswith("/media/"), url
        assert http_get(host["site_url"] + url)[0] == 200


def _two_lines(path: Path) -> str:
    path.write_bytes(path.read_bytes() + b"USE_S3=true\n")
    lines = [number for number, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("USE_S3=")]
    return f"found 2 at lines {lines[0]}, {lines[1]}"


def _read_only(path: Path) -> str:
    path.chmod(0o400)
    return "is read-only for the deploy user"


@pytest.mark.parametrize("spoil", [_two_lines, _read_only], ids=["two-lines", "read-only"])
def test_an_env_file_the_tool_cannot_flip_or_write_is_refused_in_one_line_with_nothing_changed(
        fresh, project_root, spoil):
    host = fresh["hosts"]["web2"]
    path = env_file(host)
    pristine, pristine_mode = path.read_bytes(), mode(path)
    try:
        expected = spoil(path)
        spoiled, spoiled_mode = path.read_bytes(), mode(path)
        result = invoke(project_root, "cutover", ENV, check=False)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        [line] = [line for line in result.stderr.splitlines() if "web2" in line]
        assert "web2:" in line and "~/shapes/envfile/.env" in line and expected in line, result.stderr
        assert (path.read_bytes(), mode(path)) == (spoiled, spoiled_mode)
        assert env_file(fresh["hosts"]["web1"]).read_bytes() == fresh["before"]["web1"]
        for each in fresh["hosts"].values():
            assert backups(each) == []
            assert http_json(each["health_url"])["storage"] == "disk"
        assert bucket_keys(project_root) == []
    finally:
        path.write_bytes(pristine)
        path.chmod(pristine_mode)
