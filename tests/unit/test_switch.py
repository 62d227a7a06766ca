"""The switch on the hosts (deploy/site/ops/switch.py), through preflight's host check and status.

Each "host" is a directory on this machine (tests/unit/local_host.py): the real write script
runs against real files, so modes, backups and byte-identical restores are what a host gets.
Both formats: an env file (mode 600, holding secrets) and a Python file with another SWITCH_NAME.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.engine.run import Options, Run
from deploy.errors import PreflightError, RemoteError, SettingsFileError
from deploy.flows import preflight_hosts, status
from deploy.flows.state import FlowState
from deploy.site.ops import switch

from . import local_host
from .configs import MINIMAL
from .local_host import LocalHost
from .test_remote_scripts import python_for_nobody

SECRET = "wJalrXUtnFEMI-the-secret"
ENV_FILE = ("# the site's environment\r\nDJANGO_SECRET_KEY=abc\r\n\r\n# storage: flipped by media-cutover\r\n"
            f"export USE_S3=False  # keep\r\nAWS_SECRET_ACCESS_KEY={SECRET}\r\n").encode()
LOCAL_PY = b"from .base import *\n\nUSE_S3 = False  # not ours\nMEDIA_ON_S3 = False\n"
RUN_ID = "20261201T120000Z-abc123"


def settings_for(root: Path, config: str):
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "t.env").write_text(MINIMAL + f"REMOTE_PYTHON={local_host.PYTHON}\n" + config)
    return load_settings("t", root, {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "x"})


def new_run(settings, host: LocalHost, run_id: str = RUN_ID) -> Run:
    run = Run(settings, Options(), journal=None, say=lambda line: None, run_id=run_id, state=FlowState())
    run._connections[host.original_host] = host
    return run


def facts(run: Run, alias: str = "web1"):
    """What the preflight read from the host's file, as the flow hands it to the switch (deploy.flows.direction)."""
    return run.state.switch.hosts[alias]


@pytest.fixture
def adapters(monkeypatch):
    local_host.install(monkeypatch, switch, preflight_hosts, status)


@pytest.fixture
def env_host(tmp_path, adapters):
    home = tmp_path / "home"
    (home / "site").mkdir(parents=True)
    path = home / "site" / ".env"
    path.write_bytes(ENV_FILE)
    path.chmod(0o600)
    return LocalHost("web1", home), path, settings_for(tmp_path, "SETTINGS_PATH=~/site/.env\n")


def test_an_env_file_is_flipped_in_its_spelling_backed_up_at_600_and_restored_byte_identical(env_host):
    host, path, settings = env_host
    run = new_run(settings, host)
    assert "web1 USE_S3=False (env file)" in preflight_hosts.check_hosts(run)
    assert run.state.switch.hosts["web1"].original_use_s3 is False

    done = switch.flip(run, "web1", facts(run))
    assert done == (f"web1: USE_S3=True in the env file ~/site/.env (backup .env.media-cutover-{RUN_ID}.bak)")
    assert path.read_bytes() == ENV_FILE.replace(b"USE_S3=False  #", b"USE_S3=True  #")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backup = path.with_name(f".env.media-cutover-{RUN_ID}.bak")
    assert backup.read_bytes() == ENV_FILE and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert any("--format=env" in command for command in host.commands)  # no compile check of an env file

    assert switch.restore(run, "web1", facts(run)) == f"web1: settings restored byte-identical from {backup.name}"
    assert path.read_bytes() == ENV_FILE and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_dry_run_diff_of_an_env_file_shows_the_switch_line_and_no_other(env_host):
    host, path, settings = env_host
    run = new_run(settings, host)
    preflight_hosts.check_hosts(run)
    shown = switch.preview_flip(run, "web1", facts(run))
    assert "-export USE_S3=False  # keep\r\n+export USE_S3=True  # keep\r\n" in shown
    assert SECRET not in shown and "DJANGO_SECRET_KEY" not in shown
    assert path.read_bytes() == ENV_FILE


