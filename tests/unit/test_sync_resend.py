"""Files a copy failed on a transient fault of the store are sent again, exactly those, by list (deploy.sync.resend),
against a fake media host whose rclone fails on cue: counted, bounded by the policy, never for a refusal."""

from __future__ import annotations

import json

import pytest

from deploy.errors import RemoteError, StoreUnavailable
from deploy.retry import FaultTally
from deploy.sync.on_host import download_media, upload_media

from .sync_fakes import DISPLACED, FakeConnection, inspect_result, rclone_stats, settings, with_tool  # noqa: F401
from .test_sync_output import RCLONE_403, RCLONE_503, RCLONE_RESET


class FailingRclone:
    """rclone on the fake host: each run fails the files of its turn (name -> error text), then says its stats;
    ``lists`` holds what each later run was handed to copy."""

    def __init__(self, connection_box: list, *turns: dict[str, str], stats: dict | None = None):
        self.turns, self.lists, self.box = list(turns), [], connection_box
        self.stats = stats or {"transfers": 2, "bytes": 20, "checks": 1, "errors": 0, "elapsedTime": 0.1}

    def __call__(self, out, err) -> int:
        connection = self.box[0]
        listed = [data for path, data in connection.files.items() if path.endswith(".list")]
        if listed:
            self.lists.append(listed[0].decode().splitlines())
        failures = self.turns.pop(0) if self.turns else {}
        for name, text in failures.items():
            err.write(json.dumps({"level": "error", "msg": text, "object": name}) + "\n")
        err.write(rclone_stats(**{**self.stats, "errors": len(failures)}) + "\n")
        return 1 if failures else 0


def fake_host(*turns, stats=None):
    box = []
    tool = FailingRclone(box, *turns, stats=stats)
    connection = FakeConnection(tool, inspect=inspect_result())
    box.append(connection)
    return connection, tool


def test_files_failed_on_a_503_or_a_reset_are_sent_again_alone_and_counted(settings):
    connection, tool = fake_host({"a/1.jpg": RCLONE_503, "a/2 two.jpg": RCLONE_RESET}, {"a/1.jpg": RCLONE_503})
    faults, said = FaultTally(), []
    result = upload_media(connection, with_tool(settings, "rclone"), faults=faults, on_progress=said.append)
    assert tool.lists == [["a/1.jpg", "a/2 two.jpg"], ["a/1.jpg"]]    # only the failed files, each time
    launches = [command for command in connection.commands if command.startswith("echo $$")]
    assert len(launches) == 3 and "--files-from-raw" not in launches[0]
    assert all("--files-from-raw" in launch and "--no-traverse" in launch for launch in launches[1:])
    assert faults.take() == {"503 SlowDown": 2, "ConnectionResetError": 1}
    assert (result.files_transferred, result.bytes_transferred, result.files_checked) == (6, 60, 3)  # every run's
    assert result.errors_reported == 0                                                               # the last's
    assert "2 files failed on a transient fault (1 × 503 SlowDown, 1 × connection reset): sending exactly those " \
           "again" in said
    assert not [path for path in connection.files if path.endswith((".list", ".conf"))]          # all removed


def test_a_download_sends_its_failed_objects_again_too(settings):
    connection, tool = fake_host({"b/3.jpg": RCLONE_503})
    faults = FaultTally()
    download_media(connection, with_tool(settings, "rclone"), overwrite=False, displaced_dir=DISPLACED, faults=faults)
    assert tool.lists == [["b/3.jpg"]] and faults.take() == {"503 SlowDown": 1}


def test_a_refusal_among_them_fails_the_copy_at_once_as_before(settings):
    connection, tool = fake_host({"a/1.jpg": RCLONE_503, "a/2.jpg": RCLONE_403})
    with pytest.raises(RemoteError, match="AccessDenied"):
        upload_media(connection, with_tool(settings, "rclone"), faults=FaultTally())
    assert tool.lists == []


def test_a_file_the_store_keeps_failing_is_given_up_after_the_attempts_naming_it(settings):
    always = {"a/1.jpg": RCLONE_503}
    connection, tool = fake_host(always, always, always, always)
    with pytest.raises(StoreUnavailable) as raised:
        upload_media(connection, with_tool(settings, "rclone", store_retry_attempts=3), faults=FaultTally())
    assert len(tool.lists) == 2                                            # 3 runs in all
    assert str(raised.value).startswith("web1: rclone upload to s3://my-media/media/: a/1.jpg (3 runs of the tool, "
                                        "each trying it up to 3 times): the store answered HTTP 503 SlowDown: "
                                        "Please reduce your request rate. (on each of the 3 attempts")
