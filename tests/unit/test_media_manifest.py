"""The media manifest script (deploy/remote/scripts/media_manifest.py), run as the media host runs it.

Real subprocesses against trees under tmp_path, plus an in-process test for an
unreadable directory, which is hard to provoke.
"""

import hashlib
import io
import os
import random

import pytest

from deploy.remote.scripts import media_manifest

from .remote_scripts import MANIFEST, run


def manifest(root, **kwargs):
    result = run(MANIFEST, root, **kwargs)
    return result.returncode, result.stdout.split(b"\n"), result.stderr.decode().splitlines()


def make_file(path, size=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def test_manifest_is_in_utf8_byte_order_not_walk_order(tmp_path):
    for name in ["a/x", "a b", "a-b", "a0", "ab", "a/ b", "a/-", "a.b/c"]:
        make_file(tmp_path / name, 1)
    code, lines, err = manifest(tmp_path)
    assert (code, err) == (0, [])
    assert lines == [b"1\ta b", b"1\ta-b", b"1\ta.b/c", b"1\ta/ b", b"1\ta/-", b"1\ta/x",
                     b"1\ta0", b"1\tab", b""]


def test_manifest_path_order_lists_a_directory_right_after_its_name(tmp_path):
    # The order of stores that list directory by directory (SeaweedFS).
    for name in ["a/x", "a b", "a-b", "a0", "ab", "a/ b", "a/-", "a.b/c"]:
        make_file(tmp_path / name, 1)
    result = run(MANIFEST, "--order", "path", tmp_path)
    assert result.returncode == 0
    assert result.stdout.split(b"\n") == [b"1\ta/ b", b"1\ta/-", b"1\ta/x", b"1\ta b", b"1\ta-b",
                                          b"1\ta.b/c", b"1\ta0", b"1\tab", b""]


def test_manifest_order_matches_byte_sort_on_a_random_tree(tmp_path):
    rng = random.Random(1234)
    alphabet = [" ", "-", ".", "0", "a", "b", "é", "~", "_", "A"]
    for _ in range(300):
        parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
                 for _ in range(rng.randint(1, 3))]
        path = tmp_path.joinpath(*parts)
        if any(p in (".", "..") for p in parts) or any(q.is_file() for q in path.parents):
            continue
        if not path.exists():
            make_file(path, rng.randint(0, 3))
    code, lines, err = manifest(tmp_path)
    paths = [line.split(b"\t", 1)[1] for line in lines if line]
    expected = sorted(p.relative_to(tmp_path).as_posix().encode()
                      for p in tmp_path.rglob("*") if p.is_file())
    assert (code, err) == (0, [])
    assert paths == expected
    assert len(paths) > 100


def test_manifest_sizes_hidden_zero_byte_spaces_and_non_ascii(tmp_path):
    make_file(tmp_path / ".hidden", 3)
    make_file(tmp_path / "empty.txt", 0)
    make_file(tmp_path / "photos" / "Grüße aus Köln.jpg", 12)
    make_file(tmp_path / "photos" / "with  two spaces .png", 5)
    make_file(tmp_path / "uploads" / ".thumbs" / "t.jpg", 7)
    code, lines, err = manifest(tmp_path)
    assert (code, err) == (0, [])
    assert lines == [b"3\t.hidden", b"0\tempty.txt", "12\tphotos/Grüße aus Köln.jpg".encode(),
                     b"5\tphotos/with  two spaces .png", b"7\tuploads/.thumbs/t.jpg", b""]


def test_manifest_follows_symlinked_files_and_directories(tmp_path):
    make_file(tmp_path / "real" / "big.bin", 1000)
    (tmp_path / "link.bin").symlink_to("real/big.bin")
    (tmp_path / "alias").symlink_to("real", target_is_directory=True)
    code, lines, err = manifest(tmp_path)
    assert (code, err) == (0, [])
    assert lines == [b"1000\talias/big.bin", b"1000\tlink.bin", b"1000\treal/big.bin", b""]