def test_the_rollback_takes_the_byte_identical_backup_else_the_minimal_edit(env_host):
    host, path, settings = env_host
    cutover = new_run(settings, host)
    preflight_hosts.check_hosts(cutover)
    switch.flip(cutover, "web1", facts(cutover))

    rollback = new_run(settings, host, run_id="20261201T130000Z-def456")
    preflight_hosts.check_hosts(rollback)
    assert "web1 USE_S3=True (env file)" in preflight_hosts.check_hosts(rollback)
    assert switch.preview_to_disk(rollback, "web1", facts(rollback)).startswith(
        f"web1: would be restored from its backup .env.media-cutover-{RUN_ID}.bak\n")
    assert switch.to_disk(rollback, "web1", facts(rollback)) == \
        f"web1: restored from its backup .env.media-cutover-{RUN_ID}.bak"
    assert path.read_bytes() == ENV_FILE

    again = new_run(settings, host, run_id="20261201T140000Z-aaa111")
    preflight_hosts.check_hosts(again)
    assert switch.to_disk(again, "web1", facts(again)) == "web1: already on disk (USE_S3=False), left alone"

    # Edited since the cutover: no backup matches, so only the switch changes.
    edited = ENV_FILE.replace(b"False", b"True") + b"NEW=1\r\n"
    path.write_bytes(edited)
    later = new_run(settings, host, run_id="20261201T150000Z-bbb222")
    preflight_hosts.check_hosts(later)
    assert switch.to_disk(later, "web1", facts(later)) == "web1: set USE_S3=False (no backup matches the current file)"
    assert path.read_bytes() == ENV_FILE + b"NEW=1\r\n"


def test_a_python_file_with_another_switch_name_flips_that_name_only(tmp_path, adapters):
    home = tmp_path / "home"
    (home / "site").mkdir(parents=True)
    path = home / "site" / "local.py"
    path.write_bytes(LOCAL_PY)
    settings = settings_for(tmp_path, "SETTINGS_PATH=~/site/local.py\nSWITCH_NAME=MEDIA_ON_S3\n")
    host = LocalHost("web1", home)
    run = new_run(settings, host)
    assert "web1 MEDIA_ON_S3 = False (Python file)" in preflight_hosts.check_hosts(run)
    assert switch.flip(run, "web1", facts(run)) == (f"web1: MEDIA_ON_S3 = True in ~/site/local.py "
                                        f"(backup local.py.media-cutover-{RUN_ID}.bak)")
    assert path.read_bytes() == LOCAL_PY.replace(b"MEDIA_ON_S3 = False", b"MEDIA_ON_S3 = True")
    assert any("--format=python" in command for command in host.commands)
    # The run knows what it wrote (mirror mode writes twice): its own file again is no surprise ...
    assert switch.flip(run, "web1", facts(run)) == "web1: MEDIA_ON_S3 is already True, left alone"
    # ... an edit by someone else since is refused.
    path.write_bytes(path.read_bytes() + b"# edited\n")
    with pytest.raises(SettingsFileError, match="changed since preflight read it"):
        switch.flip(run, "web1", facts(run))


@pytest.mark.parametrize("content, expected", [
    (ENV_FILE + b"USE_S3=true\r\n", "web1:~/site/.env: expected exactly one `USE_S3=` line, found 2 at lines 5, 7"),
    (ENV_FILE.replace(b"export USE_S3", b"# export USE_S3"),
     "web1:~/site/.env: expected exactly one `USE_S3=true|false` line, found none (only a commented one, at line 5"),
    (ENV_FILE.replace(b"USE_S3=False", b"USE_S3=${X}"), "web1:~/site/.env: USE_S3 at line 5 is `${X}  # keep`"),
], ids=["two", "commented", "variable"])
def test_a_switch_the_tool_cannot_read_is_one_line_in_preflight_and_nothing_changes(env_host, content, expected):
    host, path, settings = env_host
    path.write_bytes(content)
    with pytest.raises(PreflightError) as refused:
        preflight_hosts.check_hosts(new_run(settings, host))
    message = str(refused.value)
    assert "\n" not in message and message.startswith(expected), message
    assert SECRET not in message
    assert path.read_bytes() == content and sorted(os.listdir(path.parent)) == [".env"]


