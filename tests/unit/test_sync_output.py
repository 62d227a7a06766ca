"""Reading the sync tools' output, line by line: counters, progress lines, errors (deploy.sync.output)."""

from __future__ import annotations

import json

from deploy.sync.output import LineWriter, RcloneOutput, S3cmdOutput, S5cmdOutput

from .sync_fakes import rclone_stats


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


def test_s5cmd_finding_nothing_under_a_wildcard_is_no_failure_but_exit_1_alone_still_is():
    """`cp -n 's3://b/media/*' dir` on an empty prefix: exit 1 and "no object found"."""
    for line in ['{"operation":"cp","command":"cp s3://b/media/* d","error":"no object found"}',
                 'ERROR "cp s3://b/media/* d": no object found']:
        output = S5cmdOutput()
        assert output.feed(line, "stderr") is None
        assert output.failed(1) is False and output.errors == 0
    assert S5cmdOutput().failed(1) is True
    mixed = S5cmdOutput()
    mixed.feed('{"error":"no object found"}', "stderr")
    mixed.feed('{"error":"AccessDenied"}', "stderr")
    assert mixed.failed(1) is True


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


def test_only_the_first_errors_are_shown_but_all_are_counted():
    output = S5cmdOutput()
    shown = [output.feed(json.dumps({"error": f"SignatureDoesNotMatch {n}"}), "stdout") for n in range(50)]
    assert [line for line in shown if line][:2] == ["s5cmd error: SignatureDoesNotMatch 0",
                                                    "s5cmd error: SignatureDoesNotMatch 1"]
    assert len([line for line in shown if line]) == 21 and shown[20].startswith("(more errors")
    assert output.errors == 50 and list(output.problems)[-1] == "s5cmd error: SignatureDoesNotMatch 49"


# --- the tool's streams, cut into lines -----------------------------------------------------

def test_line_writer_hands_over_whole_lines():
    lines = []
    writer = LineWriter(lines.append)
    for chunk in ["one\r\ntw", "o\n", "", "three\nfo", "ur"]:
        writer.write(chunk)
    assert lines == ["one", "two", "three"]
    writer.close()
    assert lines == ["one", "two", "three", "four"]