def test_manifest_reports_loops_and_dangling_links_and_goes_on(tmp_path):
    make_file(tmp_path / "photos" / "a.jpg", 2)
    (tmp_path / "photos" / "loop").symlink_to("..", target_is_directory=True)
    (tmp_path / "self").symlink_to("self")
    (tmp_path / "gone.jpg").symlink_to("nowhere.jpg")
    make_file(tmp_path / "z.jpg", 1)
    code, lines, err = manifest(tmp_path)
    assert code == 0
    assert lines == [b"2\tphotos/a.jpg", b"1\tz.jpg", b""]
    assert sorted(err[:-1]) == ["dangling symlink: gone.jpg", "symlink loop: photos/loop",
                                "symlink loop: self"]
    assert err[-1] == "problems: 3"


def test_manifest_follows_a_link_to_a_sibling_directory_that_is_not_a_loop(tmp_path):
    make_file(tmp_path / "a" / "f", 1)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "to_a").symlink_to("../a", target_is_directory=True)
    code, lines, err = manifest(tmp_path)
    assert (code, err) == (0, [])
    assert lines == [b"1\ta/f", b"1\tb/to_a/f", b""]


def test_manifest_skips_names_it_cannot_represent(tmp_path):
    make_file(tmp_path / "ok.jpg", 1)
    bad = os.path.join(os.fsencode(tmp_path), b"bad\xff.jpg")
    with open(bad, "wb") as f:
        f.write(b"zz")
    make_file(tmp_path / "two\nlines.jpg", 1)
    os.mkfifo(tmp_path / "pipe")
    code, lines, err = manifest(tmp_path)
    assert code == 0
    assert lines == [b"1\tok.jpg", b""]
    assert sorted(err[:-1]) == ["newline in name: two\\x0alines.jpg", "not a regular file: pipe",
                                "not valid UTF-8: bad\\xff.jpg"]
    assert err[-1] == "problems: 3"


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_manifest_refuses_a_root_that_is_not_a_directory(tmp_path, kind):
    root = tmp_path / "media"
    if kind == "file":
        root.write_bytes(b"")
    code, lines, err = manifest(root)
    assert code == 2
    assert lines == [b""]
    assert str(root) in err[0]


def test_manifest_usage_error():
    result = run(MANIFEST)
    assert result.returncode == 2
    assert b"usage" in result.stderr


def test_manifest_empty_root(tmp_path):
    assert manifest(tmp_path) == (0, [b""], [])


def test_manifest_reports_an_unreadable_directory(tmp_path, monkeypatch):
    make_file(tmp_path / "a.jpg", 1)
    make_file(tmp_path / "locked" / "b.jpg", 1)
    make_file(tmp_path / "z.jpg", 1)
    real_scandir = os.scandir

    def scandir(path):
        if os.fsencode(path).endswith(b"locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(media_manifest.os, "scandir", scandir)
    out, err = io.BytesIO(), io.StringIO()
    assert media_manifest.main([str(tmp_path)], out=out, err=err) == 0
    assert out.getvalue() == b"1\ta.jpg\n1\tz.jpg\n"
    assert err.getvalue() == "cannot read: locked (Permission denied)\nproblems: 1\n"


def test_manifest_before_leaves_out_files_changed_since_and_counts_them(tmp_path):
    make_file(tmp_path / "old.jpg", 3)
    make_file(tmp_path / "new.jpg", 4)
    os.utime(tmp_path / "old.jpg", (1_000_000_000, 1_000_000_000))
    cutoff = int(os.stat(tmp_path / "new.jpg").st_ctime)
    # old.jpg's ctime is recent too (utime changes it), so only mtime+ctime older than the cutoff count
    result = run(MANIFEST, "--before", str(cutoff + 1), tmp_path)
    assert result.stdout.split(b"\n") == [b"4\tnew.jpg", b"3\told.jpg", b""]
    result = run(MANIFEST, "--before", str(cutoff - 10), tmp_path)
    assert result.stdout == b"" and "newer: 2" in result.stderr.decode()


def test_manifest_md5_lines(tmp_path):
    make_file(tmp_path / "a b.jpg", 5)
    result = run(MANIFEST, "--md5", tmp_path)
    assert result.stdout == b"5\t" + hashlib.md5(b"xxxxx").hexdigest().encode() + b"\ta b.jpg\n"