def test_the_flip_refuses_a_file_changed_since_preflight(env_host):
    host, path, settings = env_host
    run = new_run(settings, host)
    preflight_hosts.check_hosts(run)
    path.write_bytes(ENV_FILE + b"X=1\r\n")
    with pytest.raises(SettingsFileError, match="changed since preflight read it"):
        switch.flip(run, "web1", facts(run))
    assert sorted(os.listdir(path.parent)) == [".env"]


def test_status_and_fab_hosts_show_the_switch_as_the_file_spells_it(env_host, monkeypatch):
    host, path, settings = env_host

    class Opened:
        def __init__(self, settings, alias):
            pass

        def __enter__(self):
            return host

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(status, "connect", Opened)
    assert status.host_rows(settings) == [("web1", "USE_S3=False (env file): media from disk")]
    [(alias, user, where, shown)] = status.describe_hosts(settings)
    assert (alias, where, shown) == ("web1", "~/site/.env", "USE_S3=False (env file)")
    path.write_bytes(ENV_FILE + b"USE_S3=1\r\n")
    [(alias, state)] = status.host_rows(settings)
    assert state.startswith("unknown: web1:~/site/.env: expected exactly one `USE_S3=` line, found 2")
    # The lock line beside them still describes the lock's holder.
    monkeypatch.setattr(status, "read_lock", lambda connection, settings: {"kind": "cutover", "run_id": RUN_ID})
    assert status.lock_line(settings).startswith(f"HELD by cutover {RUN_ID} by ?")


# --- a file the deploy user cannot write: as an unprivileged user ----------------------------

@pytest.fixture
def nobody_home(adapters):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    python = python_for_nobody()
    if python is None:
        pytest.skip("no Python the unprivileged user can run")
    root = Path(tempfile.mkdtemp(prefix="media-cutover-test-"))
    home = root / "home"
    (home / "site").mkdir(parents=True)
    for directory in (root, home, home / "site"):
        os.chmod(directory, 0o755)
    os.chown(home, 65534, 65534)
    os.chown(home / "site", 65534, 65534)
    path = home / "site" / ".env"
    path.write_bytes(ENV_FILE)
    os.chown(path, 65534, 65534)
    path.chmod(0o600)
    settings = replace(settings_for(root, "SETTINGS_PATH=~/site/.env\n"), remote_python=python)
    try:
        yield LocalHost("web1", home, user=65534), path, settings
    finally:
        shutil.rmtree(root)


def test_a_read_only_env_file_is_refused_in_preflight_and_by_the_write_script(nobody_home):
    host, path, settings = nobody_home
    run = new_run(settings, host)
    assert "web1 USE_S3=False (env file)" in preflight_hosts.check_hosts(run)  # writable: fine
    path.chmod(0o400)
    with pytest.raises(PreflightError) as refused:
        preflight_hosts.check_hosts(new_run(settings, host))
    assert str(refused.value) == ("web1: ~/site/.env is read-only for the deploy user (uid 65534, mode 0400); "
                                  "nothing was changed: make it writable by its owner (chmod u+w ~/site/.env), "
                                  "the cutover keeps its mode")
    # Should it become read-only after preflight, the write script refuses it too.
    with pytest.raises(RemoteError, match="exit 7.*read-only for uid 65534 \\(mode 0400\\)"):
        switch.flip(run, "web1", facts(run))
    assert path.read_bytes() == ENV_FILE and stat.S_IMODE(path.stat().st_mode) == 0o400
    assert sorted(os.listdir(path.parent)) == [".env"]


