"""The scripts the cutover runs on remote hosts (deploy/remote/scripts/): both, and write_settings.py.

They run as real subprocesses against trees under tmp_path, the way the hosts
run them, plus a few in-process tests for failures that are hard to provoke.
The media manifest's own tests are in test_media_manifest.py.
"""

import ast
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from deploy.remote.scripts import write_settings

from .remote_scripts import MANIFEST, WRITER, run, sha

OLD = "# -*- coding: utf-8 -*-\r\nSITE = 'Grüße'\r\nUSE_S3 = False  # é\r\n".encode("utf-8")
NEW = OLD.replace(b"USE_S3 = False", b"USE_S3 = True")


# --- both scripts ----------------------------------------------------------

@pytest.mark.parametrize("script", [MANIFEST, WRITER])
def test_scripts_are_python39_stdlib_only(script):
    tree = ast.parse(script.read_text(), feature_version=(3, 9))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    assert imported <= set(sys.stdlib_module_names)


# --- write_settings --------------------------------------------------------

@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "local_settings.py"
    path.write_bytes(OLD)
    path.chmod(0o640)
    return path


def write(settings, new=NEW, expected=None, backup=None, **kwargs):
    backup = settings.with_name("local_settings.py.bak") if backup is None else backup
    return run(WRITER, settings, expected or sha(OLD), backup, stdin=new, **kwargs)


def leftovers(directory):
    return [p.name for p in directory.iterdir() if ".media-cutover.tmp." in p.name]


def test_write_replaces_content_keeps_mode_and_backs_up(settings):
    inode_before = settings.stat().st_ino
    result = write(settings)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "changed": True, "path": str(settings), "backup": str(settings.with_name("local_settings.py.bak")),
        "sha256_before": sha(OLD), "sha256_after": sha(NEW)}
    assert settings.read_bytes() == NEW
    assert stat.S_IMODE(settings.stat().st_mode) == 0o640
    assert settings.stat().st_ino != inode_before  # replaced by rename, not rewritten in place
    backup = settings.with_name("local_settings.py.bak")
    assert backup.read_bytes() == OLD
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert leftovers(settings.parent) == []
    assert len(result.stdout.splitlines()) == 1


def test_write_same_content_changes_nothing(settings):
    before = settings.stat()
    result = write(settings, new=OLD)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changed"] is False
    assert settings.stat().st_ino == before.st_ino
    assert settings.stat().st_mtime_ns == before.st_mtime_ns
    assert not settings.with_name("local_settings.py.bak").exists()


def test_write_without_backup(settings):
    result = write(settings, backup="-")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backup"] is None
    assert settings.read_bytes() == NEW
    assert sorted(p.name for p in settings.parent.iterdir()) == ["local_settings.py"]


def test_write_refuses_when_the_file_changed_since_it_was_read(settings):
    result = write(settings, expected=sha(b"what we read earlier"))
    assert result.returncode == 3
    assert b"settings file changed since it was read; re-run" in result.stderr
    assert settings.read_bytes() == OLD
    assert sorted(p.name for p in settings.parent.iterdir()) == ["local_settings.py"]


def test_write_refuses_content_that_does_not_compile(settings):
    result = write(settings, new=b"USE_S3 = (True\n")
    assert result.returncode == 4
    assert b"does not compile" in result.stderr
    assert settings.read_bytes() == OLD
    assert sorted(p.name for p in settings.parent.iterdir()) == ["local_settings.py"]


def test_write_never_overwrites_an_existing_backup(settings):
    backup = settings.with_name("local_settings.py.bak")
    backup.write_bytes(b"an older backup")
    result = write(settings)
    assert result.returncode == 5
    assert b"backup already exists" in result.stderr
    assert backup.read_bytes() == b"an older backup"
    assert settings.read_bytes() == OLD
    assert leftovers(settings.parent) == []


def test_write_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path, settings):
    link = tmp_path / "site" / "local_settings.py"
    link.parent.mkdir()
    link.symlink_to(settings)
    result = write(link, backup=tmp_path / "site" / "backup")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    assert settings.read_bytes() == NEW
    assert json.loads(result.stdout)["path"] == str(settings)


