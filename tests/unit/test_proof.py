"""Reclaim's proof, judged (deploy/media/proof.py): proven only where the snapshot, the file's MD5 on disk
and the bucket's object (its size and MD5) agree; every other file kept and named with its reason."""

import base64
import hashlib

import pytest

from deploy.errors import VerifyError
from deploy.media.proof import (MISSING, NO_LOCAL_MD5, NO_MD5, OTHER_MD5, OTHER_SIZE, Kept, Proven, Seen, Stored,
                                decide, needs_metadata, object_md5, parse_md5sum_lines, parse_snapshot_lines)

MD5 = hashlib.md5(b"content").hexdigest()
OTHER = hashlib.md5(b"other").hexdigest()


def test_the_snapshot_and_rclones_md5sum_are_read_by_path():
    snapshot = parse_snapshot_lines([b"12\t1700000000000000001\t42\ta/b c.jpg\n", "0\t5\t6\ttab\there.txt", ""])
    assert snapshot == {"a/b c.jpg": Seen(12, 1700000000000000001, 42), "tab\there.txt": Seen(0, 5, 6)}
    hashed = parse_md5sum_lines([f"{MD5}  a/b c.jpg\n".encode(), f"{OTHER}    two spaces.jpg", ""])
    assert hashed == {"a/b c.jpg": MD5, "  two spaces.jpg": OTHER}


@pytest.mark.parametrize("line", ["12\t1\ta.jpg", "x\t1\t2\ta.jpg", "1\t2\t3\t"])
def test_a_snapshot_line_of_another_shape_is_refused(line):
    with pytest.raises(VerifyError, match="snapshot line 1"):
        parse_snapshot_lines([line])


@pytest.mark.parametrize("line", [f"{MD5} a.jpg", f"{MD5.upper()}  a.jpg", f"{MD5}  ", "UNSUPPORTED  a.jpg"])
def test_an_md5sum_line_of_another_shape_is_refused(line):
    with pytest.raises(VerifyError, match="rclone md5sum, line 1"):
        parse_md5sum_lines([line])


def test_an_objects_md5_is_its_plain_etag_or_rclones_metadata_else_none():
    assert object_md5(f'"{MD5.upper()}"') == MD5
    multipart = '"0123456789abcdef0123456789abcdef-3"'
    assert needs_metadata(multipart) and not needs_metadata(f'"{MD5}"')
    assert object_md5(multipart) is None
    assert object_md5(multipart, base64.b64encode(bytes.fromhex(MD5)).decode()) == MD5
    assert object_md5(multipart, "not base64!") is None and object_md5(multipart, base64.b64encode(b"x").decode()) is None


def test_proven_only_where_all_three_agree_and_every_other_file_kept_with_why():
    names = ["same.jpg", "other-bytes.jpg", "missing.jpg", "unread.jpg", "multipart.jpg", "other-size.jpg"]
    snapshot = {name: Seen(10, 1, index) for index, name in enumerate(names)}
    local = {name: MD5 for name in names if name != "unread.jpg"} | {"arrived-later.jpg": MD5}
    stored = {"same.jpg": Stored(10, MD5), "other-bytes.jpg": Stored(10, OTHER), "unread.jpg": Stored(10, MD5),
              "multipart.jpg": Stored(10, None), "other-size.jpg": Stored(11, MD5)}
    proof = decide(snapshot, local, stored)
    assert proof.proven == [Proven("same.jpg", 10, 1, 0, MD5)]
    assert proof.kept == [Kept("missing.jpg", MISSING), Kept("multipart.jpg", NO_MD5), Kept("other-bytes.jpg", OTHER_MD5),
                          Kept("other-size.jpg", OTHER_SIZE), Kept("unread.jpg", NO_LOCAL_MD5)]
    assert proof.newer == 1 and proof.proven_bytes == 10
    lines = proof.summary_lines(limit=2)
    assert lines[0] == "proven in the bucket (same size and MD5): 1 files, 0.0 MB"
    assert lines[1:] == ["kept on disk: 5 files", f"  - missing.jpg: {MISSING}", f"  - multipart.jpg: {NO_MD5}",
                         "  ... and 3 more (every one in the record under runs/)",
                         "1 files arrived during the proof: left alone"]
