"""Reclaim's proof, judged (deploy/media/proof.py): proven only where the snapshot, rclone's check and the
bucket's MD5 agree; every other file kept and named with its reason."""

import base64
import hashlib

import pytest

from deploy.errors import VerifyError
from deploy.media.proof import (NO_MD5, NOT_CHECKED, WHY_KEPT, Kept, Proven, Seen, decide, needs_metadata,
                                object_md5, parse_combined_lines, parse_snapshot_lines)

MD5 = hashlib.md5(b"content").hexdigest()


def test_the_snapshot_and_the_combined_report_are_read_by_path():
    snapshot = parse_snapshot_lines([b"12\t1700000000000000001\t42\ta/b c.jpg\n", "0\t5\t6\ttab\there.txt", ""])
    assert snapshot == {"a/b c.jpg": Seen(12, 1700000000000000001, 42), "tab\there.txt": Seen(0, 5, 6)}
    combined = parse_combined_lines([b"= a/b c.jpg\n", "* d.jpg", "- e.jpg", "! f.jpg", "+ g.jpg", "= = odd"])
    assert combined == {"a/b c.jpg": "=", "d.jpg": "*", "e.jpg": "-", "f.jpg": "!", "g.jpg": "+", "= odd": "="}


@pytest.mark.parametrize("line", ["12\t1\ta.jpg", "x\t1\t2\ta.jpg", "1\t2\t3\t"])
def test_a_snapshot_line_of_another_shape_is_refused(line):
    with pytest.raises(VerifyError, match="snapshot line 1"):
        parse_snapshot_lines([line])


@pytest.mark.parametrize("line", ["=a.jpg", "? a.jpg", "="])
def test_a_report_line_of_another_shape_is_refused(line):
    with pytest.raises(VerifyError, match="combined report, line 1"):
        parse_combined_lines([line])


def test_an_objects_md5_is_its_plain_etag_or_rclones_metadata_else_none():
    assert object_md5(f'"{MD5.upper()}"') == MD5
    multipart = '"0123456789abcdef0123456789abcdef-3"'
    assert needs_metadata(multipart) and not needs_metadata(f'"{MD5}"')
    assert object_md5(multipart) is None
    assert object_md5(multipart, base64.b64encode(bytes.fromhex(MD5)).decode()) == MD5
    assert object_md5(multipart, "not base64!") is None and object_md5(multipart, base64.b64encode(b"x").decode()) is None


def test_proven_only_where_all_three_agree_and_every_other_file_kept_with_why():
    snapshot = {name: Seen(10, 1, index) for index, name in
                enumerate(["same.jpg", "differs.jpg", "missing.jpg", "error.jpg", "multipart.jpg", "unchecked.jpg"])}
    combined = {"same.jpg": "=", "differs.jpg": "*", "missing.jpg": "-", "error.jpg": "!", "multipart.jpg": "=",
                "arrived-later.jpg": "="}
    proof = decide(snapshot, combined, {"same.jpg": MD5, "multipart.jpg": None})
    assert proof.proven == [Proven("same.jpg", 10, 1, 0, MD5)]
    assert proof.kept == [Kept("differs.jpg", WHY_KEPT["*"]), Kept("error.jpg", WHY_KEPT["!"]),
                          Kept("missing.jpg", WHY_KEPT["-"]), Kept("multipart.jpg", NO_MD5),
                          Kept("unchecked.jpg", NOT_CHECKED)]
    assert proof.newer == 1 and proof.proven_bytes == 10
    lines = proof.summary_lines(limit=2)
    assert lines[0] == "proven in the bucket (same size and MD5): 1 files, 0.0 MB"
    assert lines[1:] == ["kept on disk: 5 files", f"  - differs.jpg: {WHY_KEPT['*']}", f"  - error.jpg: {WHY_KEPT['!']}",
                         "  ... and 3 more (every one in the record under runs/)",
                         "1 files arrived during the check: left alone"]
