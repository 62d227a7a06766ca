"""What the tests of deploy/sync/ share: an environment with a secret, and a fake media host.

The fake connection records what would run on the media host; its ``tool``
plays the sync tool.  ``settings`` is a fixture: import it into a test module.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from invoke.runners import Result

from deploy.config.load import load_settings

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
DISPLACED = "~/.media-cutover/displaced/run-1/"


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    (tmp_path / "config" / "demo.secrets.env").write_text(f"AWS_SECRET_ACCESS_KEY={SECRET}\n")
    return load_settings("demo", tmp_path, {})


def with_tool(settings, tool, **changes):
    return dataclasses.replace(settings, sync_tool=tool, **changes)


def rclone_stats(**stats):
    return json.dumps({"level": "notice", "msg": "stats", "stats": stats})


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


def inspect_result(tmp="/home/u", **changes):
    return {"root_mode": 0o2775, "root": f"{tmp}/webapps/media", "displaced": f"{tmp}/.media-cutover/displaced/run-1",
            "displaced_used": False, **changes}