def test_restore_puts_the_backup_back_and_keeps_it(settings):
    backup = settings.with_name("local_settings.py.bak")
    assert write(settings).returncode == 0
    result = run(WRITER, "--restore", backup, settings)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["changed"] is True
    assert (report["sha256_before"], report["sha256_after"]) == (sha(NEW), sha(OLD))
    assert settings.read_bytes() == OLD
    assert backup.read_bytes() == OLD
    assert stat.S_IMODE(settings.stat().st_mode) == 0o640
    assert leftovers(settings.parent) == []
    again = run(WRITER, "--restore", backup, settings)
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] is False


def test_restore_recreates_a_deleted_settings_file(settings):
    backup = settings.with_name("local_settings.py.bak")
    assert write(settings).returncode == 0
    settings.unlink()
    result = run(WRITER, "--restore", backup, settings)
    assert result.returncode == 0, result.stderr
    assert settings.read_bytes() == OLD
    assert stat.S_IMODE(settings.stat().st_mode) == 0o640


def test_restore_without_a_backup_fails_and_changes_nothing(settings):
    result = run(WRITER, "--restore", settings.with_name("nope.bak"), settings)
    assert result.returncode == 1
    assert b"cannot read backup" in result.stderr
    assert settings.read_bytes() == OLD


@pytest.mark.parametrize("args", [[], ["only-one"], ["a", "b"], ["--restore", "x"], ["-x", "a", "b"],
                                  ["local_settings.py", "not-a-sha256", "-"]])
def test_write_usage_errors(args):
    result = run(WRITER, *args)
    assert result.returncode == 2
    assert b"usage" in result.stderr


def test_missing_settings_file_is_an_io_error(tmp_path):
    result = run(WRITER, tmp_path / "nope.py", sha(OLD), "-", stdin=NEW)
    assert result.returncode == 1
    assert b"cannot read settings file" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_write_keeps_owner_and_group_when_root(settings):
    os.chown(settings, 1234, 5678)
    assert write(settings).returncode == 0
    st = settings.stat()
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    backup = settings.with_name("local_settings.py.bak").stat()
    assert (backup.st_uid, backup.st_gid) == (1234, 5678)


def python_for_nobody():
    for candidate in (sys.executable, shutil.which("python3", path="/usr/bin:/bin")):
        try:
            probe = subprocess.run([candidate, "-c", "pass"], user=65534, group=65534,
                                   capture_output=True, cwd="/")
        except (OSError, TypeError):  # not executable by that user, or no candidate
            continue
        if probe.returncode == 0:
            return candidate
    return None


@pytest.fixture
def nobody_dir():
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    python = python_for_nobody()
    if python is None:
        pytest.skip("no Python the unprivileged user can run")
    directory = Path(tempfile.mkdtemp(prefix="media-cutover-test-"))
    os.chmod(directory, 0o755)
    os.chown(directory, 65534, 65534)
    shutil.copy(WRITER, directory / "write_settings.py")
    try:
        yield directory, python
    finally:
        shutil.rmtree(directory)


def test_write_as_the_owner_without_chown_rights_succeeds(nobody_dir):
    directory, python = nobody_dir
    settings = directory / "local_settings.py"
    settings.write_bytes(OLD)
    os.chown(settings, 65534, 65534)
    result = run(directory / "write_settings.py", settings, sha(OLD), directory / "bak",
                 stdin=NEW, python=python, user=65534, group=65534, cwd="/")
    assert result.returncode == 0, result.stderr
    assert settings.read_bytes() == NEW
    assert (settings.stat().st_uid, settings.stat().st_gid) == (65534, 65534)


@pytest.mark.parametrize("backup", ["bak", "-"])
def test_write_refuses_when_the_group_cannot_be_kept(nobody_dir, backup):
    directory, python = nobody_dir
    settings = directory / "local_settings.py"
    settings.write_bytes(OLD)
    os.chown(settings, 65534, 5678)  # a group the running user is not in
    backup = backup if backup == "-" else directory / backup
    result = run(directory / "write_settings.py", settings, sha(OLD), backup,
                 stdin=NEW, python=python, user=65534, group=65534, extra_groups=[], cwd="/")
    assert result.returncode == 6, result.stderr
    assert b"cannot keep owner 65534:5678" in result.stderr
    assert settings.read_bytes() == OLD
    assert sorted(p.name for p in directory.iterdir()) == ["local_settings.py", "write_settings.py"]


