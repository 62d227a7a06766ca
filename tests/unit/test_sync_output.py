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


# --- the store's faults in the tools' output (deploy.retry) ----------------------------------------

RCLONE_503 = ("Failed to copy: operation error S3: PutObject, exceeded maximum number of attempts, 1, https response "
              "error StatusCode: 503, RequestID: , HostID: , api error SlowDown: Please reduce your request rate.")
RCLONE_RESET = ('Failed to copy: Put "http://127.0.0.1:18334/b/media/x.jpg": read tcp 127.0.0.1:41000->'
                "127.0.0.1:18334: read: connection reset by peer")
RCLONE_403 = ("Failed to copy: operation error S3: PutObject, https response error StatusCode: 403, RequestID: x, "
              "HostID: y, api error AccessDenied: Access Denied.")


def rclone_error(msg, name=None):
    return json.dumps({"level": "error", "msg": msg, **({"object": name} if name else {})})


def test_the_tools_error_texts_name_the_stores_fault():
    from deploy.sync.output import SOURCE_CHANGED, tool_fault
    assert tool_fault(RCLONE_503).kind == "503 SlowDown" and tool_fault(RCLONE_503).transient
    assert tool_fault(RCLONE_503).said == "HTTP 503 SlowDown: Please reduce your request rate."
    assert (tool_fault(RCLONE_RESET).kind, tool_fault(RCLONE_RESET).transient) == ("ConnectionResetError", True)
    assert (tool_fault(RCLONE_403).kind, tool_fault(RCLONE_403).transient) == ("403 AccessDenied", False)
    assert tool_fault("SlowDown: Please reduce your request rate.\n\tstatus code: 503, request id: x").kind == \
        "503 SlowDown"                                                           # s5cmd's SDK (v1)
    assert tool_fault("Failed to copy: can't copy - source file is being updated (size changed)").kind == SOURCE_CHANGED
    assert tool_fault("Failed to copy: open a.jpg: permission denied") is None


def test_rclone_files_failed_on_transient_faults_alone_can_be_sent_again():
    output = RcloneOutput()
    output.feed(rclone_error(RCLONE_503, "a/1.jpg"), "stderr")
    output.feed(rclone_error(RCLONE_RESET, "a/2 two.jpg"), "stderr")
    output.feed(rclone_error("Attempt 1/1 failed with 2 errors and: " + RCLONE_503), "stderr")   # its summary
    output.feed(rclone_error("Failed to copy with 2 errors: last error was: " + RCLONE_503), "stderr")
    assert output.resendable() == ["a/1.jpg", "a/2 two.jpg"]
    assert {name: fault.kind for name, fault in output.failed_files.items()} == {
        "a/1.jpg": "503 SlowDown", "a/2 two.jpg": "ConnectionResetError"}


def test_a_refusal_or_an_error_naming_no_file_is_never_sent_again():
    refused = RcloneOutput()
    refused.feed(rclone_error(RCLONE_503, "a/1.jpg"), "stderr")
    refused.feed(rclone_error(RCLONE_403, "a/2.jpg"), "stderr")
    assert refused.resendable() is None
    listing = RcloneOutput()
    listing.feed(rclone_error(RCLONE_503, "a/1.jpg"), "stderr")
    listing.feed(rclone_error("error reading destination root directory: " + RCLONE_503), "stderr")
    assert listing.resendable() is None
    assert RcloneOutput().resendable() is None and S5cmdOutput().resendable() is None


def test_s3cmd_says_each_request_it_retries_and_they_are_counted_by_kind():
    output = S3cmdOutput()
    output.feed("WARNING: Retrying failed request: /media/a.jpg (503 (SlowDown): Please reduce your request rate.)",
                "stderr")
    output.feed("WARNING: Waiting 3 sec...", "stderr")
    output.feed("WARNING: Retrying failed request: /media/b.jpg ([Errno 104] Connection reset by peer)", "stderr")
    assert output.retried == {"503 SlowDown": 1, "ConnectionResetError": 1}