def test_a_directory_the_deploy_user_cannot_write_in_is_refused_in_preflight(nobody_home):
    host, path, settings = nobody_home
    os.chown(path.parent, 0, 0)
    with pytest.raises(PreflightError, match="web1: the deploy user \\(uid 65534\\) cannot create files beside "
                                             "~/site/.env"):
        preflight_hosts.check_hosts(new_run(settings, host))


def test_a_file_whose_group_cannot_be_kept_is_refused_in_preflight(nobody_home):
    host, path, settings = nobody_home
    os.chown(path, 65534, 5678)
    with pytest.raises(PreflightError, match="web1: ~/site/.env belongs to 65534:5678, which the deploy user "
                                             "\\(uid 65534\\) cannot keep"):
        preflight_hosts.check_hosts(new_run(settings, host))


def test_the_rollback_refuses_a_read_only_file_only_where_the_switch_is_on(nobody_home):
    host, path, settings = nobody_home
    path.chmod(0o400)
    assert "web1 USE_S3=False (env file)" in preflight_hosts.check_hosts_reachable(new_run(settings, host))  # nothing to write
    path.chmod(0o600)
    path.write_bytes(ENV_FILE.replace(b"USE_S3=False", b"USE_S3=True"))
    path.chmod(0o400)
    with pytest.raises(PreflightError, match="^web1: ~/site/.env is read-only for the deploy user"):
        preflight_hosts.check_hosts_reachable(new_run(settings, host))


MIRROR_PY = b"USE_S3 = False\nMEDIA_MIRROR = False  # the mirror's switch\n"


def local_py_host(tmp_path, content: bytes):
    """(the file ~/site/local.py holding ``content``, its host, a run on it) under tmp_path."""
    home = tmp_path / "home"
    (home / "site").mkdir(parents=True)
    path = home / "site" / "local.py"
    path.write_bytes(content)
    host = LocalHost("web1", home)
    return path, host, new_run(settings_for(tmp_path, "SETTINGS_PATH=~/site/local.py\n"), host)


def test_mirror_mode_writes_the_file_twice_each_write_backed_up_and_the_undo_puts_back_the_first(tmp_path, adapters):
    path, host, run = local_py_host(tmp_path, MIRROR_PY)
    home = tmp_path / "home"
    assert "web1 USE_S3 = False, MEDIA_MIRROR = False (Python file)" in preflight_hosts.check_hosts(run)
    assert run.state.switch.hosts["web1"].original_mirror is False
    assert switch.set_mirror(run, "web1", facts(run), True) == (f"web1: MEDIA_MIRROR = True in ~/site/local.py "
                                                    f"(backup local.py.media-cutover-{RUN_ID}.bak)")
    assert switch.flip(run, "web1", facts(run)) == (f"web1: USE_S3 = True in ~/site/local.py "
                                        f"(backup local.py.media-cutover-{RUN_ID}-2.bak)")
    assert path.read_bytes() == b"USE_S3 = True\nMEDIA_MIRROR = True  # the mirror's switch\n"
    assert (home / "site" / f"local.py.media-cutover-{RUN_ID}.bak").read_bytes() == MIRROR_PY
    assert switch.restore(run, "web1", facts(run)).startswith("web1: settings restored byte-identical")
    assert path.read_bytes() == MIRROR_PY


def test_a_file_without_the_mirrors_switch_has_no_mirror_and_an_ambiguous_one_is_refused(tmp_path, adapters):
    path, host, run = local_py_host(tmp_path, LOCAL_PY)
    preflight_hosts.check_hosts(run)
    assert run.state.switch.hosts["web1"].original_mirror is None
    path.write_bytes(MIRROR_PY + b"MEDIA_MIRROR = True\n")
    with pytest.raises(PreflightError, match="found 2 at lines 2, 3"):
        preflight_hosts.check_hosts(new_run(settings_for(tmp_path, "SETTINGS_PATH=~/site/local.py\n"), host))