def test_failed_rename_removes_the_temp_file(settings, monkeypatch, capsys):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write_settings.os, "replace", broken_replace)
    code = write_settings.main([str(settings), sha(OLD), "-"], NEW)
    assert code == 1
    assert "No space left on device" in capsys.readouterr().err
    assert settings.read_bytes() == OLD
    assert leftovers(settings.parent) == []


def test_concurrent_edit_during_write_is_caught_before_the_swap(settings, monkeypatch, capsys):
    real_write_synced = write_settings.write_synced

    def write_then_someone_edits(fd, data, st):
        real_write_synced(fd, data, st)
        settings.write_bytes(b"EDITED = True\n")

    monkeypatch.setattr(write_settings, "write_synced", write_then_someone_edits)
    code = write_settings.main([str(settings), sha(OLD), "-"], NEW)
    assert code == 3
    assert "changed since it was read" in capsys.readouterr().err
    assert settings.read_bytes() == b"EDITED = True\n"
    assert leftovers(settings.parent) == []


# --- write_settings with an env file (--format=env) ------------------------

ENV_OLD = b"# site\nDJANGO_SECRET_KEY=abc\nUSE_S3=false  # flipped by media-cutover\nAWS_SECRET_ACCESS_KEY=x/y+z\n"
ENV_NEW = ENV_OLD.replace(b"USE_S3=false", b"USE_S3=true")


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(ENV_OLD)
    path.chmod(0o600)
    return path


def write_env(path, new=ENV_NEW, *flags):
    return run(WRITER, *flags, path, sha(ENV_OLD), path.with_name(".env.bak"), stdin=new)


def test_an_env_file_keeps_mode_600_on_the_new_file_and_its_backup_and_restores_byte_identical(env_file):
    result = write_env(env_file, ENV_NEW, "--format=env")
    assert result.returncode == 0, result.stderr
    assert env_file.read_bytes() == ENV_NEW and stat.S_IMODE(env_file.stat().st_mode) == 0o600
    backup = env_file.with_name(".env.bak")
    assert backup.read_bytes() == ENV_OLD and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert leftovers(env_file.parent) == []
    restored = run(WRITER, "--restore", backup, env_file)
    assert restored.returncode == 0, restored.stderr
    assert env_file.read_bytes() == ENV_OLD and stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_an_env_file_is_not_compiled_a_python_file_is(env_file):
    # `KEY=x/y+z` and a `#` comment compile, but this line does not: an env file may hold it.
    new = ENV_NEW + b"DATABASE_URL=sqlite:////srv/site/db.sqlite3\n"
    assert write_env(env_file, new, "--format=python").returncode == 4
    assert write_env(env_file, new).returncode == 4  # python is the default
    assert env_file.read_bytes() == ENV_OLD and not env_file.with_name(".env.bak").exists()
    result = write_env(env_file, new, "--format=env")
    assert result.returncode == 0, result.stderr
    assert env_file.read_bytes() == new


@pytest.mark.parametrize("flag", ["--format=yaml", "--format="])
def test_an_unknown_format_is_a_usage_error(env_file, flag):
    result = write_env(env_file, ENV_NEW, flag)
    assert result.returncode == 2 and b"usage" in result.stderr
    assert env_file.read_bytes() == ENV_OLD


def test_a_read_only_file_is_refused_for_a_user_who_may_not_write_it(nobody_dir):
    directory, python = nobody_dir
    path = directory / ".env"
    path.write_bytes(ENV_OLD)
    os.chown(path, 65534, 65534)
    path.chmod(0o400)
    result = run(directory / "write_settings.py", "--format=env", path, sha(ENV_OLD), directory / ".env.bak",
                 stdin=ENV_NEW, python=python, user=65534, group=65534, cwd="/")
    assert result.returncode == 7, result.stderr
    assert b"settings file is read-only for uid 65534 (mode 0400), not replacing it" in result.stderr
    assert path.read_bytes() == ENV_OLD and stat.S_IMODE(path.stat().st_mode) == 0o400
    assert sorted(p.name for p in directory.iterdir()) == [".env", "write_settings.py"]
